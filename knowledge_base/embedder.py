"""Sentence embeddings with an on-disk cache keyed by sha256(model id + text).

The cache is what makes a reload cheap: a changed entry has new texts, so only those miss
and are embedded; every other vector is read back.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
from tqdm import tqdm

from knowledge_base.encoders import (
    ALIASES,
    MODELS_DIR,
    Encoder,
    load_encoder,
    model_fingerprint,
    resolve_model,
)

__all__ = [
    "ALIASES",
    "MODELS_DIR",
    "Embedder",
    "EmbeddingCache",
    "model_fingerprint",
    "resolve_model",
    "text_key",
]


QUERY_MEMORY = 4096


def text_key(model_id: str, text: str) -> str:
    """The cache key of one text under one model."""
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """A SQLite table of float32 vectors; safe to share between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get_many(self, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """Vectors for the keys that are cached."""
        found: dict[str, np.ndarray] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(
                    f"SELECT key, vec FROM emb WHERE key IN ({marks})", chunk
                ):
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == dim:
                        found[key] = vec
        return found

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Store vectors, replacing any with the same key."""
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
            )


class Embedder:
    """One model's encoder plus the cache; the model itself loads on first use."""

    def __init__(self, model: str, cache_dir: Path | None = None, batch_size: int = 256) -> None:
        self.name = model
        self.batch_size = batch_size
        self.encoder: Encoder = load_encoder(model)
        self.model_id = self.encoder.model_id
        self.cache: EmbeddingCache | None = None
        if cache_dir is not None and self.encoder.cacheable:
            self.cache = EmbeddingCache(cache_dir / "embeddings.sqlite")
        self._queries: dict[str, np.ndarray] = {}

    @property
    def cacheable(self) -> bool:
        """Whether this model's vectors go through the cache (a static model's do not)."""
        return self.encoder.cacheable

    @property
    def dim(self) -> int:
        """Vector size."""
        return self.encoder.dim

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector, normalised; queries skip the disk cache but the last few
        thousand are remembered (customers and the bot repeat questions)."""
        vec = self._queries.get(text)
        if vec is None:
            vec = self.encoder.encode([text])[0]
            if len(self._queries) >= QUERY_MEMORY:
                self._queries.clear()  # simpler than LRU order, and as good for repeats
            self._queries[text] = vec
        return vec

    def forget_queries(self) -> None:
        """Drop remembered query vectors (benchmarks time real encodes)."""
        self._queries.clear()

    def embed(self, texts: Sequence[str], progress: bool = False) -> tuple[np.ndarray, int]:
        """Normalised vectors for the texts and how many had to be computed (cache misses)."""
        if self.cache is None:
            return self._compute(list(texts), progress), len(texts)
        dim = self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        keys = [text_key(self.model_id, t) for t in texts]
        cached = self.cache.get_many(keys, dim)
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key in cached:
                out[i] = cached[key]
            else:
                missing.setdefault(key, []).append(i)
        todo = list(missing)
        bar = tqdm(
            total=len(todo),
            desc=f"embedding ({self.name})",
            unit="text",
            disable=not progress or not todo,
        )
        step = max(self.batch_size, 1)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            vectors = self.encoder.encode([texts[missing[k][0]] for k in chunk])
            for key, vec in zip(chunk, vectors, strict=True):
                out[missing[key]] = vec
            # Written per batch, so an interrupted build keeps what it already paid for.
            self.cache.put_many(list(zip(chunk, vectors, strict=True)))
            bar.update(len(chunk))
        bar.close()
        return out, len(todo)

    def _compute(self, texts: list[str], progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = max(self.batch_size * 16, 1)
        parts = []
        bar = tqdm(
            total=len(texts),
            desc=f"embedding ({self.name})",
            unit="text",
            disable=not progress or len(texts) < step,
        )
        for start in range(0, len(texts), step):
            parts.append(self.encoder.encode(texts[start : start + step]))
            bar.update(len(parts[-1]))
        bar.close()
        return np.concatenate(parts)
