"""BM25 over lexical tokens, with scores normalised to [0, 1] so they can be fused and banded."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np


class LexicalIndex:
    """BM25 (Lucene variant, via bm25s) over one token list per document."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        self.size = len(docs)
        df: Counter[str] = Counter()
        for tokens in docs:
            df.update(set(tokens))
        n = max(self.size, 1)
        # Same idf as bm25s's "lucene" method, kept here to normalise query scores.
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)
        self.bm25 = bm25s.BM25(method="lucene")
        if self.size:
            self.bm25.index([list(d) or ["\x00"] for d in docs], show_progress=False)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One score per document: BM25 divided by the query's total idf, clipped to 1.

        A term that matches once in a document of average length scores its idf, so
        the ratio reads as 'how much of the query's information this document covers'.
        Query words that never occur in the folder count at full idf: a query that is
        mostly about something else must not look like a strong match.
        """
        unique = list(dict.fromkeys(query_tokens))
        known = [t for t in unique if t in self.idf]
        if not self.size or not known:
            return np.zeros(self.size, dtype=np.float32)
        total = sum(self.idf.get(t, self.max_idf) for t in unique)
        raw = np.asarray(self.bm25.get_scores(known), dtype=np.float32)
        return np.minimum(raw / total, 1.0)
