"""Daily rollups and per-day column arrays: how a year of a million tickets answers in a second.

Two derived stores, rewritten day by day from `ticket_stage_facts` (`rebuild`), which the
refresh calls for every local day it touched (`portal.analytics.refresh`):

- `analytics_daily` (counts and sums): per day and network, once in total and once per value
  of one more dimension. `totals` answers the KPIs, the scorecard's counts and the failures
  from it when the filters and the grouping name at most one dimension besides the network
  and the period; otherwise (two such filters at once) the callers read the facts as before.
  Only settled tickets are in it (not `PENDING`): the others' on-time counts change with the
  clock, so `totals` adds them from the facts at the moment of reading (the partial index
  `ix_tsf_pending` finds them; they are the open tickets).
- `analytics_columns` (percentiles): per day, the day's tickets as numpy arrays — network,
  engineer, product, model, type, channel, city, and the durations. Any filter is a mask over
  them, any grouping a key array, so every filter combination is answered from them.

Durations of the tickets by creation day (basis "c": first response, resolution, t1–t9) are
kept as DDSketch bucket indices (`ALPHA` = 0.5 % relative accuracy): a bucket stands for
every value v with γ^(k−1) < v ≤ γ^k, γ = (1+α)/(1−α), and is read back as 2γ^k/(γ+1), which
is within α of every value in it. Percentiles interpolate between the read-back values at
ranks ⌊p(n−1)⌋ and the next, as `percentile_cont` does between the exact ones, so median,
p90 and the mean are each within α (0.5 %) of the exact figure; values under 1 ms read as 0.
The engineers' visits (basis "v", by the day of the first arrival: t3–t5, first-time fix,
score) keep exact seconds: the people board's counts, sums, means and utilisation are exact;
its t3–t5 medians and p90 come from the same sketch, taken of those seconds when read
(`visit_spreads`: counting per engineer instead of sorting, within α as well).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from portal.analytics.filters import Filters
from portal.analytics.measures import STAGE_NAMES, c, count_if, dimension_column
from portal.analytics.rollup_models import (
    PENDING_SQL,
    ROLLUP_MEASURES,
    ROLLUP_SUMS,
    AnalyticsColumn,
    AnalyticsDaily,
    AnalyticsMonthly,
)
from portal.analytics.rules import FTF_COUNTS, FTF_OK, sla_rules
from portal.analytics.sql import Spread

ALPHA = 0.005  # the sketch's relative accuracy
GAMMA = (1 + ALPHA) / (1 - ALPHA)
LOG_GAMMA = math.log(GAMMA)
OFFSET = 1000  # bucket index of 1 s is OFFSET; 0: no value, 1: under 1 ms
FLOOR_S = 1e-3
NEVER = -1e300  # "now" before every deadline: only settled outcomes count

# Dimensions a rollup row can carry besides the network (filters' attribute → set name).
SET_OF_FILTER = {
    "city": "city",
    "product": "product",
    "channel": "channel",
    "engineer_id": "engineer",
    "model_code": "model",
    "ticket_type": "type",
}
SETS = ("", "product", "model", "type", "channel", "city", "engineer")
# Dimensions of the column arrays (filters' attribute → column name).
COLUMN_OF_FILTER = {
    "city": "city",
    "network_id": "net",
    "product": "product",
    "channel": "channel",
    "engineer_id": "eng",
    "model_code": "model",
    "ticket_type": "type",
}
COLUMN_OF_DIM = {
    "network": "net",
    "engineer": "eng",
    "product": "product",
    "model": "model",
    "city": "city",
    "channel": "channel",
    "type": "type",
}
TEXT_DIMS = {"product": c.product, "model": c.model_code, "type": c.type, "channel": c.channel,
             "city": c.city}  # fmt: skip
CREATED_MEASURES = {
    "frt": c.responded_ts - c.created_ts,
    "ttr": c.resolved_ts - c.created_ts,
    **{name: c[name] for name in STAGE_NAMES},
}
VISIT_MEASURES = ("t3", "t4", "t5", "score")
DAYS_PER_BATCH = 31


# ---------------------------------------------------------------- the sketch


def bucket_of(values: np.ndarray) -> np.ndarray:
    """DDSketch bucket indices (uint16) of seconds; NaN → 0, under 1 ms → 1."""
    out = np.zeros(values.shape, dtype=np.uint16)
    known = ~np.isnan(values)
    tiny = known & (values < FLOOR_S)
    big = known & ~tiny
    idx = np.ceil(np.log(values[big]) / LOG_GAMMA) + OFFSET
    out[big] = np.clip(idx, 2, 65535).astype(np.uint16)
    out[tiny] = 1
    return out


_READ_BACK = np.concatenate(
    [
        [np.nan, 0.0],
        2 * np.exp((np.arange(2, 65536) - OFFSET) * LOG_GAMMA) / (GAMMA + 1),
    ]
)


def sketch_spreads(
    groups: np.ndarray, buckets: np.ndarray, size: int, *, cells: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`grouped_spreads` of bucket indices, by merging the groups' histograms: one pass of
    counting, no sort (a sort of (group, bucket) keys only when the histograms would be
    too large to hold). Counts and means are read off the histograms too."""
    width = int(buckets.max()) + 1 if len(buckets) else 1
    if size * width <= (HISTOGRAM_CELLS if cells is None else cells):
        # Bucket 0 (no value) is a column of its own, dropped after counting.
        keys = groups.astype(np.int64, copy=False) * width + buckets
        hist = np.bincount(keys, minlength=size * width).reshape(size, width)
        used = np.flatnonzero(hist[:, 1:].sum(axis=0)) + 1  # the buckets any value is in
        low, high = (int(used[0]), int(used[-1]) + 1) if len(used) else (1, 1)
        return _histogram_spreads(hist[:, low:high], _READ_BACK[low:high])
    known = buckets > 0
    g = groups[known].astype(np.int64)
    b = buckets[known].astype(np.int64)
    counts = np.bincount(g, minlength=size)
    sums = np.bincount(g, weights=_READ_BACK[b], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    keys = np.sort((g << 16) | b)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    p50, p90 = _pick(_READ_BACK[keys & 0xFFFF], counts, starts)
    return counts, means, p50, p90


def _histogram_spreads(
    hist: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean, median and p90 per row of `hist` (counts per bucket, each bucket read
    back as `values`)."""
    size = hist.shape[0]
    counts = hist.sum(axis=1)
    sums = hist @ values if hist.shape[1] else np.zeros(size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if not hist.shape[1]:
        empty = np.full(size, np.nan)
        return counts, means, empty, empty.copy()
    below = np.cumsum(hist, axis=1)  # values at or below each bucket, per group
    last = np.maximum(counts - 1, 0)
    out = []
    for p in (0.5, 0.9):
        pos = p * last
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        # The value of rank r is in the first bucket with more than r values at or below it.
        at_lo = values[_first_above(below, lo)]
        at_hi = values[_first_above(below, hi)]
        out.append(np.where(counts > 0, at_lo + (pos - lo) * (at_hi - at_lo), np.nan))
    return counts, means, out[0], out[1]


HISTOGRAM_CELLS = 20_000_000


def _first_above(cumulative: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Per row, the first column whose cumulative count exceeds the row's rank (a binary
    search of all rows at once: each row is lifted above the one before it)."""
    size, width = cumulative.shape
    lift = np.arange(size, dtype=np.int64) * (int(cumulative[:, -1].max(initial=0)) + 1)
    flat = (cumulative + lift[:, None]).ravel()
    found = np.searchsorted(flat, ranks + lift, side="right") - np.arange(size) * width
    return np.minimum(found, width - 1).astype(np.int64)


def _pick(v: np.ndarray, counts: np.ndarray, starts: np.ndarray) -> list[np.ndarray]:
    """percentile_cont at 0.5 and 0.9 per group of the sorted values `v`."""
    out = []
    last = np.maximum(counts - 1, 0)
    for p in (0.5, 0.9):
        pos = p * last
        lo = np.floor(pos).astype(np.int64)
        frac = pos - lo
        hi = np.minimum(lo + 1, last)
        if len(v):
            a = v[np.minimum(starts + lo, len(v) - 1)]
            b = v[np.minimum(starts + hi, len(v) - 1)]
            out.append(np.where(counts > 0, a + frac * (b - a), np.nan))
        else:
            out.append(np.full(len(counts), np.nan))
    return out


def grouped_spreads(
    groups: np.ndarray, values: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean, median and p90 (percentile_cont) of the non-NaN values per group code."""
    known = ~np.isnan(values)
    g, v = groups[known], values[known]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    counts = np.bincount(g, minlength=size)
    sums = np.bincount(g, weights=v, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    p50, p90 = _pick(v, counts, starts)
    return counts, means, p50, p90


# ---------------------------------------------------------------- the measures


def measure_columns(now_ts: float) -> dict[str, Any]:
    """The additive figures of `analytics_daily`, as aggregates over the facts."""
    sla = sla_rules(now_ts)
    repair = c.type == "repair"
    cols: dict[str, Any] = {"tickets": func.count()}
    for kind, (counts, ok) in sla.items():
        cols[f"{kind}_ok"] = count_if(ok)
        cols[f"{kind}_n"] = count_if(counts)
    cols.update(
        ftf_ok=count_if(FTF_OK),
        ftf_n=count_if(FTF_COUNTS),
        csat_good=count_if(c.score >= 4),
        csat_n=func.count(c.score),
        complaints=count_if(c.type == "complaint"),
        escalated=count_if(c.escalated.is_(True)),
        remote=count_if(c.remote.is_(True)),
        bot_intake=count_if(c.bot_intake.is_(True)),
        resolved=func.count(c.resolved_ts),
        frt_n=func.count(c.responded_ts),
        dispatched=count_if(c.dispatches > 0),
        dispatched_once=count_if(and_(c.dispatches == 1, c.rejects == 0)),
        rejected=count_if(c.rejects > 0),
        done=count_if(c.completed_ts.is_not(None) & c.remote.is_(False)),
        eval_requested=count_if(c.eval_requested.is_(True)),
        settle_requested=count_if(c.t8.is_not(None)),
        settled=count_if(c.settled_ts.is_not(None)),
        failures=count_if(repair),
        repeats=count_if(repair & c.is_repeat.is_(True)),
        fail_ttr_n=func.count(case((repair, c.resolved_ts))),
        fail_t5_n=func.count(case((repair, c.t5))),
        score_sum=func.coalesce(func.sum(c.score), 0),
        frt_sum=func.coalesce(func.sum(c.responded_ts - c.created_ts), 0.0),
        ttr_sum=func.coalesce(func.sum(c.resolved_ts - c.created_ts), 0.0),
        fail_ttr_sum=func.coalesce(func.sum(case((repair, c.resolved_ts - c.created_ts))), 0.0),
        fail_t5_sum=func.coalesce(func.sum(case((repair, c.t5))), 0.0),
    )
    assert set(cols) == set(ROLLUP_MEASURES) | set(ROLLUP_SUMS)
    return cols


def _days(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


# ---------------------------------------------------------------- building


def rebuild(
    session: Session, *, days: Iterable[str] | None, visit_days: Iterable[str] | None
) -> None:
    """Rewrite the rollups of these local days (None: every day); flushes only."""
    if days is None:
        session.execute(delete(AnalyticsDaily))
        session.execute(delete(AnalyticsColumn).where(AnalyticsColumn.basis == "c"))
        day_list = _days(session.scalars(select(c.day).distinct()))
        _rebuild_daily(session, None)
    else:
        day_list = _days(days)
        for chunk in _chunks(day_list, 500):
            session.execute(delete(AnalyticsDaily).where(AnalyticsDaily.day.in_(chunk)))
            session.execute(
                delete(AnalyticsColumn).where(
                    AnalyticsColumn.basis == "c", AnalyticsColumn.day.in_(chunk)
                )
            )
            _rebuild_daily(session, chunk)
    _rebuild_monthly(session, None if days is None else sorted({d[:7] for d in day_list}))
    for chunk in _chunks(day_list, DAYS_PER_BATCH):
        _write_columns(session, "c", chunk)
    if visit_days is None:
        session.execute(delete(AnalyticsColumn).where(AnalyticsColumn.basis == "v"))
        visit_list = _days(session.scalars(select(c.visit_day).distinct()))
    else:
        visit_list = _days(visit_days)
        for chunk in _chunks(visit_list, 500):
            session.execute(
                delete(AnalyticsColumn).where(
                    AnalyticsColumn.basis == "v", AnalyticsColumn.day.in_(chunk)
                )
            )
    for chunk in _chunks(visit_list, DAYS_PER_BATCH):
        _write_columns(session, "v", chunk)
    session.flush()


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _rebuild_daily(session: Session, days: list[str] | None) -> None:
    measures = measure_columns(NEVER)
    names = list(measures)
    network = func.coalesce(c.network_id, 0)
    target = ["day", "network_id", "dim", "value", "week", "month", *names]
    for dim in SETS:
        if dim == "":
            value: Any = literal("")
        elif dim == "engineer":
            value = func.coalesce(cast(c.engineer_id, String), "")
        else:
            value = TEXT_DIMS[dim]
        stmt = select(
            c.day, network, literal(dim), value, c.week, c.month, *measures.values()
        ).where(text(f"NOT {PENDING_SQL}"))
        if days is not None:
            stmt = stmt.where(c.day.in_(days))
        stmt = stmt.group_by(c.day, network, value, c.week, c.month)
        session.execute(insert(AnalyticsDaily).from_select(target, stmt))


def _rebuild_monthly(session: Session, months: list[str] | None) -> None:
    """Rewrite `analytics_monthly` for these months (None: all) as sums of the daily rows."""
    d = AnalyticsDaily.__table__.c
    names = [*ROLLUP_MEASURES, *ROLLUP_SUMS]
    keys = [d.month, d.network_id, d.dim, d.value]
    stmt = select(*keys, *[func.sum(d[n]) for n in names]).group_by(*keys)
    if months is None:
        session.execute(delete(AnalyticsMonthly))
    else:
        if not months:
            return
        session.execute(delete(AnalyticsMonthly).where(AnalyticsMonthly.c.month.in_(months)))
        stmt = stmt.where(d.month.in_(months))
    target = ["month", "network_id", "dim", "value", *names]
    session.execute(insert(AnalyticsMonthly).from_select(target, stmt))


def _write_columns(session: Session, basis: str, days: list[str]) -> None:
    """The column arrays of these days, one row per (day, column)."""
    key = c.day if basis == "c" else c.visit_day
    measures: dict[str, Any] = (
        CREATED_MEASURES if basis == "c" else {"t3": c.t3, "t4": c.t4, "t5": c.t5, "score": c.score}
    )
    extra: list[Any] = []
    if basis == "v":
        extra = [case((FTF_OK, 1), else_=0), case((FTF_COUNTS, 1), else_=0)]
    stmt = select(
        key,
        c.network_id,
        c.engineer_id,
        *TEXT_DIMS.values(),
        *measures.values(),
        *[e.label(f"x{i}") for i, e in enumerate(extra)],
    ).where(key.in_(days))
    if basis == "v":
        stmt = stmt.where(c.engineer_id.is_not(None))
    stmt = stmt.order_by(key, c.ticket_id)  # the same arrays whichever days are rewritten
    rows = session.execute(stmt).all()
    by_day: dict[str, list[Any]] = {}
    for row in rows:
        by_day.setdefault(row[0], []).append(row)
    out: list[dict[str, Any]] = []
    dims = list(TEXT_DIMS)
    for day, items in by_day.items():
        cols = list(zip(*items, strict=True))
        arrays: dict[str, bytes] = {
            "net": np.array([v or 0 for v in cols[1]], dtype=np.int32).tobytes(),
            "eng": np.array([v or 0 for v in cols[2]], dtype=np.int32).tobytes(),
        }
        for i, dim in enumerate(dims):
            arrays[dim] = _encode_text(cols[3 + i])
        base = 3 + len(dims)
        for i, name in enumerate(measures):
            values = np.array([np.nan if v is None else float(v) for v in cols[base + i]])
            arrays[name] = (bucket_of(values) if basis == "c" else values).tobytes()
        if basis == "v":
            at = base + len(measures)
            arrays["ftf_ok"] = np.array(cols[at], dtype=np.uint8).tobytes()
            arrays["ftf_n"] = np.array(cols[at + 1], dtype=np.uint8).tobytes()
        out += [{"basis": basis, "day": day, "name": n, "data": d} for n, d in arrays.items()]
    if out:
        session.execute(insert(AnalyticsColumn), out)


def _encode_text(values: Sequence[str | None]) -> bytes:
    """A text column: its distinct values (JSON), a newline, then uint16 codes."""
    uniques = sorted({v or "" for v in values})
    index = {v: i for i, v in enumerate(uniques)}
    codes = np.array([index[v or ""] for v in values], dtype=np.uint16)
    return json.dumps(uniques, ensure_ascii=False).encode() + b"\n" + codes.tobytes()


def _decode_text(data: bytes) -> tuple[list[str], np.ndarray]:
    head, _, body = data.partition(b"\n")
    return json.loads(head), np.frombuffer(body, dtype=np.uint16)


# ---------------------------------------------------------------- reading the columns


def period_days(f: Filters) -> list[str]:
    """The local days of the filters' period (only those of its bucket, if one is chosen)."""
    out = []
    day = f.start
    while day <= f.end:
        if not f.bucket or bucket_label(day, f.grain) == f.bucket:
            out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def bucket_label(day: date, grain: str) -> str:
    """The day's bucket at a grain: itself, the Monday of its week, or its month."""
    if grain == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if grain == "month":
        return day.strftime("%Y-%m")
    return day.isoformat()


@dataclass(frozen=True, slots=True)
class Frame:
    """The chosen tickets' columns, every day's arrays put together, with group codes."""

    columns: dict[str, np.ndarray]
    groups: np.ndarray
    keys: list[Any]
    days: np.ndarray  # each row's day (index into `day_names`)
    day_names: list[str]


def frame(
    session: Session, f: Filters, *, basis: str, names: Sequence[str], by: str | None
) -> Frame:
    """The tickets the filters choose (basis "c": created in the period; "v": visited in
    it), with the named columns and a group code per row for `by` (None: one group).

    Each column is put together over the days first (one array), then filtered and grouped
    in whole-array operations; only the text dimensions are translated day by day."""
    filters = {
        col: getattr(f, attr)
        for attr, col in COLUMN_OF_FILTER.items()
        if getattr(f, attr) not in (None, "")
    }
    group_col = COLUMN_OF_DIM.get(by or "")
    wanted = {"net"} | set(names) | set(filters) | ({group_col} if group_col else set())
    chosen_days = set(period_days(f))
    rows = session.execute(
        select(AnalyticsColumn.day, AnalyticsColumn.name, AnalyticsColumn.data)
        .where(
            AnalyticsColumn.basis == basis,
            AnalyticsColumn.day >= f.start.isoformat(),
            AnalyticsColumn.day <= f.end.isoformat(),
            AnalyticsColumn.name.in_(sorted(wanted)),
        )
        .order_by(AnalyticsColumn.day)
    ).all()
    raw: dict[str, dict[str, bytes]] = {}
    for day, name, data in rows:
        if day in chosen_days:
            raw.setdefault(day, {})[name] = data
    days = sorted(raw)
    sizes = np.array([len(raw[d]["net"]) // 4 for d in days], dtype=np.int64)
    total = int(sizes.sum())
    day_of_row = np.repeat(np.arange(len(days), dtype=np.int64), sizes)
    text_values: dict[str, list[str]] = {}

    def column(name: str) -> np.ndarray:
        if name in TEXT_DIMS:  # day-local codes → codes into one list of values
            values: list[str] = []
            index: dict[str, int] = {}
            parts = []
            for d in days:
                data = raw[d].get(name)
                if data is None:
                    parts.append(np.zeros(len(raw[d]["net"]) // 4, dtype=np.int64))
                    continue
                uniques, codes = _decode_text(data)
                lookup = np.array(
                    [index.setdefault(u, len(index)) for u in uniques] or [0], dtype=np.int64
                )
                parts.append(lookup[codes.astype(np.int64)])
            values = list(index)
            text_values[name] = values
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        dtype = {"net": np.int32, "eng": np.int32, "ftf_ok": np.uint8, "ftf_n": np.uint8}.get(
            name, np.uint16 if basis == "c" else np.float64
        )
        chunks = []
        for d, size in zip(days, sizes, strict=True):
            data = raw[d].get(name)
            if data is None:  # a column written later than the day's others: no values
                fill = np.zeros if dtype is not np.float64 else _nans
                data = fill(int(size), dtype).tobytes()
            chunks.append(data)
        return np.frombuffer(b"".join(chunks), dtype=dtype)

    mask = np.ones(total, dtype=bool)
    for col, want in filters.items():
        got = column(col)
        if col in TEXT_DIMS:
            values = text_values[col]
            mask &= got == (values.index(want) if want in values else -1)
        else:
            mask &= got == int(want)
    every = not filters  # no mask to apply: the arrays as read, no copies
    columns = {n: column(n) if every else column(n)[mask] for n in names}
    keys: list[Any]
    if by == "period":
        labels = [bucket_label(date.fromisoformat(d), f.grain) for d in days]
        keys = sorted(set(labels))
        at = {k: i for i, k in enumerate(keys)}
        per_day = np.array([at[label] for label in labels] or [0], dtype=np.int64)
        groups = per_day[day_of_row[mask]]
    elif group_col is None:
        keys = [None]
        groups = np.zeros(int(mask.sum()), dtype=np.int64)
    elif group_col in TEXT_DIMS:
        groups = column(group_col)[mask]
        keys = list(text_values[group_col])
    else:
        uniq, groups = _int_codes(column(group_col)[mask])
        keys = [int(u) or None for u in uniq]
    return Frame(
        columns=columns,
        groups=groups,
        keys=keys,
        days=day_of_row[mask],
        day_names=days,
    )


def _int_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids, ascending, and each row's index among them: one counting pass
    when the ids are small non-negative numbers (network and engineer ids), else a sort."""
    if len(values) and values.min() >= 0 and values.max() < 1 << 24:
        present = np.flatnonzero(np.bincount(values))
        lookup = np.zeros(int(values.max()) + 1, dtype=np.int64)
        lookup[present] = np.arange(len(present), dtype=np.int64)
        return present, lookup[values]
    uniq, codes = np.unique(values, return_inverse=True)
    return uniq, codes.astype(np.int64)


def distinct_days(fr: Frame, size: int) -> np.ndarray:
    """Per group, the number of distinct days among its rows (counting, no sort)."""
    width = max(len(fr.day_names), 1)
    seen = np.bincount(fr.groups * width + fr.days, minlength=size * width)
    return np.count_nonzero(seen.reshape(size, width), axis=1)


def visit_spreads(
    groups: np.ndarray, seconds: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, exact mean, and median and p90 from the sketch (within `ALPHA`) of the
    visits' seconds per group: their bucket indices are counted per group, no sort."""
    values = seconds.astype(np.float64)
    known = ~np.isnan(values)
    counts = np.bincount(groups[known], minlength=size)
    sums = np.bincount(groups[known], weights=values[known], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    _, _, p50, p90 = sketch_spreads(groups, bucket_of(values), size)
    return counts, means, p50, p90


def _nans(size: int, dtype: Any) -> np.ndarray:
    return np.full(size, np.nan, dtype=dtype)


_EMPTY = Spread(0, None, None, None)


def spreads(
    session: Session,
    f: Filters,
    *,
    measures: Sequence[str],
    by: str | None = None,
    basis: str = "c",
) -> tuple[dict[tuple[Any, str], Spread], dict[Any, int]]:
    """Count, mean, median and p90 of each measure per group, and the tickets per group."""
    fr = frame(session, f, basis=basis, names=measures, by=by)
    size = len(fr.keys)
    out: dict[tuple[Any, str], Spread] = {}
    tickets = np.bincount(fr.groups, minlength=size) if size else np.zeros(0)
    present = [(i, key) for i, key in enumerate(fr.keys) if tickets[i]]
    for name in measures:
        if basis == "c":
            counts, means, p50, p90 = sketch_spreads(fr.groups, fr.columns[name], size)
        else:
            values = fr.columns[name].astype(np.float64)
            counts, means, p50, p90 = grouped_spreads(fr.groups, values, size)
        ns, ms, p5, p9 = counts.tolist(), means.tolist(), p50.tolist(), p90.tolist()
        for i, key in present:
            n = ns[i]
            out[(key, name)] = Spread(n, ms[i], p5[i], p9[i]) if n else _EMPTY
    return out, {key: int(tickets[i]) for i, key in enumerate(fr.keys) if tickets[i]}


# ---------------------------------------------------------------- the daily counts


def rollup_set(f: Filters, by: str | None) -> str | None:
    """The dimension set of `analytics_daily` that answers these filters and grouping, or
    None when they name two dimensions besides the network and the period."""
    wanted = {s for attr, s in SET_OF_FILTER.items() if getattr(f, attr) not in (None, "")}
    if by in SETS and by:
        wanted.add(by)
    if len(wanted) > 1:
        return None
    return wanted.pop() if wanted else ""


def totals(
    session: Session, f: Filters, *, by: str | None, now: datetime
) -> dict[Any, dict[str, float]] | None:
    """The additive figures per group (`by`: a dimension, "period" or None), the settled
    tickets from `analytics_monthly` (the period's whole months) and `analytics_daily` (the
    days around them) plus the pending ones from the facts; None when the rollups cannot
    answer these filters."""
    dim = rollup_set(f, by)
    if dim is None:
        return None
    names = [*ROLLUP_MEASURES, *ROLLUP_SUMS]
    out: dict[Any, dict[str, float]] = {}
    months = whole_months(f) if not f.bucket and (by != "period" or f.grain == "month") else []
    parts: list[tuple[Any, list[ColumnElement[bool]]]] = []
    d = AnalyticsDaily.__table__.c
    if months:
        m = AnalyticsMonthly.c
        parts.append((m, [m.month >= months[0], m.month <= months[-1]]))
        first = date.fromisoformat(f"{months[0]}-01")
        after = _next_month(date.fromisoformat(f"{months[-1]}-01"))
        # The days before the first whole month and after the last, from the daily rows.
        edges = or_(d.day < first.isoformat(), d.day >= after.isoformat())
        parts.append((d, [d.day >= f.start.isoformat(), d.day <= f.end.isoformat(), edges]))
    else:
        parts.append((d, [d.day >= f.start.isoformat(), d.day <= f.end.isoformat()]))
    for table, period in parts:
        _add_settled(session, f, by, dim, table, period, names, out)
    live = measure_columns(now.timestamp())
    col = dimension_column(f, by) if by else literal(None)
    stmt = select(col.label("g"), *[e.label(n) for n, e in live.items()]).where(
        *f.where(), text(PENDING_SQL)
    )
    if by:
        stmt = stmt.group_by(col)
    for row in session.execute(stmt).mappings():
        if not row["tickets"]:
            continue
        acc = out.setdefault(row["g"], dict.fromkeys(names, 0.0))
        for n in names:
            acc[n] += float(row[n] or 0)
    return out


def _add_settled(
    session: Session,
    f: Filters,
    by: str | None,
    dim: str,
    t: Any,
    period: list[ColumnElement[bool]],
    names: list[str],
    out: dict[Any, dict[str, float]],
) -> None:
    """Add the settled tickets' figures of one rollup table (daily or monthly rows) to `out`."""
    if by == "network":
        group: Any = t.network_id
    elif by == "period":
        group = t[f.grain]  # the monthly rows answer only a trend by month
    elif by:
        group = t.value
    else:
        group = literal(None)
    conds: list[ColumnElement[bool]] = [t.dim == dim, *period]
    if f.network_id is not None:
        conds.append(t.network_id == f.network_id)
    for attr, s in SET_OF_FILTER.items():
        want = getattr(f, attr)
        if s == dim and want not in (None, ""):
            conds.append(t.value == str(want))
    if f.bucket:
        conds.append(t[f.grain] == f.bucket)
    stmt = select(group.label("g"), *[func.sum(t[n]).label(n) for n in names]).where(*conds)
    if by:
        stmt = stmt.group_by(group)
    for row in session.execute(stmt).mappings():
        if row["tickets"] is None:
            continue
        acc = out.setdefault(_rollup_key(by, row["g"]), dict.fromkeys(names, 0.0))
        for n in names:
            acc[n] += float(row[n] or 0)


def whole_months(f: Filters) -> list[str]:
    """The local months (YYYY-MM) lying wholly inside the filters' period, in order."""
    out = []
    first = f.start.replace(day=1)
    if first < f.start:
        first = _next_month(first)
    while _next_month(first) - timedelta(days=1) <= f.end:
        out.append(first.strftime("%Y-%m"))
        first = _next_month(first)
    return out


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _rollup_key(by: str | None, value: Any) -> Any:
    if by == "network":
        return int(value) or None
    if by == "engineer":
        return int(value) if value else None
    return value


def kpi_row(t: dict[str, float]) -> dict[str, Any]:
    """A row in the shape `rules.Kpis.of` reads, from `totals`' figures."""

    def ratio(num: str, den: str) -> float | None:
        return t[num] / t[den] if t.get(den) else None

    row: dict[str, Any] = {n: int(t.get(n, 0)) for n in ROLLUP_MEASURES}
    row.update(
        csat_mean=ratio("score_sum", "csat_n"),
        frt_mean=ratio("frt_sum", "frt_n"),
        ttr_mean=ratio("ttr_sum", "resolved"),
    )
    return row


def visits_frame(session: Session, f: Filters) -> Frame:
    """The engineers' visits in the period (basis "v") with what the people board needs."""
    return frame(session, f, basis="v", names=[*VISIT_MEASURES, "ftf_ok", "ftf_n"], by="engineer")
