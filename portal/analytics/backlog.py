"""The backlog by age, and the abnormal tickets open now.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    case,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics.drill import (
    ticket_rows,
)
from portal.analytics.filters import Filters
from portal.analytics.measures import (
    ABNORMAL_KINDS,
    AGE_EDGES_H,
    c,
    count_if,
    epoch,
    is_open,
    labels,
)
from portal.analytics.rules import (
    abnormal_condition,
)


@dataclass(frozen=True, slots=True)
class Backlog:
    """Open tickets by age bucket (lower edge in hours: 0, 24, 48 …) and by network."""

    by_network: dict[Any, dict[int, int]]
    labels: dict[Any, str]

    @property
    def totals(self) -> dict[int, int]:
        """Open tickets per age bucket."""
        out = {edge: 0 for edge in (0, *AGE_EDGES_H)}
        for row in self.by_network.values():
            for edge, n in row.items():
                out[edge] += n
        return out

    @property
    def total(self) -> int:
        """All open tickets."""
        return sum(self.totals.values())

    def over(self, hours: int) -> int:
        """Open tickets older than `hours`."""
        return sum(n for edge, n in self.totals.items() if edge >= hours)


def age_bucket(now_ts: float) -> Any:
    """The lower edge (hours) of each open ticket's age bucket."""
    age = (literal(now_ts) - c.created_ts) / 3600.0
    whens = [(age < edge, prev) for prev, edge in zip((0, *AGE_EDGES_H), AGE_EDGES_H, strict=False)]
    return case(*whens, else_=AGE_EDGES_H[-1])


def backlog(session: Session, f: Filters, *, now: datetime) -> Backlog:
    """Tickets not yet completed, by age now, per network (every filter but the period)."""
    edge = age_bucket(epoch(now))
    stmt = (
        select(c.network_id, edge.label("edge"), func.count())
        .where(is_open(), *f.dims())
        .group_by(c.network_id, edge)
    )
    out: dict[Any, dict[int, int]] = {}
    for network_id, lower, n in session.execute(stmt):
        row = out.setdefault(network_id, {e: 0 for e in (0, *AGE_EDGES_H)})
        row[int(lower)] += int(n)
    return Backlog(out, labels(session, "network", list(out)))


@dataclass(frozen=True, slots=True)
class Abnormal:
    """How many open tickets are exceptional in each way, and the oldest of one kind."""

    counts: dict[str, int]
    kind: str
    rows: list[dict[str, Any]]


def abnormal(
    session: Session, f: Filters, *, now: datetime, kind: str = "overdue", limit: int = 20
) -> Abnormal:
    """Overdue, not yet arrived, waiting for parts, VIP faults (every filter but the period)."""
    now_ts = epoch(now)
    counts_stmt = select(
        *[count_if(abnormal_condition(k, now_ts)).label(k) for k in ABNORMAL_KINDS]
    ).where(is_open(), *f.dims())
    row = session.execute(counts_stmt).mappings().one()
    counts = {k: int(row[k] or 0) for k in ABNORMAL_KINDS}
    kind = kind if kind in ABNORMAL_KINDS else "overdue"
    found, _ = ticket_rows(session, f, measure=f"abnormal:{kind}", now=now, page=1, page_size=limit)
    return Abnormal(counts, kind, found)
