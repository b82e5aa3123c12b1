"""Every retriever variant side by side on any FAQ folder, the cross-category holdout, and
the choice of fusion weights on a dev split.

One index holds every signal; a variant is a set of weights over them, so the texts are
embedded once and every variant sees exactly the same candidates and models.

Cross-category holdout: for each category, the in-domain model is trained on every other
category's entries only; that category's queries are then searched over the whole folder.
This is how the in-domain model behaves on questions about entries it has never seen, which
is what a new FAQ looks like to it. The general encoder and BM25 learn nothing from the FAQ,
so their holdout figures equal their plain ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from knowledge_base.config import SIGNALS, KBConfig
from knowledge_base.embedder import Embedder
from knowledge_base.entry import Entry
from knowledge_base.evaluate import EvalResult, LabelledQuery, summarise
from knowledge_base.index import SearchIndex, entry_texts, relative

if TYPE_CHECKING:
    from knowledge_base.train import TrainSettings

# name -> weights; "hybrid" is filled in from the config.
SINGLE_VARIANTS: dict[str, dict[str, float]] = {
    "bm25-char": {"char": 1.0},
    "bm25-jieba": {"word": 1.0},
    "e5": {"general": 1.0},
    "static": {"domain": 1.0},
    "e5-gist": {"gist": 1.0},
}
Progress = Callable[[str], None]


def variants(config: KBConfig) -> dict[str, dict[str, float]]:
    """The single signals and the configured hybrid."""
    hybrid = replace(config, mode="hybrid").weights()
    return {**SINGLE_VARIANTS, "hybrid": hybrid}


def all_signals(config: KBConfig) -> KBConfig:
    """A config whose index builds every signal (weights are then given per search)."""
    return replace(config, mode="hybrid").with_weights({s: 1.0 for s in SIGNALS})


def _ranks(
    index: SearchIndex, queries: Sequence[LabelledQuery], weights: dict[str, float]
) -> tuple[list[int], list[float]]:
    ranks, times = [], []
    for q in queries:
        started = time.perf_counter()
        hits = index.search(q.query, k=10, weights=weights)
        times.append((time.perf_counter() - started) * 1000)
        ids = [c.entry.id for c in hits]
        ranks.append(ids.index(q.expected) + 1 if q.expected in ids else 0)
    return ranks, times


def compare(
    index: SearchIndex, queries: Sequence[LabelledQuery], config: KBConfig
) -> dict[str, EvalResult]:
    """hit@1, hit@3, MRR@10 and latency of every variant over one index."""
    out = {}
    for name, weights in variants(config).items():
        index.forget_queries()  # each variant pays for its own query encodes
        for q in queries[:3]:  # first calls pay for lazy loading, which is not search latency
            index.search(q.query, k=10, weights=weights)
        ranks, times = _ranks(index, queries, weights)
        out[name] = summarise(queries, ranks, times)
    return out


def _digest(entries: Sequence[Entry], extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    for e in entries:
        digest.update("\x00".join([e.id, *entry_texts(e), e.answer]).encode())
    return digest.hexdigest()[:16]


def holdout_model(
    entries: Sequence[Entry],
    category: str,
    work_dir: Path,
    progress: bool = False,
    settings: TrainSettings | None = None,
) -> Path:
    """The in-domain model trained without `category` (cached under work_dir by content)."""
    from knowledge_base.train import TrainSettings, train_static_model

    kept = [e for e in entries if e.category != category]
    settings = settings or TrainSettings()
    out = (
        work_dir
        / f"static-without-{category.replace('/', '_')}-{_digest(kept, str(asdict(settings)))}"
    )
    _wait_for_others(out)
    if not (out / "model.safetensors").is_file():
        # Trained beside and renamed, so a half-written model is never picked up.
        partial = out.with_name(f"{out.name}.partial-{os.getpid()}")
        partial.mkdir(parents=True, exist_ok=True)  # tells other processes it is under way
        train_static_model("", partial, settings, progress=progress, entries=kept)
        try:
            partial.rename(out)
        except OSError:  # another process finished the same model first
            shutil.rmtree(partial, ignore_errors=True)
    return out


def _wait_for_others(out: Path) -> None:
    """If another live process is training this very model, wait for it rather than train
    it twice (the holdout of 11 categories is the slow part of an evaluation)."""
    while not (out / "model.safetensors").is_file():
        pids = [p.name.rsplit("-", 1)[-1] for p in out.parent.glob(f"{out.name}.partial-*")]
        if not any(pid.isdigit() and Path(f"/proc/{pid}").exists() for pid in pids):
            return
        time.sleep(5)


@dataclass
class HoldoutResult:
    """Per-variant results over all categories, and per-category hybrid and static hit@1."""

    overall: dict[str, EvalResult]
    by_category: dict[str, dict[str, float]]
    queries: list[LabelledQuery] = field(default_factory=list)
    ranks: dict[str, list[int]] = field(default_factory=dict)


def category_holdout(
    entries: Sequence[Entry],
    queries: Sequence[LabelledQuery],
    config: KBConfig,
    work_dir: Path,
    weights: dict[str, dict[str, float]] | None = None,
    log: Progress = print,
    general: Embedder | None = None,
    categories: Sequence[str] | None = None,
) -> HoldoutResult:
    """Each category's queries against an index whose in-domain model never saw it
    (`categories`: only these, so several processes can share the work)."""
    weights = weights or variants(config)
    category_of = {e.id: e.category for e in entries}
    base = all_signals(config)
    general = general or Embedder(config.general_model, config.cache_dir, config.batch_size)
    ranks: dict[str, list[int]] = {name: [] for name in weights}
    times: dict[str, list[float]] = {name: [] for name in weights}
    ordered: list[LabelledQuery] = []
    by_category: dict[str, dict[str, float]] = {}
    for category in sorted({category_of.get(q.expected or "", "") for q in queries} - {""}):
        if categories is not None and category not in categories:
            continue
        mine = [q for q in queries if category_of.get(q.expected or "") == category]
        started = time.perf_counter()
        model = holdout_model(entries, category, work_dir)
        index = SearchIndex(entries, base, Embedder(str(model), None), general=general)
        ordered.extend(mine)
        by_category[category] = {"n": len(mine)}
        for name, w in weights.items():  # latency is not reported here: vectors are reused
            r, t = _ranks(index, mine, w)
            ranks[name].extend(r)
            times[name].extend(t)
            by_category[category][name] = sum(x == 1 for x in r) / len(r)
        log(
            f"holdout {category:16} n={len(mine):3}  "
            + "  ".join(f"{n}={by_category[category][n]:.3f}" for n in weights)
            + f"  ({time.perf_counter() - started:.0f}s)"
        )
    overall = {name: summarise(ordered, ranks[name], times[name]) for name in weights}
    return HoldoutResult(overall, by_category, ordered, ranks)


# ---------------------------------------------------------------- choosing the weights


def signal_table(
    index: SearchIndex, queries: Sequence[LabelledQuery]
) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per query: every candidate's signal scores, their languages, and which row is
    the expected entry (-1 if no signal found it)."""
    rows = []
    for q in queries:
        ids, parts, _ = index.signal_scores(q.query)
        matrix = np.stack([parts.get(s, np.zeros(len(ids))) for s in SIGNALS], axis=1)
        expected = [i for i, e in enumerate(ids) if index.entries[e].id == q.expected]
        rows.append((matrix, ids, expected[0] if expected else -1))
    return rows


def weight_grid(step: float = 0.05) -> list[dict[str, float]]:
    """Every weighting of the signals in `step` increments, summing to 1."""
    n = round(1 / step)
    grid = []
    for parts in itertools.product(range(n + 1), repeat=len(SIGNALS) - 1):
        if sum(parts) <= n:
            values = [*parts, n - sum(parts)]
            grid.append({s: v / n for s, v in zip(SIGNALS, values, strict=True)})
    return grid


def hit_rates(
    tables: Sequence[Sequence[tuple[np.ndarray, np.ndarray, int]]],
    grid: list[dict[str, float]],
    fusion: str = "relative",
) -> np.ndarray:
    """hit@1 + MRR@10/100 (a tie-break) of every weighting, averaged over the tables, ranked
    as `index.fuse` ranks with this fusion."""
    w = np.asarray([[g[s] for s in SIGNALS] for g in grid], dtype=np.float64).T  # signals x G
    total = np.zeros(len(grid))
    for table in tables:
        hits = np.zeros(len(grid))
        rr = np.zeros(len(grid))
        for matrix, ids, expected in table:
            if expected < 0:
                continue
            fused = (relative(matrix) if fusion == "relative" else matrix) @ w  # candidates x G
            mine = fused[expected]
            # ties are broken by entry order, as in search
            tied_before = (fused == mine) & (ids < ids[expected])[:, None]
            better = (fused > mine).sum(axis=0) + tied_before.sum(axis=0)
            hits += better == 0
            rr += np.where(better < 10, 1.0 / (better + 1), 0.0)
        n = max(len(table), 1)
        total += hits / n + rr / n / 100
    return total / max(len(tables), 1)


def choose_weights(
    tables: Sequence[Sequence[tuple[np.ndarray, np.ndarray, int]]],
    step: float = 0.05,
    fusion: str = "relative",
) -> tuple[dict[str, float], float]:
    """The weighting with the best averaged dev hit@1 (MRR breaks ties)."""
    grid = weight_grid(step)
    scores = hit_rates(tables, grid, fusion)
    best = int(np.argmax(scores))
    return grid[best], float(scores[best])


def write_json(path: Path, data: object) -> None:
    """Pretty JSON, for results worth keeping."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
