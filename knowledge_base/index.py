"""The search index over one set of entries: dense + lexical retrieval, fused into one score."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from knowledge_base.config import KBConfig
from knowledge_base.dense import DenseIndex
from knowledge_base.embedder import Embedder
from knowledge_base.entry import BuildStats, Entry
from knowledge_base.lexical import LexicalIndex
from knowledge_base.text import Synonyms, default_synonyms, lexical_tokens, normalize

_MARKDOWN = re.compile(r"[#*_`>\[\]()|-]+")
ANSWER_CHARS = 120  # the start of an answer names the symptom and cause; the rest is steps


def entry_texts(entry: Entry) -> list[str]:
    """The texts embedded for an entry: its question and each alternate wording."""
    return list(dict.fromkeys([entry.question, *entry.alternates]))


def lexical_text(entry: Entry) -> str:
    """What BM25 sees for an entry: every wording, tags, product codes, the start of the answer."""
    answer = _MARKDOWN.sub(" ", entry.answer)[:ANSWER_CHARS]
    return "\n".join([*entry_texts(entry), " ".join(entry.tags), " ".join(entry.products), answer])


@dataclass(frozen=True)
class Candidate:
    """An entry's fused score for one query, with the parts it was made of."""

    entry: Entry
    score: float
    dense: float
    lexical: float
    matched: str


class SearchIndex:
    """Immutable once built; a reload builds a new one and swaps it in."""

    def __init__(
        self,
        entries: Sequence[Entry],
        config: KBConfig,
        embedder: Embedder | None = None,
        progress: bool = False,
    ) -> None:
        started = time.perf_counter()
        self.entries = list(entries)
        self.config = config
        self.embedder = embedder
        self.synonyms: Synonyms | None = default_synonyms() if config.use_synonyms else None
        self.stats = BuildStats(entries=len(self.entries))
        self.texts: list[str] = []
        owners: list[int] = []
        self.offsets = [0]
        for i, entry in enumerate(self.entries):
            texts = entry_texts(entry)
            self.texts.extend(texts)
            owners.extend([i] * len(texts))
            self.offsets.append(len(self.texts))
        self.owner = np.asarray(owners, dtype=np.int64)
        self.stats.texts = len(self.texts)
        self.by_product: dict[str, np.ndarray] = {}
        general = np.asarray([not e.products for e in self.entries], dtype=bool)
        self.general = general
        for i, entry in enumerate(self.entries):
            for code in entry.products:
                self.by_product.setdefault(code.upper(), np.zeros(len(self.entries), bool))[i] = (
                    True
                )

        self.vectors: np.ndarray | None = None
        self.dense: DenseIndex | None = None
        if config.mode != "lexical":
            if embedder is None:
                raise ValueError(f"mode {config.mode!r} needs an embedder")
            vectors, embedded = embedder.embed(self.texts, progress=progress)
            self.vectors = vectors
            self.dense = DenseIndex(vectors, config.approx_threshold)
            self.stats.embedded = embedded
            self.stats.cached = len(self.texts) - embedded
            self.stats.dense_kind = self.dense.kind
            self.stats.model_id = embedder.model_id
        self.lexical: LexicalIndex | None = None
        if config.mode != "dense":
            docs = [
                lexical_tokens(lexical_text(e), self.synonyms)
                for e in tqdm(self.entries, desc="tokenizing", unit="entry", disable=not progress)
            ]
            self.lexical = LexicalIndex(docs)
        self.stats.seconds = time.perf_counter() - started

    def _allowed(self, product: str | None) -> np.ndarray | None:
        """Entries a product filter keeps: those for that product plus those for no product."""
        if not product:
            return None
        specific = self.by_product.get(normalize(product).upper())
        return self.general | specific if specific is not None else self.general.copy()

    def search(self, query: str, k: int = 5, product: str | None = None) -> list[Candidate]:
        """The k best entries for a query, best first."""
        if not self.entries or not query.strip():
            return []
        allowed = self._allowed(product)
        pool = max(self.config.candidates, k)
        cand: set[int] = set()
        qvec = None
        if self.dense is not None and self.embedder is not None:
            qvec = self.embedder.embed_query(query)
            factor = 8 if allowed is not None else 3  # texts per entry, plus room for the filter
            _, rows = self.dense.search(qvec, pool * factor)
            for owner in self.owner[rows]:
                if allowed is None or allowed[owner]:
                    cand.add(int(owner))
        lex_scores = None
        if self.lexical is not None:
            lex_scores = self.lexical.scores(lexical_tokens(query, self.synonyms))
            masked = lex_scores if allowed is None else np.where(allowed, lex_scores, 0.0)
            top = np.argpartition(-masked, min(pool, len(masked) - 1))[:pool]
            cand.update(int(i) for i in top if masked[i] > 0)
        results = [self._score(i, qvec, lex_scores) for i in cand]
        results.sort(key=lambda c: (-c.score, c.entry.id))
        return results[:k]

    def _score(self, i: int, qvec: np.ndarray | None, lex: np.ndarray | None) -> Candidate:
        entry = self.entries[i]
        dense, matched = 0.0, entry.question
        if qvec is not None and self.vectors is not None:
            start, end = self.offsets[i], self.offsets[i + 1]
            sims = self.vectors[start:end] @ qvec
            best = int(np.argmax(sims))
            dense, matched = max(float(sims[best]), 0.0), self.texts[start + best]
        lexical = float(lex[i]) if lex is not None else 0.0
        if self.config.mode == "dense":
            score = dense
        elif self.config.mode == "lexical":
            score = lexical
        else:
            w = self.config.dense_weight
            score = w * dense + (1 - w) * lexical
        return Candidate(entry, score, dense, lexical, matched)
