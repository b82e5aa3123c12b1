"""Retrieval quality on a labelled query file, and calibration of the band thresholds."""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from knowledge_base.entry import FAQError, Hit, Issue

SearchFn = Callable[[str, int], list[Hit]]


@dataclass(frozen=True)
class LabelledQuery:
    """One line of a query file: what a customer typed and the entry id that answers it, or None."""

    query: str
    expected: str | None


@dataclass
class EvalResult:
    """The figures `eval` prints; `misses` lists queries whose top hit was wrong."""

    hit_at_1: float
    hit_at_3: float
    mrr_at_10: float
    p50_ms: float
    p95_ms: float
    n: int
    misses: list[dict[str, object]] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """Exactly the keys of `eval --json`."""
        data = asdict(self)
        data.pop("misses")
        return data


def read_queries(path: Path | str, *, allow_none: bool = False) -> list[LabelledQuery]:
    """Read JSONL lines of {"query": ..., "expected": ...}; bad lines raise FAQError (with line)."""
    rows: list[LabelledQuery] = []
    issues: list[Issue] = []
    name = str(path)
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            issues.append(Issue(name, number, f"invalid JSON: {exc.msg}"))
            continue
        query, expected = data.get("query"), data.get("expected")
        if not isinstance(query, str) or not query.strip():
            issues.append(Issue(name, number, "'query' must be a non-empty string"))
        elif not (isinstance(expected, str) or (allow_none and expected is None)):
            issues.append(Issue(name, number, "'expected' must be an entry id"))
        else:
            rows.append(LabelledQuery(query, expected))
    if issues:
        raise FAQError(issues)
    return rows


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def evaluate(search: SearchFn, queries: Sequence[LabelledQuery], warmup: int = 3) -> EvalResult:
    """hit@1, hit@3, MRR@10 and latency of a search function over labelled queries."""
    for q in queries[:warmup]:  # first calls pay for lazy loading, which is not search latency
        search(q.query, 10)
    ranks: list[int] = []
    times: list[float] = []
    for q in queries:
        started = time.perf_counter()
        hits = search(q.query, 10)
        times.append((time.perf_counter() - started) * 1000)
        ids = [h.id for h in hits]
        ranks.append(ids.index(q.expected) + 1 if q.expected in ids else 0)
    return summarise(queries, ranks, times)


def summarise(
    queries: Sequence[LabelledQuery], ranks: Sequence[int], times: Sequence[float]
) -> EvalResult:
    """The figures for per-query ranks (1-based, 0 = not in the top 10) and latencies."""
    n = len(ranks)
    return EvalResult(
        hit_at_1=sum(r == 1 for r in ranks) / n if n else 0.0,
        hit_at_3=sum(0 < r <= 3 for r in ranks) / n if n else 0.0,
        mrr_at_10=statistics.fmean(1 / r if r else 0.0 for r in ranks) if n else 0.0,
        p50_ms=percentile(times, 50),
        p95_ms=percentile(times, 95),
        n=n,
        misses=[
            {"query": q.query, "expected": q.expected, "rank": r}
            for q, r in zip(queries, ranks, strict=True)
            if r != 1
        ],
    )


@dataclass(frozen=True)
class Calibration:
    """Suggested thresholds and what they achieve on the calibration queries."""

    answer_threshold: float
    answer_margin: float
    suggest_threshold: float
    answer_precision: float
    answer_coverage: float
    negatives_rejected: float
    positives_suggested: float


def calibrate(
    search: SearchFn,
    positives: Sequence[LabelledQuery],
    negatives: Sequence[LabelledQuery] = (),
    target_precision: float = 0.9,
) -> Calibration:
    """Pick thresholds: `answer` as often as possible while its top hit is right at least
    `target_precision` of the time (an out-of-scope query answered counts as wrong), and
    `suggest` where it best separates queries we can help with (expected in top 3) from those
    we cannot.
    """
    pos = []  # (top score, runner-up score, top correct, expected in top 3)
    for q in positives:
        hits = search(q.query, 10)
        top = hits[0].score if hits else 0.0
        second = hits[1].score if len(hits) > 1 else 0.0
        ids = [h.id for h in hits]
        pos.append((top, second, bool(ids) and ids[0] == q.expected, q.expected in ids[:3]))
    neg = []
    for q in negatives:
        hits = search(q.query, 10)
        neg.append((hits[0].score if hits else 0.0, hits[1].score if len(hits) > 1 else 0.0))
    scores = sorted({round(s, 3) for s, *_ in pos} | {round(s, 3) for s, _ in neg})
    best = (0.0, 1.0, 0.0, 0.0)  # coverage, threshold, margin, precision
    for margin in (0.0, 0.02, 0.04, 0.06, 0.08, 0.1):
        for t in scores:
            answered = [ok for s, s2, ok, _ in pos if s >= t and s - s2 >= margin]
            wrong_neg = sum(1 for s, s2 in neg if s >= t and s - s2 >= margin)
            total = len(answered) + wrong_neg
            if not total:
                continue
            precision = sum(answered) / total
            coverage = len(answered) / max(len(pos), 1)
            if precision >= target_precision and coverage > best[0]:
                best = (coverage, t, margin, precision)
    suggest_best = (-1.0, 0.0, 0.0, 0.0)
    helpful = [s for s, _, _, top3 in pos if top3]
    for t in scores:
        kept = sum(1 for s in helpful if s >= t) / max(len(helpful), 1)
        rejected = sum(1 for s, _ in neg if s < t) / max(len(neg), 1) if neg else 1.0
        balanced = (kept + rejected) / 2
        if balanced > suggest_best[0]:
            suggest_best = (balanced, t, kept, rejected)
    _, suggest_t, kept, rejected = suggest_best
    answer_t = max(best[1], suggest_t)
    return Calibration(
        answer_threshold=round(answer_t, 3),
        answer_margin=best[2],
        suggest_threshold=round(min(suggest_t, answer_t), 3),
        answer_precision=round(best[3], 3),
        answer_coverage=round(best[0], 3),
        negatives_rejected=round(rejected, 3),
        positives_suggested=round(kept, 3),
    )
