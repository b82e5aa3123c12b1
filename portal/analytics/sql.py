"""The few places where SQLite and PostgreSQL spell things differently, and percentiles.

PostgreSQL computes percentiles with `percentile_cont`; SQLite has no such aggregate, so the
same numbers come from window functions: each value's rank (ROW_NUMBER over the ordered
values) and the group's size, then linear interpolation between the two ranks around
p·(n−1) — exactly what `percentile_cont` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

ZONE = "Asia/Shanghai"
ZONE_OFFSET_H = 8  # Asia/Shanghai keeps no daylight saving time

# A fault code as engineers and displays write it: E21, F3, EC, P1 … (one or two letters,
# one to three digits), not glued to other letters or digits.
FAULT_CODE = re.compile(r"(?:^|[^A-Z0-9])([A-Z]{1,2}[0-9]{1,3})(?:[^0-9]|$)")
FAULT_CODE_PG = "(?:^|[^A-Z0-9])([A-Z]{1,2}[0-9]{1,3})(?:[^0-9]|$)"


def fault_code(text: str | None) -> str:
    """The first fault code in a fault description (upper-cased), or ''."""
    if not text:
        return ""
    match = FAULT_CODE.search(text.upper())
    return match.group(1) if match else ""


@dataclass(frozen=True, slots=True)
class Dialect:
    """SQL fragments for one backend; `name` is "sqlite" or "postgresql"."""

    name: str

    @property
    def pg(self) -> bool:
        """Whether this is PostgreSQL."""
        return self.name == "postgresql"

    def epoch(self, col: str) -> str:
        """Seconds since 1970 of a UTC timestamp column, as a double."""
        if self.pg:
            return f"date_part('epoch', {col})"
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the fraction.
        return (
            f"(CAST(strftime('%s', {col}) AS REAL)"
            f" + COALESCE(CAST(substr({col}, 20) AS REAL), 0.0))"
        )

    def local_day(self, col: str) -> str:
        """The local calendar day (YYYY-MM-DD) of a timestamp column."""
        if self.pg:
            return f"to_char({col} AT TIME ZONE '{ZONE}', 'YYYY-MM-DD')"
        return f"date({col}, '+{ZONE_OFFSET_H} hours')"

    def local_week(self, col: str) -> str:
        """The Monday (YYYY-MM-DD) of the local week of a timestamp column."""
        if self.pg:
            return f"to_char(date_trunc('week', {col} AT TIME ZONE '{ZONE}'), 'YYYY-MM-DD')"
        return f"date({col}, '+{ZONE_OFFSET_H} hours', 'weekday 0', '-6 days')"

    def local_month(self, col: str) -> str:
        """The local month (YYYY-MM) of a timestamp column."""
        if self.pg:
            return f"to_char({col} AT TIME ZONE '{ZONE}', 'YYYY-MM')"
        return f"strftime('%Y-%m', {col}, '+{ZONE_OFFSET_H} hours')"

    def epoch_day(self, expr: str) -> str:
        """The local day (YYYY-MM-DD) of an epoch-seconds expression."""
        if self.pg:
            return f"to_char(to_timestamp({expr}) AT TIME ZONE '{ZONE}', 'YYYY-MM-DD')"
        return f"date({expr}, 'unixepoch', '+{ZONE_OFFSET_H} hours')"

    def days_between(self, day_col: str, ts_col: str) -> str:
        """Whole days from a DATE column to the local day of a timestamp column."""
        if self.pg:
            return f"(({ts_col} AT TIME ZONE '{ZONE}')::date - {day_col})"
        return (
            f"CAST(julianday(date({ts_col}, '+{ZONE_OFFSET_H} hours')) "
            f"- julianday({day_col}) AS INTEGER)"
        )

    def json_int(self, col: str, key: str) -> str:
        """An integer member of a JSON column, NULL when absent or not a number."""
        if self.pg:
            return f"CASE WHEN ({col}->>'{key}') ~ '^[0-9]+$' THEN ({col}->>'{key}')::int END"
        return f"CAST(json_extract({col}, '$.{key}') AS INTEGER)"

    def json_array_len(self, col: str, key: str) -> str:
        """The length of an array member of a JSON column (0 when it is not an array)."""
        if self.pg:
            return (
                f"CASE WHEN json_typeof({col}->'{key}') = 'array' "
                f"THEN json_array_length({col}->'{key}') ELSE 0 END"
            )
        return f"COALESCE(json_array_length({col}, '$.{key}'), 0)"

    def fault_code(self, col: str) -> str:
        """The first fault code in a text column, or ''."""
        if self.pg:
            return f"COALESCE(substring(upper({col}) from '{FAULT_CODE_PG}'), '')"
        return f"analytics_fault_code({col})"

    def greatest(self, a: str, b: str) -> str:
        """The larger of two values."""
        return f"GREATEST({a}, {b})" if self.pg else f"MAX({a}, {b})"


def dialect_of(session: Session) -> Dialect:
    """The dialect of the session's database."""
    return Dialect(session.get_bind().dialect.name)


def prepare(session: Session) -> Dialect:
    """The dialect, with SQLite's connection taught the functions analytics SQL uses."""
    dialect = dialect_of(session)
    if not dialect.pg:
        raw: Any = session.connection().connection.driver_connection
        raw.create_function("analytics_fault_code", 1, fault_code, deterministic=True)
    return dialect


# ---------------------------------------------------------------- percentiles


@dataclass(frozen=True, slots=True)
class Spread:
    """How one measure is distributed within one group."""

    n: int
    mean: float | None
    p50: float | None
    p90: float | None


def spreads(
    session: Session,
    *,
    table: Any,
    measures: Mapping[str, ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
    group: ColumnElement[Any] | None = None,
) -> dict[tuple[Any, str], Spread]:
    """Count, mean, median and 90th percentile of each measure (NULLs left out), per group.

    Keys are (group value, measure name); the group value is None without a group.
    """
    dialect = dialect_of(session)
    grp = group if group is not None else literal(None)
    out: dict[tuple[Any, str], Spread] = {}
    if dialect.pg:
        # One sort per measure gives both percentiles (an array of fractions).
        fractions = postgresql.array([literal(0.5), literal(0.9)])
        cols: list[Any] = [grp.label("g")]
        for i, expr in enumerate(measures.values()):
            cols += [
                func.count(expr).label(f"n{i}"),
                func.avg(expr).label(f"mean{i}"),
                func.percentile_cont(fractions).within_group(expr).label(f"p{i}"),
            ]
        stmt = select(*cols).select_from(table).where(*where)
        if group is not None:
            stmt = stmt.group_by(grp)
        for row in session.execute(stmt).mappings():
            for i, name in enumerate(measures):
                p50, p90 = row[f"p{i}"] or (None, None)
                out[(row["g"], name)] = Spread(
                    int(row[f"n{i}"]), _f(row[f"mean{i}"]), _f(p50), _f(p90)
                )
        return _fill(out, measures)
    # SQLite: one row per (group, measure, value), ranked within (group, measure). Rank,
    # size and mean share one window (same partition, order and whole-partition frame), so
    # the rows are sorted once; measures are numbered, which sorts faster than names.
    names = list(measures)
    parts = [
        select(grp.label("g"), literal(i).label("m"), cast(expr, Float).label("v"))
        .select_from(table)
        .where(*where, expr.is_not(None))
        for i, expr in enumerate(measures.values())
    ]
    values = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("vals")
    part, order = (values.c.g, values.c.m), values.c.v
    whole = (None, None)
    ranked = select(
        values.c.g,
        values.c.m,
        values.c.v,
        (func.row_number().over(partition_by=part, order_by=order, rows=whole) - 1).label("r"),
        func.count().over(partition_by=part, order_by=order, rows=whole).label("n"),
        func.avg(values.c.v).over(partition_by=part, order_by=order, rows=whole).label("mean"),
    ).subquery("ranked")
    cols = [ranked.c.g, ranked.c.m, func.max(ranked.c.n).label("n"), func.max(ranked.c.mean)]
    wanted = []
    for p in (0.5, 0.9):
        pos = literal(p) * (ranked.c.n - 1)
        lo = cast(pos, Integer)  # truncation is floor here: pos ≥ 0
        wanted += [ranked.c.r == lo, ranked.c.r == lo + 1]
        cols += [
            func.max(case((ranked.c.r == lo, ranked.c.v))).label(f"lo{int(p * 100)}"),
            func.max(case((ranked.c.r == lo + 1, ranked.c.v))).label(f"hi{int(p * 100)}"),
        ]
    stmt = select(*cols).where(or_(*wanted)).group_by(ranked.c.g, ranked.c.m)
    for g, m, n, mean, lo50, hi50, lo90, hi90 in session.execute(stmt):
        out[(g, names[int(m)])] = Spread(
            int(n), _f(mean), _interp(0.5, int(n), lo50, hi50), _interp(0.9, int(n), lo90, hi90)
        )
    return _fill(out, measures)


def _interp(p: float, n: int, lo: float | None, hi: float | None) -> float | None:
    """percentile_cont's interpolation between the values at ranks ⌊p(n−1)⌋ and the next."""
    if lo is None:
        return None
    pos = p * (n - 1)
    frac = pos - int(pos)
    if hi is None or frac == 0:
        return float(lo)
    return float(lo) + frac * (float(hi) - float(lo))


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _fill(
    out: dict[tuple[Any, str], Spread], measures: Mapping[str, Any]
) -> dict[tuple[Any, str], Spread]:
    """Every group that has any measure gets every measure (empty ones: n = 0)."""
    groups = {g for g, _ in out}
    for g in groups:
        for name in measures:
            out.setdefault((g, name), Spread(0, None, None, None))
    return out
