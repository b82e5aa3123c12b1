"""The search index over one set of entries: up to five signals, fused into one score.

Signals (see `config.SIGNALS`): a general multilingual encoder (e5), the in-domain model,
BM25 over characters + bigrams and BM25 over jieba words each index every question and
alternate of an entry (an entry's dense score is its best-matching wording); the gist is the
general encoder over the question with the start of its answer, one row per entry. Each signal
proposes its top candidates, every signal scores the union, and `fuse` ranks them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from tqdm import tqdm

from knowledge_base.config import KBConfig
from knowledge_base.embedder import Embedder
from knowledge_base.entry import BuildStats, Entry
from knowledge_base.lexical import LexicalIndex
from knowledge_base.text import (
    Synonyms,
    char_tokens,
    default_synonyms,
    lexical_tokens,
    normalize,
    query_language,
)

_MARKDOWN = re.compile(r"[#*_`>\[\]()|-]+")
ANSWER_CHARS = 120  # the start of an answer names the symptom and cause; the rest is steps


def entry_texts(entry: Entry) -> list[str]:
    """The texts embedded for an entry: its question and each alternate wording."""
    return list(dict.fromkeys([entry.question, *entry.alternates]))


def gist_text(entry: Entry) -> str:
    """What the gist signal embeds: the question, then the start of the answer as plain text."""
    return f"{entry.question}\n{_MARKDOWN.sub(' ', entry.answer)[:ANSWER_CHARS]}"


def lexical_text(entry: Entry) -> str:
    """What the jieba BM25 sees: every wording, tags, product codes, the start of the answer."""
    answer = _MARKDOWN.sub(" ", entry.answer)[:ANSWER_CHARS]
    return "\n".join([*entry_texts(entry), " ".join(entry.tags), " ".join(entry.products), answer])


@dataclass(frozen=True)
class Candidate:
    """An entry's fused score for one query, with the signal scores it was made of."""

    entry: Entry
    score: float
    parts: dict[str, float] = field(default_factory=dict)
    matched: str = ""


def relative(matrix: np.ndarray) -> np.ndarray:
    """Each column (a signal's scores over the candidates) divided by its best value.

    The candidates hold every active signal's top entries, so a column's best is that
    signal's best score for the query, whatever the pool: the result says how close an entry
    comes to the signal's favourite. A signal that found nothing stays 0.
    """
    best = matrix.max(axis=0) if matrix.size else np.zeros(matrix.shape[1:])
    return np.divide(matrix, best, out=np.zeros_like(matrix, dtype=np.float64), where=best > 0)


def fuse(
    matrix: np.ndarray, weights: np.ndarray, ids: np.ndarray, fusion: str
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' order (best first, ties by entry order) and their scores.

    `matrix` is candidates x signals, `weights` one weight per signal, `ids` entry rows.
    "sum": the weighted sum ranks and is the score. "relative": the weighted sum of
    `relative(matrix)` ranks. The top entry's score stays its weighted sum of plain scores
    (how good the best match is: what the bands need), and every other entry scores that times
    its relative sum over the top's (how far behind the best it is), so scores fall with rank.
    On the dev split (5-fold cross-validation over weights) "relative" ranks better. The
    signals live on different scales (over the dev queries the best score averages 0.78 for
    e5, 0.66 for the gist, whose 10th candidate still scores 0.54, and 0.24 for the character
    BM25), so under the plain sum flat, high cosines can bury the entry a BM25 clearly prefers.
    """
    plain = matrix @ weights
    if fusion == "sum" or not ids.size:
        return np.lexsort((ids, -plain)), plain
    key = relative(matrix) @ weights
    order = np.lexsort((ids, -key))
    top = order[0]
    scale = plain[top] / key[top] if key[top] > 0 else 0.0
    return order, key * scale


class _Lexical:
    """A BM25 signal: full score arrays are cheap, so every entry is scored."""

    def __init__(self, docs: Sequence[Sequence[str]], tokenize: Callable[[str], list[str]]) -> None:
        self.index = LexicalIndex(docs)
        self.tokenize = tokenize

    def prepare(self, query: str) -> np.ndarray:
        return self.index.scores(self.tokenize(query))

    @staticmethod
    def top(state: np.ndarray, pool: int, allowed: np.ndarray | None) -> np.ndarray:
        return _top(state, pool, allowed)

    @staticmethod
    def score(state: np.ndarray, ids: np.ndarray) -> np.ndarray:
        return state[ids]


class _Dense:
    """An embedding signal over every wording, searched with faiss: exact (flat) up to
    `approx_threshold` rows, an inverted file with 8-bit codes above (benchmarks/kb_ann.py)."""

    def __init__(
        self,
        embedder: Embedder,
        texts: list[str],
        offsets: np.ndarray,
        owner: np.ndarray,
        approx_threshold: int,
        floor: float,
        progress: bool,
    ) -> None:
        import faiss

        # Searches come one query at a time: OpenMP threads for one query cost more than they
        # save, and on a shared machine idle threads spin against other work.
        faiss.omp_set_num_threads(1)
        self.embedder = embedder
        self.offsets = offsets
        self.owner = owner
        self.floor = floor
        vectors, self.embedded = embedder.embed(texts, progress=progress)
        self.rows = len(texts)
        if self.rows > approx_threshold:
            self.index, self._quantizer = _ivf(vectors)
            self.vectors = vectors.astype(np.float16)  # only candidates are re-scored from it
            self.kind = "ivf"
        else:
            self.index = faiss.IndexFlatIP(vectors.shape[1])
            if self.rows:
                self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self.vectors = vectors
            self.kind = "flat"

    def _rescale(self, cos: np.ndarray) -> np.ndarray:
        if self.floor <= 0:
            return np.maximum(cos, 0.0)
        return np.clip((cos - self.floor) / (1.0 - self.floor), 0.0, 1.0)

    def prepare(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """The query vector and the entries owning its nearest wordings, nearest first."""
        qvec = self.embedder.embed_query(query)
        k = min(self.rows, 400)
        if not k:
            return qvec, np.zeros(0, dtype=np.int64)
        _, rows = self.index.search(np.ascontiguousarray(qvec[None, :], dtype=np.float32), k)
        rows = rows[0][rows[0] >= 0]
        owners = self.owner[rows]
        _, first = np.unique(owners, return_index=True)
        return qvec, owners[np.sort(first)]

    @staticmethod
    def top(
        state: tuple[np.ndarray, np.ndarray], pool: int, allowed: np.ndarray | None
    ) -> np.ndarray:
        near = state[1]
        return (near if allowed is None else near[allowed[near]])[:pool]

    def best_rows(self, qvec: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of each entry's best wording, and that wording's row."""
        starts, ends = self.offsets[ids], self.offsets[ids + 1]
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        # elementwise, not BLAS: a few hundred rows, and BLAS threads spin on a busy machine
        sims = (self.vectors[rows].astype(np.float32) * qvec).sum(axis=1)
        bounds = np.concatenate([[0], np.cumsum(ends - starts)])
        best = np.maximum.reduceat(sims, bounds[:-1])
        arg = np.array(
            [
                rows[a + int(np.argmax(sims[a:b]))]
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        )
        return best, arg

    def score(self, state: tuple[np.ndarray, np.ndarray], ids: np.ndarray) -> np.ndarray:
        if not ids.size:
            return np.zeros(0)
        return self._rescale(self.best_rows(state[0], ids)[0])


def _top(scores: np.ndarray, pool: int, allowed: np.ndarray | None) -> np.ndarray:
    masked = scores if allowed is None else np.where(allowed, scores, 0.0)
    if masked.size <= pool:
        return np.flatnonzero(masked > 0)
    top = np.argpartition(-masked, pool)[:pool]
    return top[masked[top] > 0]


def _ivf(vectors: np.ndarray) -> tuple[Any, Any]:
    """An inverted-file index with 8-bit codes: a quarter of the memory of exact search."""
    import math

    import faiss

    # Searches come one at a time; OpenMP threads for one query cost more than they save.
    faiss.omp_set_num_threads(1)
    n, dim = vectors.shape
    nlist = max(1, int(math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    step = max(1, n // (nlist * 40))  # faiss wants about 39 training points per list
    index.train(np.ascontiguousarray(vectors[::step], dtype=np.float32))
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    index.nprobe = min(nlist, max(8, nlist // 24))
    return index, quantizer  # the quantizer must live as long as the IVF index


class SearchIndex:
    """Immutable once built; a reload builds a new one and swaps it in."""

    def __init__(
        self,
        entries: Sequence[Entry],
        config: KBConfig,
        embedder: Embedder | None = None,
        progress: bool = False,
        general: Embedder | None = None,
    ) -> None:
        started = time.perf_counter()
        self.entries = list(entries)
        self.config = config
        self.weights = config.weights()
        self.synonyms: Synonyms | None = default_synonyms() if config.use_synonyms else None
        self.stats = BuildStats(entries=len(self.entries))
        self.texts: list[str] = []
        owners: list[int] = []
        offsets = [0]
        for i, entry in enumerate(self.entries):
            texts = entry_texts(entry)
            self.texts.extend(texts)
            owners.extend([i] * len(texts))
            offsets.append(len(self.texts))
        self.owner = np.asarray(owners, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.stats.texts = len(self.texts)
        self.lang = np.asarray([e.lang for e in self.entries])
        self.general_mask = np.asarray([not e.products for e in self.entries], dtype=bool)
        self.by_product: dict[str, np.ndarray] = {}
        for i, entry in enumerate(self.entries):
            for code in entry.products:
                mask = self.by_product.setdefault(code.upper(), np.zeros(len(self.entries), bool))
                mask[i] = True

        self.signals: dict[str, Any] = {}
        timings: dict[str, float] = {}
        kinds = []
        for name in self.weights:
            t0 = time.perf_counter()
            if name in ("general", "domain", "gist"):
                model = embedder if name == "domain" else general
                if model is None:
                    raise ValueError(f"the {name} signal needs an embedder")
                floor = 0.0 if name == "domain" else config.general_floor
                if name == "gist":  # one row per entry
                    bounds = np.arange(len(self.entries) + 1, dtype=np.int64)
                    texts, starts, rows = [gist_text(e) for e in self.entries], bounds, bounds[:-1]
                else:
                    texts, starts, rows = self.texts, self.offsets, self.owner
                dense = _Dense(model, texts, starts, rows, config.approx_threshold, floor, progress)
                self.signals[name] = dense
                if model.cacheable:
                    self.stats.embedded += dense.embedded
                    self.stats.cached += len(texts) - dense.embedded
                kinds.append(dense.kind)
                self.stats.model_id = self.stats.model_id or model.model_id
            elif name == "char":
                docs = [
                    [t for text in entry_texts(e) for t in char_tokens(text)]
                    for e in tqdm(
                        self.entries, desc="characters", unit="entry", disable=not progress
                    )
                ]
                self.signals[name] = _Lexical(docs, char_tokens)
            else:
                synonyms = self.synonyms
                docs = [
                    lexical_tokens(lexical_text(e), synonyms)
                    for e in tqdm(
                        self.entries, desc="jieba words", unit="entry", disable=not progress
                    )
                ]
                self.signals[name] = _Lexical(docs, partial(lexical_tokens, synonyms=synonyms))
            timings[f"{name}_s"] = round(time.perf_counter() - t0, 3)
        self.stats.dense_kind = "ivf" if "ivf" in kinds else ("flat" if kinds else "")
        self.stats.extra = timings
        self.stats.seconds = time.perf_counter() - started

    def forget_queries(self) -> None:
        """Drop remembered query vectors, so the next searches time real encodes."""
        for sig in self.signals.values():
            if isinstance(sig, _Dense):
                sig.embedder.forget_queries()

    def _allowed(self, product: str | None) -> np.ndarray | None:
        """Entries a product filter keeps: those for that product plus those for no product."""
        if not product:
            return None
        specific = self.by_product.get(normalize(product).upper())
        return self.general_mask | specific if specific is not None else self.general_mask.copy()

    def signal_scores(
        self,
        query: str,
        product: str | None = None,
        weights: dict[str, float] | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, object]]:
        """Candidate entry rows (each signal's top ones, pooled) and every signal's scores."""
        weights = self.weights if weights is None else weights
        active = {n: sig for n, sig in self.signals.items() if weights.get(n, 0.0) > 0}
        allowed = self._allowed(product)
        pool = self.config.candidates
        states = {name: sig.prepare(query) for name, sig in active.items()}
        cand: set[int] = set()
        for name, sig in active.items():
            cand.update(int(i) for i in sig.top(states[name], pool, allowed))
        ids = np.fromiter(sorted(cand), dtype=np.int64, count=len(cand))
        parts = {name: sig.score(states[name], ids) for name, sig in active.items()}
        return ids, parts, states  # type: ignore[return-value]

    def search(
        self,
        query: str,
        k: int = 5,
        product: str | None = None,
        weights: dict[str, float] | None = None,
    ) -> list[Candidate]:
        """The k best entries for a query, best first (same-language entries first).

        `weights` overrides the configured fusion (for comparing variants over one index).
        """
        if not self.entries or not query.strip():
            return []
        weights = self.weights if weights is None else weights
        ids, parts, states = self.signal_scores(query, product, weights)
        if not ids.size:
            return []
        names = list(parts)
        matrix = np.stack([parts[n] for n in names], axis=1).astype(np.float64)
        w = np.asarray([weights[n] for n in names])
        order, fused = fuse(matrix, w, ids, self.config.fusion)
        order = self._prefer_language(query, ids, fused, order)[:k]
        return [
            Candidate(
                entry=self.entries[int(ids[j])],
                score=float(fused[j]),
                parts={name: round(float(parts[name][j]), 4) for name in parts},
                matched=self._matched(states, int(ids[j])),
            )
            for j in order
        ]

    def _prefer_language(
        self, query: str, ids: np.ndarray, fused: np.ndarray, order: np.ndarray
    ) -> np.ndarray:
        """Entries in the question's language first, unless none of them is good enough to
        suggest (then the other language's answer is better than nothing)."""
        lang = query_language(query) if self.config.prefer_language else None
        if lang is None:
            return order
        same = self.lang[ids[order]] == lang
        if same.all() or not (fused[order][same] >= self.config.suggest_threshold).any():
            return order
        return np.concatenate([order[same], order[~same]])

    def _matched(self, states: dict[str, Any], i: int) -> str:
        """The wording that matched best, by the first embedding signal (else the question)."""
        for name in ("general", "domain"):
            sig = self.signals.get(name)
            if sig is not None and name in states:
                _, rows = sig.best_rows(states[name][0], np.asarray([i]))
                return self.texts[int(rows[0])]
        return self.entries[i].question
