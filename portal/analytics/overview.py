"""The overview and the trends: KPIs for the period, by a dimension, by time bucket.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from portal.analytics import rollups
from portal.analytics.backlog import (
    backlog,
)
from portal.analytics.filters import Filters
from portal.analytics.measures import (
    DIMENSIONS,
    STAGE_NAMES,
    buckets,
    dimension_column,
    epoch,
    labels,
    plain,
)
from portal.analytics.rules import (
    Kpis,
    kpi_columns,
)
from portal.analytics.sql import Spread


@dataclass(frozen=True, slots=True)
class Overview:
    """The executive page's figures."""

    kpis: Kpis
    frt: Spread
    ttr: Spread
    stages: dict[str, Spread]
    backlog_open: int
    backlog_over_24h: int


def kpis(session: Session, f: Filters, *, now: datetime) -> Kpis:
    """The headline KPIs of the filtered tickets."""
    found = rollups.totals(session, f, by=None, now=now)
    if found is not None:
        return Kpis.of(rollups.kpi_row(found.get(None, {})))
    row = session.execute(select(*kpi_columns(epoch(now))).where(*f.where())).mappings().one()
    return Kpis.of(row)


def overview(session: Session, f: Filters, *, now: datetime) -> Overview:
    """Headline KPIs, the spread of response, resolution and the nine stages (one pass over
    the values), backlog size."""
    found, _ = rollups.spreads(session, f, measures=["frt", "ttr", *STAGE_NAMES])
    empty = Spread(0, None, None, None)
    age = backlog(session, f, now=now)
    return Overview(
        kpis=kpis(session, f, now=now),
        frt=found.get((None, "frt"), empty),
        ttr=found.get((None, "ttr"), empty),
        stages={name: found.get((None, name), empty) for name in STAGE_NAMES},
        backlog_open=age.total,
        backlog_over_24h=age.over(24),
    )


@dataclass(frozen=True, slots=True)
class GroupKpis:
    """KPIs of one group (a network, a period bucket …)."""

    key: Any
    label: str
    kpis: Kpis


def kpis_by(session: Session, f: Filters, *, by: str, now: datetime) -> list[GroupKpis]:
    """The headline KPIs per value of a dimension, in the dimension's natural order."""
    by = by if by in DIMENSIONS else "network"
    found = rollups.totals(session, f, by=by, now=now)
    if found is not None:
        rows: Any = [{"g": key, **rollups.kpi_row(t)} for key, t in found.items()]
    else:
        col = dimension_column(f, by)
        stmt = select(col.label("g"), *kpi_columns(epoch(now))).where(*f.where()).group_by(col)
        rows = session.execute(stmt).mappings().all()
    names = labels(session, by, [r["g"] for r in rows])
    out = [GroupKpis(r["g"], names.get(r["g"], plain(r["g"])), Kpis.of(r)) for r in rows]
    if by == "period":
        return sorted(out, key=lambda g: str(g.key))
    return sorted(out, key=lambda g: (-g.kpis.tickets, str(g.label)))


def trend(session: Session, f: Filters, *, now: datetime) -> list[GroupKpis]:
    """The headline KPIs per day / week / month of the period, every bucket present."""
    found = {g.key: g for g in kpis_by(session, f, by="period", now=now)}
    empty = Kpis.of(defaultdict(lambda: None))
    return [found.get(b) or GroupKpis(b, b, empty) for b in buckets(f)]
