"""Search settings; the only module of knowledge_base that reads the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_MODEL = "kb-static-zh"
CACHE_ENV = "AFTERSALES_KB_CACHE"
MODEL_ENV = "AFTERSALES_KB_MODEL"
MODES = ("hybrid", "dense", "lexical")


def default_cache_dir() -> Path:
    """Where embeddings and index files go unless told otherwise."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/aftersales/kb").expanduser()


def default_model() -> str:
    """The embedding model to use unless told otherwise."""
    return os.environ.get(MODEL_ENV) or DEFAULT_MODEL


@dataclass(frozen=True)
class KBConfig:
    """How the knowledge base embeds, retrieves, fuses and bands.

    The band thresholds come from `python -m knowledge_base calibrate --precision 0.95` on the
    demo FAQ with `eval/queries.jsonl` and the out-of-scope `eval/negatives.jsonl`: a direct
    answer is right about 95% of the time and covers about 60% of queries; below 0.31 most
    out-of-scope questions fall. They fit the default model and hybrid mode only; recalibrate
    after changing either.
    """

    model: str = DEFAULT_MODEL
    cache_dir: Path | None = None  # None: no on-disk cache
    mode: str = "hybrid"
    dense_weight: float = 0.4  # fused = w * dense + (1 - w) * lexical
    answer_threshold: float = 0.36
    answer_margin: float = 0.08  # top hit must beat the runner-up by this much to answer
    suggest_threshold: float = 0.31
    approx_threshold: int = 50_000  # above this many vectors use IVF instead of exact search
    candidates: int = 50  # per retriever, before fusion
    use_synonyms: bool = True
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("dense_weight must be between 0 and 1")
        if self.suggest_threshold > self.answer_threshold:
            raise ValueError("suggest_threshold must not exceed answer_threshold")

    @classmethod
    def from_env(cls, **overrides: object) -> KBConfig:
        """Defaults with the model and cache dir taken from the environment."""
        base = cls(model=default_model(), cache_dir=default_cache_dir())
        return replace(base, **overrides)  # type: ignore[arg-type]
