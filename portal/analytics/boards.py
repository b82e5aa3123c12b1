"""The measures of the regional, service-indicator and R&D boards.

Definitions (each over the filtered tickets: created in the period, matching every filter):

- **Ticket volume** of a region: its tickets, placed by the ticket's address in official
  names (`tickets.place_province` / `place_city`, what dispatch compares).
- **Fault rate** of a region: its repair tickets (failures) per 100 units installed there
  by the period's end (assets, placed by their address), in percent.
- **Complaint rate**: complaint cases about the tickets per 100 completed tickets; a case
  counts for its ticket's network and product.
- **Parts fill rate**: demand lines (a part held or fitted for a ticket, or ordered because
  none was there) met from stock, i.e. without a shortage order, per part and warehouse (the
  stock location the line was held, fitted or ordered at), lines created in the period.
- **Waiting for parts**: a shortage order's time from its creation to its fulfilment
  (open ones count until now for the "oldest open" figure only).
- **Quote turnaround**: a quote's time from being sent to the customer's decision
  (accepted or rejected), quotes sent in the period.
- **Repeat repair**: a repair within 30 days after a completed repair of the same unit.
- **First failure age**: for each unit whose first repair ticket ever falls in the period,
  whole months (30.44 days) from its installation to that report.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from portal.analytics.filters import LOCAL, Filters
from portal.analytics.measures import F, Rate, buckets, c, count_if, labels
from portal.analytics.quality import FAILURE
from portal.assets.models import Asset, Product, ProductModel
from portal.complaints.models import Complaint
from portal.complaints.service import REASONS
from portal.customers.models import CustomerAddress
from portal.fees.models import Quote
from portal.parts.models import Part, PartReservation, ShortageOrder, StockLocation, StockMovement
from portal.places.service import normalise
from portal.tickets.models import Ticket

MONTH_DAYS = 30.44
AGE_MONTHS = 24  # first-failure ages are shown month by month up to this, then "more"
UNKNOWN = ""


def _bounds(f: Filters) -> tuple[datetime, datetime]:
    start = datetime.combine(f.start, time(0), tzinfo=LOCAL)
    return start, datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LOCAL)


# ---------------------------------------------------------------- regions


@dataclass(frozen=True, slots=True)
class RegionRow:
    """One province or city: its tickets, failures and installed units."""

    name: str  # official name; "" where the address was not understood
    tickets: int
    failures: int
    units: int

    @property
    def fault_rate(self) -> Rate:
        """Failures per installed unit (shown in percent)."""
        return Rate(self.failures, self.units)


@lru_cache(maxsize=4096)
def _place_of_city(city: str) -> tuple[str, str]:
    place = normalise(city=city) if city else None
    return (place.province, place.city) if place else (UNKNOWN, UNKNOWN)


def _units(session: Session, f: Filters) -> Counter[tuple[str, str]]:
    """Units installed by the period's end per (province, city) of their address."""
    end = f.end + timedelta(days=1)
    stmt = (
        select(CustomerAddress.city, func.count(Asset.id))
        .select_from(Asset)
        .join(ProductModel, ProductModel.id == Asset.model_id)
        .join(Product, Product.id == ProductModel.product_id)
        .join(CustomerAddress, CustomerAddress.id == Asset.address_id, isouter=True)
        .where(Asset.install_date.is_not(None), Asset.install_date < end)
        .group_by(CustomerAddress.city)
    )
    if f.product:
        stmt = stmt.where(Product.category == f.product)
    if f.model_code:
        stmt = stmt.where(ProductModel.code == f.model_code)
    out: Counter[tuple[str, str]] = Counter()
    for city, n in session.execute(stmt):
        out[_place_of_city(city or "")] += int(n)
    return out


def regions(session: Session, f: Filters, *, province: str | None = None) -> list[RegionRow]:
    """Tickets, failures and units per province, or per city of one province."""
    t = Ticket.__table__.c
    stmt = (
        select(
            t.place_province,
            t.place_city,
            func.count().label("n"),
            count_if(FAILURE).label("fails"),
        )
        .select_from(F.join(Ticket.__table__, t.id == c.ticket_id))
        .where(*f.where())
        .group_by(t.place_province, t.place_city)
    )
    if province is not None:
        stmt = stmt.where(t.place_province == province)
    tickets: Counter[str] = Counter()
    fails: Counter[str] = Counter()
    for prov, city, n, k in session.execute(stmt):
        key = (city or UNKNOWN) if province is not None else (prov or UNKNOWN)
        tickets[key] += int(n)
        fails[key] += int(k or 0)
    units: Counter[str] = Counter()
    for (prov, city), n in _units(session, f).items():
        if province is None:
            units[prov] += n
        elif prov == province:
            units[city] += n
    rows = [
        RegionRow(name, tickets[name], fails[name], units[name])
        for name in set(tickets) | set(units)
    ]
    return sorted(rows, key=lambda r: (-r.tickets, r.name))


def top_by_fault_rate(rows: Iterable[RegionRow], n: int = 5) -> list[RegionRow]:
    """The regions with the highest fault rate (known regions with units only)."""
    ranked = [r for r in rows if r.name and r.units]
    return sorted(ranked, key=lambda r: (-(r.fault_rate.value or 0), -r.failures, r.name))[:n]


# ---------------------------------------------------------------- complaints


@dataclass(frozen=True, slots=True)
class ComplaintRow:
    """Complaint cases about one network's or product's tickets."""

    key: Any
    label: str
    cases: int
    completed: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def per_100(self) -> float | None:
        """Cases per 100 completed tickets, one decimal."""
        return round(self.cases * 100 / self.completed, 1) if self.completed else None


def complaints_by(session: Session, f: Filters, *, by: str) -> list[ComplaintRow]:
    """Complaint cases, completed tickets and the cases' reasons per network or product."""
    col = c.network_id if by == "network" else c.product
    completed: dict[Any, int] = dict(
        session.execute(
            select(col, func.count()).where(*f.where(), c.completed_ts.is_not(None)).group_by(col)
        ).all()
    )
    cases: dict[Any, Counter[str]] = defaultdict(Counter)
    stmt = (
        select(col, Complaint.reason, func.count())
        .select_from(F.join(Complaint, Complaint.ticket_id == c.ticket_id))
        .where(*f.where())
        .group_by(col, Complaint.reason)
    )
    for key, reason, n in session.execute(stmt):
        cases[key][reason] += int(n)
    names = labels(session, "network", list(completed) + list(cases)) if by == "network" else {}
    order = {r: i for i, r in enumerate(REASONS)}
    out = []
    for key in set(completed) | set(cases):
        reasons = dict(sorted(cases[key].items(), key=lambda kv: (-kv[1], order.get(kv[0], 99))))
        out.append(
            ComplaintRow(
                key=key,
                label=names.get(key, "") if by == "network" else (key or ""),
                cases=sum(reasons.values()),
                completed=int(completed.get(key, 0)),
                reasons=reasons,
            )
        )
    return sorted(out, key=lambda r: (-r.cases, -(r.completed), str(r.label)))


# ---------------------------------------------------------------- parts


@dataclass(frozen=True, slots=True)
class PartLine:
    """One part at one warehouse: demand lines, shortages and the wait for them."""

    part_id: int
    part: str
    location_id: int
    location: str
    lines: int
    shortages: int
    open_shortages: int
    waits_h: tuple[float, ...]  # fulfilled shortages, hours from order to arrival

    @property
    def fill(self) -> Rate:
        """Lines met from stock."""
        return Rate(self.lines - self.shortages, self.lines)

    @property
    def wait_mean_h(self) -> float | None:
        """Mean hours waited for a fulfilled shortage."""
        return round(statistics.fmean(self.waits_h), 1) if self.waits_h else None


def parts(session: Session, f: Filters) -> list[PartLine]:
    """Fill rate, shortage lines and waiting time per part and warehouse."""
    start, end = _bounds(f)
    scope = select(c.ticket_id).where(*f.dims()).scalar_subquery()
    held = select(
        PartReservation.ticket_id.label("ticket_id"),
        PartReservation.part_id.label("part_id"),
        PartReservation.location_id.label("location_id"),
    ).where(
        PartReservation.created_at >= start,
        PartReservation.created_at < end,
        PartReservation.ticket_id.in_(scope),
    )
    short = select(
        ShortageOrder.ticket_id.label("ticket_id"),
        ShortageOrder.part_id.label("part_id"),
        ShortageOrder.location_id.label("location_id"),
    ).where(
        ShortageOrder.created_at >= start,
        ShortageOrder.created_at < end,
        ShortageOrder.ticket_id.in_(scope),
    )
    fitted = select(
        StockMovement.ticket_id.label("ticket_id"),
        StockMovement.part_id.label("part_id"),
        StockMovement.location_id.label("location_id"),
    ).where(
        StockMovement.kind == "consume",
        StockMovement.created_at >= start,
        StockMovement.created_at < end,
        StockMovement.ticket_id.in_(scope),
    )
    # A line is a (ticket, part, warehouse); one that was short is held and fitted again on
    # arrival, so distinct lines count it once.
    lines = union_all(held, short, fitted).subquery()
    sub = select(lines.c.ticket_id, lines.c.part_id, lines.c.location_id).distinct().subquery()
    demand = select(sub.c.part_id, sub.c.location_id, func.count()).group_by(
        sub.c.part_id, sub.c.location_id
    )
    counts = {(p, loc): int(n) for p, loc, n in session.execute(demand)}
    shortages: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for row in session.execute(
        select(
            ShortageOrder.part_id,
            ShortageOrder.location_id,
            ShortageOrder.status,
            ShortageOrder.created_at,
            ShortageOrder.fulfilled_at,
        ).where(
            ShortageOrder.created_at >= start,
            ShortageOrder.created_at < end,
            ShortageOrder.ticket_id.in_(scope),
        )
    ):
        shortages[(row.part_id, row.location_id)].append(row)
    keys = set(counts) | set(shortages)
    part_names = dict(
        session.execute(
            select(Part.id, Part.name).where(Part.id.in_({p for p, _ in keys} or {0}))
        ).all()
    )
    loc_names = dict(
        session.execute(
            select(StockLocation.id, StockLocation.name).where(
                StockLocation.id.in_({loc for _, loc in keys} or {0})
            )
        ).all()
    )
    out = []
    for key in keys:
        rows = shortages.get(key, [])
        waits = tuple(
            round((r.fulfilled_at - r.created_at).total_seconds() / 3600, 2)
            for r in rows
            if r.fulfilled_at is not None
        )
        out.append(
            PartLine(
                part_id=key[0],
                part=part_names.get(key[0], ""),
                location_id=key[1],
                location=loc_names.get(key[1], ""),
                lines=max(counts.get(key, 0), len(rows)),
                shortages=len(rows),
                open_shortages=sum(1 for r in rows if r.fulfilled_at is None),
                waits_h=waits,
            )
        )
    return sorted(out, key=lambda r: (-r.shortages, -r.lines, r.part, r.location))


def parts_totals(rows: list[PartLine]) -> tuple[Rate, float | None, int]:
    """Fill rate, mean wait in hours and open shortage lines over every part line."""
    lines = sum(r.lines for r in rows)
    shorts = sum(r.shortages for r in rows)
    waits = [w for r in rows for w in r.waits_h]
    mean = round(statistics.fmean(waits), 1) if waits else None
    return Rate(lines - shorts, lines), mean, sum(r.open_shortages for r in rows)


# ---------------------------------------------------------------- quotes


@dataclass(frozen=True, slots=True)
class QuoteRow:
    """Quotes sent for one network's tickets and how soon customers decided."""

    key: int | None
    label: str
    sent: int
    accepted: int
    rejected: int
    pending: int
    hours: tuple[float, ...]  # sent → decided, per decided quote

    @property
    def mean_h(self) -> float | None:
        """Mean hours from sending to the decision."""
        return round(statistics.fmean(self.hours), 1) if self.hours else None

    @property
    def median_h(self) -> float | None:
        """Median hours from sending to the decision."""
        return round(statistics.median(self.hours), 1) if self.hours else None


def quotes(session: Session, f: Filters) -> list[QuoteRow]:
    """Quote turnaround per network; superseded and withdrawn quotes are left out (a newer
    one replaced them, or the engineer took them back, before any decision)."""
    start, end = _bounds(f)
    stmt = (
        select(c.network_id, Quote.status, Quote.created_at, Quote.decided_at)
        .select_from(F.join(Quote, Quote.ticket_id == c.ticket_id))
        .where(*f.dims(), Quote.created_at >= start, Quote.created_at < end)
        .where(Quote.status.not_in(("superseded", "withdrawn")))
    )
    groups: dict[int | None, list[Any]] = defaultdict(list)
    for row in session.execute(stmt):
        groups[row.network_id].append(row)
    names = labels(session, "network", list(groups))
    out = []
    for key, rows in groups.items():
        decided = [r for r in rows if r.decided_at is not None and r.status != "sent"]
        out.append(
            QuoteRow(
                key=key,
                label=names.get(key, ""),
                sent=len(rows),
                accepted=sum(1 for r in rows if r.status == "accepted"),
                rejected=sum(1 for r in rows if r.status == "rejected"),
                pending=sum(1 for r in rows if r.status == "sent"),
                hours=tuple(
                    round((r.decided_at - r.created_at).total_seconds() / 3600, 2) for r in decided
                ),
            )
        )
    return sorted(out, key=lambda r: (-r.sent, r.label))


def quote_totals(rows: list[QuoteRow]) -> QuoteRow:
    """Every network's quotes together."""
    hours = tuple(h for r in rows for h in r.hours)
    return QuoteRow(
        None,
        "",
        sum(r.sent for r in rows),
        sum(r.accepted for r in rows),
        sum(r.rejected for r in rows),
        sum(r.pending for r in rows),
        hours,
    )


# ---------------------------------------------------------------- repeats and R&D


@dataclass(frozen=True, slots=True)
class RepeatRow:
    """Repairs of one model with one fault code, and how many were repeats."""

    model: str
    fault_code: str
    repairs: int
    repeats: int

    @property
    def rate(self) -> Rate:
        """Repeat repairs among the repairs."""
        return Rate(self.repeats, self.repairs)


def repeats(session: Session, f: Filters) -> list[RepeatRow]:
    """Repairs and repeat repairs (≤30 days after the unit's last) by model and fault code."""
    stmt = (
        select(
            c.model_code,
            c.fault_code,
            func.count(),
            count_if(c.is_repeat.is_(True)),
        )
        .where(FAILURE, *f.where())
        .group_by(c.model_code, c.fault_code)
    )
    rows = [
        RepeatRow(m or "", code or "", int(n), int(r)) for m, code, n, r in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (-r.repeats, -r.repairs, r.model, r.fault_code))


@dataclass(frozen=True, slots=True)
class ModelFaults:
    """One model's failures: its top fault codes with their counts per bucket."""

    model: str
    failures: int
    codes: list[tuple[str, int, list[int]]]  # code, total, per bucket


def model_faults(
    session: Session, f: Filters, *, models: int = 6, codes: int = 5
) -> tuple[list[str], list[ModelFaults], int]:
    """The buckets; per model (the `models` with most failures) its top fault codes' trend;
    and how many models had failures in all (a tester read "6 models" above a board that
    listed more of them in its other tables)."""
    col = f.bucket_column
    stmt = (
        select(c.model_code, c.fault_code, col.label("b"), func.count())
        .where(FAILURE, *f.where())
        .group_by(c.model_code, c.fault_code, col)
    )
    keys = buckets(f)
    index = {b: i for i, b in enumerate(keys)}
    per: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * len(keys)))
    for model, code, b, n in session.execute(stmt):
        if b in index:
            per[model or ""][code or ""][index[b]] += int(n)
    out = []
    for model, by_code in per.items():
        totals = sorted(
            ((code, sum(v), v) for code, v in by_code.items()), key=lambda x: (-x[1], x[0])
        )
        out.append(ModelFaults(model, sum(t for _, t, _ in totals), totals[:codes]))
    out.sort(key=lambda m: (-m.failures, m.model))
    return keys, out[:models], len(out)


@dataclass(frozen=True, slots=True)
class FailedPart:
    """A part fitted on one model's repairs, and how many."""

    model: str
    part_id: int
    part: str
    quantity: int
    tickets: int


def failed_parts(session: Session, f: Filters, *, limit: int = 30) -> list[FailedPart]:
    """Parts consumed on the repair tickets (the failed parts they replaced), per model."""
    stmt = (
        select(
            c.model_code,
            StockMovement.part_id,
            func.sum(-StockMovement.on_hand_delta),
            func.count(func.distinct(StockMovement.ticket_id)),
        )
        .select_from(F.join(StockMovement, StockMovement.ticket_id == c.ticket_id))
        .where(FAILURE, *f.where(), StockMovement.kind == "consume")
        .group_by(c.model_code, StockMovement.part_id)
    )
    rows = session.execute(stmt).all()
    names = dict(
        session.execute(
            select(Part.id, Part.name).where(Part.id.in_({r[1] for r in rows} or {0}))
        ).all()
    )
    out = [FailedPart(m or "", p, names.get(p, ""), int(q or 0), int(n)) for m, p, q, n in rows]
    return sorted(out, key=lambda r: (-r.quantity, r.model, r.part))[:limit]


def first_failure_ages(session: Session, f: Filters) -> list[int]:
    """How many units first failed at 0, 1, … AGE_MONTHS−1 months after installation, and
    (last) at AGE_MONTHS or more; units without an installation date are left out."""
    first = (
        select(c.asset_id, func.min(c.created_ts).label("ts"))
        .where(FAILURE, c.asset_id.is_not(None))
        .group_by(c.asset_id)
        .subquery()
    )
    stmt = (
        select(c.age_days)
        .select_from(F.join(first, (first.c.asset_id == c.asset_id) & (first.c.ts == c.created_ts)))
        .where(FAILURE, *f.where(), c.age_days.is_not(None))
    )
    out = [0] * (AGE_MONTHS + 1)
    for (days,) in session.execute(stmt):
        months = int(max(int(days), 0) / MONTH_DAYS)
        out[min(months, AGE_MONTHS)] += 1
    return out


@dataclass(frozen=True, slots=True)
class RepeatedUnit:
    """A unit repaired again within 30 days in the period."""

    asset_id: int
    serial: str
    model: str
    repairs: int
    repeats: int
    codes: str
    last_ts: float


def repeated_units(session: Session, f: Filters, *, limit: int = 100) -> list[RepeatedUnit]:
    """Units with a repeat repair among the period's repairs, most repairs first."""
    stmt = (
        select(
            c.asset_id,
            c.model_code,
            func.count(),
            count_if(c.is_repeat.is_(True)),
            func.max(c.created_ts),
        )
        .where(FAILURE, *f.where(), c.asset_id.is_not(None))
        .group_by(c.asset_id, c.model_code)
        .having(count_if(c.is_repeat.is_(True)) > 0)
    )
    rows = session.execute(stmt).all()
    ids = [r[0] for r in rows]
    serials = dict(
        session.execute(select(Asset.id, Asset.serial_number).where(Asset.id.in_(ids or [0]))).all()
    )
    codes: dict[int, list[str]] = defaultdict(list)
    for asset_id, code in session.execute(
        select(c.asset_id, c.fault_code)
        .where(FAILURE, *f.where(), c.asset_id.in_(ids or [0]), c.fault_code != "")
        .order_by(c.created_ts)
    ):
        if code not in codes[asset_id]:
            codes[asset_id].append(code)
    out = [
        RepeatedUnit(a, serials.get(a, ""), m or "", int(n), int(r), " ".join(codes[a]), float(ts))
        for a, m, n, r, ts in rows
    ]
    return sorted(out, key=lambda u: (-u.repairs, -u.repeats, -u.last_ts))[:limit]
