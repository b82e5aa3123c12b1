"""What every measure shares: the fact table's columns, the constants, the `Rate`, the names
shown for keys, the dimensions and the time buckets, and CSV output.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics.filters import Filters
from portal.analytics.models import TicketStageFact
from portal.assets.models import Product
from portal.i18n import CHANNEL_LABELS
from portal.networks.models import Engineer, ServiceNetwork
from portal.tickets import lifecycle

F = TicketStageFact.__table__
c = F.c
STAGE_NAMES: tuple[str, ...] = tuple(name for name, _, _ in lifecycle.STAGES)
OPEN = tuple(sorted(lifecycle.OPEN))
BEFORE_ARRIVAL = tuple(sorted(lifecycle.BEFORE_ARRIVAL))
NOT_ARRIVED = ("accepted", "dispatched", "engineer_accepted", "departed")
AGE_EDGES_H = (24, 48, 72, 96, 120)
ABNORMAL_KINDS = ("overdue", "not_arrived", "waiting_parts", "vip")
WARRANTY_CLASSES = ("early", "in", "out", "unknown")
EARLY_DAYS = 90
# Warning lines of the warranty trend, failures per bucket (the page lets people change them).
WARN_LINES = {"early": 20, "in": 60, "out": 40}
DIMENSIONS = ("network", "engineer", "product", "model", "city", "channel", "type", "period")
REPEAT_DAYS = 30


def is_open() -> ColumnElement[bool]:
    """The ticket is still open. The statuses are written into the SQL rather than bound:
    with bound values SQLite's planner cannot tell how few rows they match and scans the
    whole table in network order instead of using `ix_tsf_status`."""
    return c.status.in_(
        bindparam("open_statuses", list(OPEN), expanding=True, literal_execute=True)
    )


def count_if(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def epoch(now: datetime) -> float:
    return now.timestamp()


@dataclass(frozen=True, slots=True)
class Rate:
    """A share: how many of how many."""

    num: int
    den: int

    @property
    def value(self) -> float | None:
        """num / den, None when there is nothing to divide."""
        return self.num / self.den if self.den else None

    @property
    def pct(self) -> float | None:
        """The share in percent, one decimal."""
        return None if self.value is None else round(self.value * 100, 1)


def labels(session: Session, by: str | None, keys: Iterable[Any]) -> dict[Any, str]:
    """Display names of dimension values (networks and engineers by name)."""
    ids = [k for k in keys if isinstance(k, int)]
    if by == "network" and ids:
        return dict(
            session.execute(
                select(ServiceNetwork.id, ServiceNetwork.name).where(ServiceNetwork.id.in_(ids))
            ).all()
        )
    if by == "engineer" and ids:
        return dict(
            # every engineer: an IN list of hundreds of ids costs more than the rows it saves
            session.execute(select(Engineer.id, Engineer.name)).all()
        )
    return {}


def plain(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


@dataclass(frozen=True, slots=True)
class Options:
    """The choices of the filter form."""

    cities: list[str]
    networks: list[tuple[int, str]]
    products: list[str]
    channels: list[str]


def options(session: Session, *, network_id: int | None = None) -> Options:
    """Cities, networks, product categories and channels to filter by."""
    nets = select(ServiceNetwork.id, ServiceNetwork.name, ServiceNetwork.city).order_by(
        ServiceNetwork.id
    )
    if network_id is not None:
        nets = nets.where(ServiceNetwork.id == network_id)
    rows = session.execute(nets).all()
    products = session.scalars(select(Product.category).distinct().order_by(Product.category))
    return Options(
        cities=sorted({r.city for r in rows if r.city}),
        networks=[(r.id, r.name) for r in rows],
        products=[p for p in products if p],
        channels=list(CHANNEL_LABELS),  # the channels a ticket can come from
    )


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a BOM, so spreadsheet programs read the Chinese correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, two decimals."""
    return None if seconds is None else round(seconds / 3600, 2)


def minutes(seconds: float | None) -> float | None:
    """Seconds as minutes, one decimal."""
    return None if seconds is None else round(seconds / 60, 1)


def dimension_column(f: Filters, by: str) -> Any:
    """The fact column a dimension groups by."""
    return {
        "network": c.network_id,
        "engineer": c.engineer_id,
        "product": c.product,
        "model": c.model_code,
        "city": c.city,
        "channel": c.channel,
        "type": c.type,
        "period": f.bucket_column,
    }.get(by, c.network_id)


def buckets(f: Filters) -> list[str]:
    """Every bucket label of the period at the filters' grain."""
    out: list[str] = []
    day = f.start
    while day <= f.end:
        if f.grain == "day":
            key = day.isoformat()
        elif f.grain == "week":
            key = (day - timedelta(days=day.weekday())).isoformat()
        else:
            key = day.strftime("%Y-%m")
        if not out or out[-1] != key:
            out.append(key)
        day += timedelta(days=1)
    return out
