"""The measures behind the dashboards, each one aggregate query over `ticket_stage_facts`.

Definitions (all over tickets created in the period unless said otherwise):

- t1–t9: `tickets.lifecycle.STAGES`, per ticket; groups show count, mean, median, p90.
- First response time: report → first accept or remote resolution.
- Time to resolve: report → last completion (on site or remote), so reopened work counts.
- On-time rates: response, arrival and completion against the ticket's SLA timers (their
  deadlines), or the default 10 min / 4 h / 24 h when a ticket has none. A ticket counts
  once its deadline was met or has passed; tickets cancelled first, and arrival for tickets
  resolved remotely, are left out.
- First-time fix: repairs completed without a reopen and without another repair of the
  same unit within 30 days of the completion.
- CSAT: share of 4–5 scores among the evaluated (last score), and the mean score.
- Complaint rate: complaint tickets over all tickets.
- Utilisation: (travel t4 + on site t5) over on-duty time, where on-duty time is the
  engineer's shift length times the days they visited customers in the period (there is no
  attendance log); tickets per engineer count those visits.
- Backlog ageing: tickets not yet completed, by age now (24/48/72/96/120 h).
- Product quality: failures are repair tickets; failure rate = failures / units installed
  by the end of the period; MTBF = unit-days in service during the period / failures;
  MTTR = mean report → resolution of those repairs; warranty classes by the unit's age
  (early failure within `early_days` of installation) and warranty end.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    cast,
    exists,
    func,
    inspect,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics.filters import LOCAL, Filters
from portal.analytics.models import TicketStageFact
from portal.analytics.sql import Spread, dialect_of, spreads
from portal.assets.models import Asset, Product, ProductModel
from portal.conversations.models import Conversation, ConversationEvent
from portal.customers.models import Customer, CustomerAddress
from portal.i18n import CHANNEL_LABELS
from portal.knowledge import service as knowledge
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


def _sum(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _ts(now: datetime) -> float:
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


# ---------------------------------------------------------------- SLA and outcome rules


def sla_rules(now_ts: float) -> dict[str, tuple[ColumnElement[bool], ColumnElement[bool]]]:
    """(counts, on time) per deadline kind, as conditions on the facts."""
    return {
        "response": (
            and_(
                c.response_due_ts.is_not(None),
                or_(
                    c.responded_ts.is_not(None),
                    and_(c.status != "cancelled", c.response_due_ts < now_ts),
                ),
            ),
            and_(c.responded_ts.is_not(None), c.responded_ts <= c.response_due_ts),
        ),
        "arrival": (
            and_(
                c.arrival_due_ts.is_not(None),
                or_(
                    c.arrived_ts.is_not(None),
                    and_(c.status.in_(BEFORE_ARRIVAL), c.arrival_due_ts < now_ts),
                ),
            ),
            and_(c.arrived_ts.is_not(None), c.arrived_ts <= c.arrival_due_ts),
        ),
        "completion": (
            and_(
                c.resolution_due_ts.is_not(None),
                or_(
                    c.completed_ts.is_not(None),
                    and_(c.status.in_(OPEN), c.resolution_due_ts < now_ts),
                ),
            ),
            and_(c.completed_ts.is_not(None), c.completed_ts <= c.resolution_due_ts),
        ),
    }


FTF_COUNTS = and_(c.type == "repair", c.completed_ts.is_not(None))
FTF_OK = and_(FTF_COUNTS, c.reopen_count == 0, c.repeated.is_(False))


def kpi_columns(now_ts: float) -> list[Any]:
    """The aggregate columns of the headline KPIs."""
    cols: list[Any] = [func.count().label("tickets")]
    for kind, (counts, ok) in sla_rules(now_ts).items():
        cols += [_sum(ok).label(f"{kind}_ok"), _sum(counts).label(f"{kind}_n")]
    cols += [
        _sum(FTF_OK).label("ftf_ok"),
        _sum(FTF_COUNTS).label("ftf_n"),
        _sum(c.score >= 4).label("csat_good"),
        func.count(c.score).label("csat_n"),
        func.avg(c.score).label("csat_mean"),
        _sum(c.type == "complaint").label("complaints"),
        _sum(c.escalated.is_(True)).label("escalated"),
        _sum(c.remote.is_(True)).label("remote"),
        _sum(c.bot_intake.is_(True)).label("bot_intake"),
        func.avg(c.responded_ts - c.created_ts).label("frt_mean"),
        func.avg(c.resolved_ts - c.created_ts).label("ttr_mean"),
        func.count(c.resolved_ts).label("resolved"),
    ]
    return cols


@dataclass(frozen=True, slots=True)
class Kpis:
    """The headline measures of one group of tickets."""

    tickets: int
    response: Rate
    arrival: Rate
    completion: Rate
    ftf: Rate
    csat: Rate
    csat_mean: float | None
    complaints: Rate
    escalated: int
    remote: Rate
    bot_intake: Rate
    frt_mean: float | None
    ttr_mean: float | None
    resolved: int

    @classmethod
    def of(cls, row: Any) -> Kpis:
        """From a row of `kpi_columns`."""
        n = int(row["tickets"] or 0)

        def rate(key: str) -> Rate:
            return Rate(int(row[f"{key}_ok"] or 0), int(row[f"{key}_n"] or 0))

        return cls(
            tickets=n,
            response=rate("response"),
            arrival=rate("arrival"),
            completion=rate("completion"),
            ftf=rate("ftf"),
            csat=Rate(int(row["csat_good"] or 0), int(row["csat_n"] or 0)),
            csat_mean=_float(row["csat_mean"]),
            complaints=Rate(int(row["complaints"] or 0), n),
            escalated=int(row["escalated"] or 0),
            remote=Rate(int(row["remote"] or 0), n),
            bot_intake=Rate(int(row["bot_intake"] or 0), n),
            frt_mean=_float(row["frt_mean"]),
            ttr_mean=_float(row["ttr_mean"]),
            resolved=int(row["resolved"] or 0),
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------- overview and trends


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
    row = session.execute(select(*kpi_columns(_ts(now))).where(*f.where())).mappings().one()
    return Kpis.of(row)


def overview(session: Session, f: Filters, *, now: datetime) -> Overview:
    """Headline KPIs, the spread of response, resolution and the nine stages (one pass over
    the values), backlog size."""
    measures = {
        "frt": c.responded_ts - c.created_ts,
        "ttr": c.resolved_ts - c.created_ts,
        **{name: c[name] for name in STAGE_NAMES},
    }
    found = spreads(session, table=F, measures=measures, where=f.where())
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
    col = dimension_column(f, by)
    stmt = select(col.label("g"), *kpi_columns(_ts(now))).where(*f.where()).group_by(col)
    rows = session.execute(stmt).mappings().all()
    names = labels(session, by, [r["g"] for r in rows])
    out = [GroupKpis(r["g"], names.get(r["g"], _plain(r["g"])), Kpis.of(r)) for r in rows]
    if by == "period":
        return sorted(out, key=lambda g: str(g.key))
    return sorted(out, key=lambda g: (-g.kpis.tickets, str(g.label)))


def trend(session: Session, f: Filters, *, now: datetime) -> list[GroupKpis]:
    """The headline KPIs per day / week / month of the period, every bucket present."""
    found = {g.key: g for g in kpis_by(session, f, by="period", now=now)}
    empty = Kpis.of(defaultdict(lambda: None))
    return [found.get(b) or GroupKpis(b, b, empty) for b in buckets(f)]


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


# ---------------------------------------------------------------- EIE


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


@dataclass(frozen=True, slots=True)
class EieRow:
    """The nine stages of one group."""

    key: Any
    label: str
    tickets: int
    stages: dict[str, Spread]


def eie(session: Session, f: Filters, *, by: str | None = None) -> list[EieRow]:
    """t1–t9 count, mean, median and p90 per value of a dimension (overall without one)."""
    col = dimension_column(f, by) if by else None
    measures = {name: c[name] for name in STAGE_NAMES}
    found = spreads(session, table=F, measures=measures, where=f.where(), group=col)
    counts_stmt = select((col if col is not None else literal(None)).label("g"), func.count())
    counts_stmt = counts_stmt.where(*f.where())
    if col is not None:
        counts_stmt = counts_stmt.group_by(col)
    counts = {g: int(n) for g, n in session.execute(counts_stmt)}
    keys = set(counts) | {g for g, _ in found}
    names = labels(session, by, list(keys)) if by else {}
    empty = Spread(0, None, None, None)
    rows = [
        EieRow(
            key=g,
            label=names.get(g, _plain(g)),
            tickets=counts.get(g, 0),
            stages={s: found.get((g, s), empty) for s in STAGE_NAMES},
        )
        for g in keys
    ]
    if by == "period":
        return sorted(rows, key=lambda r: str(r.key))
    return sorted(rows, key=lambda r: (-r.tickets, str(r.label)))


@dataclass(frozen=True, slots=True)
class Indicator:
    """One EIE indicator of a stage: which one, its share, and the drill-down measure."""

    key: str
    rate: Rate
    measure: str = ""


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One stage of the EIE scorecard: efficiency (duration), intelligence, experience."""

    stage: str
    spread: Spread
    intelligence: Indicator | None
    experience: Indicator | None


def scorecard(session: Session, f: Filters, *, now: datetime) -> list[ScoreRow]:
    """The EIE model: per stage, its duration and the indicators the model pairs with it."""
    overall = eie(session, f)
    stages = overall[0].stages if overall else {}
    k = kpis(session, f, now=now)
    extra = (
        session.execute(
            select(
                _sum(c.dispatches > 0).label("dispatched"),
                _sum(and_(c.dispatches == 1, c.rejects == 0)).label("dispatched_once"),
                _sum(c.rejects > 0).label("rejected"),
                _sum(c.completed_ts.is_not(None) & c.remote.is_(False)).label("done"),
                _sum(c.eval_requested.is_(True)).label("eval_requested"),
                _sum(c.t8.is_not(None)).label("settle_requested"),
                _sum(c.settled_ts.is_not(None)).label("settled"),
            ).where(*f.where())
        )
        .mappings()
        .one()
    )
    dispatched = int(extra["dispatched"] or 0)
    done = int(extra["done"] or 0)
    evaluated = k.csat.den
    ind = Indicator
    pairs: dict[str, tuple[Indicator | None, Indicator | None]] = {
        "t1": (ind("remote", k.remote, "remote"), ind("response", k.response, "response:late")),
        "t2": (
            ind("dispatch_once", Rate(int(extra["dispatched_once"] or 0), dispatched), ""),
            ind("rejects", Rate(int(extra["rejected"] or 0), dispatched), "rejected"),
        ),
        "t3": (
            ind("utilisation", utilisation(people(session, f, with_spread=False)), "visits"),
            None,
        ),
        "t4": (None, ind("arrival", k.arrival, "arrival:late")),
        "t5": (ind("ftf", k.ftf, "ftf:fail"), ind("completion", k.completion, "completion:late")),
        "t6": (ind("eval_requested", Rate(int(extra["eval_requested"] or 0), done), ""), None),
        "t7": (ind("evaluated", Rate(evaluated, done), ""), ind("csat", k.csat, "csat:low")),
        "t8": (
            ind("settle_requested", Rate(int(extra["settle_requested"] or 0), evaluated), ""),
            None,
        ),
        "t9": (
            ind("settled", Rate(int(extra["settled"] or 0), int(extra["settle_requested"] or 0))),
            None,
        ),
    }
    empty = Spread(0, None, None, None)
    return [ScoreRow(s, stages.get(s, empty), pairs[s][0], pairs[s][1]) for s in STAGE_NAMES]


# ---------------------------------------------------------------- backlog and exceptions


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
    edge = age_bucket(_ts(now))
    stmt = (
        select(c.network_id, edge.label("edge"), func.count())
        .where(c.status.in_(OPEN), *f.dims())
        .group_by(c.network_id, edge)
    )
    out: dict[Any, dict[int, int]] = {}
    for network_id, lower, n in session.execute(stmt):
        row = out.setdefault(network_id, {e: 0 for e in (0, *AGE_EDGES_H)})
        row[int(lower)] += int(n)
    return Backlog(out, labels(session, "network", list(out)))


def abnormal_condition(kind: str, now_ts: float) -> ColumnElement[bool]:
    """Which open tickets are exceptional in this way."""
    if kind == "overdue":
        return and_(c.status.in_(OPEN), c.resolution_due_ts < now_ts)
    if kind == "not_arrived":
        return and_(c.status.in_(NOT_ARRIVED), c.arrived_ts.is_(None), c.arrival_due_ts < now_ts)
    if kind == "waiting_parts":
        return c.status == "waiting_parts"
    if kind == "vip":
        vip = select(Customer.id).where(Customer.tier == "vip")
        return and_(c.status.in_(OPEN), c.type == "repair", c.customer_id.in_(vip))
    raise ValueError(kind)


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
    now_ts = _ts(now)
    counts_stmt = select(
        *[_sum(abnormal_condition(k, now_ts)).label(k) for k in ABNORMAL_KINDS]
    ).where(c.status.in_(OPEN), *f.dims())
    row = session.execute(counts_stmt).mappings().one()
    counts = {k: int(row[k] or 0) for k in ABNORMAL_KINDS}
    kind = kind if kind in ABNORMAL_KINDS else "overdue"
    found, _ = ticket_rows(session, f, measure=f"abnormal:{kind}", now=now, page=1, page_size=limit)
    return Abnormal(counts, kind, found)


# ---------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class EngineerRow:
    """One engineer's work in the period."""

    engineer_id: int
    name: str
    network: str
    visits: int
    days: int
    travel_s: float
    onsite_s: float
    shift_s: float
    t3: Spread
    t4: Spread
    t5: Spread
    ftf: Rate
    csat_mean: float | None

    @property
    def utilisation(self) -> float | None:
        """Travel and on-site time over on-duty time."""
        duty = self.days * self.shift_s
        return (self.travel_s + self.onsite_s) / duty if duty else None

    @property
    def per_day(self) -> float | None:
        """Visits per day on duty."""
        return self.visits / self.days if self.days else None


def _visit_where(f: Filters) -> list[ColumnElement[bool]]:
    conds = [
        c.engineer_id.is_not(None),
        c.visit_day >= f.start.isoformat(),
        c.visit_day <= f.end.isoformat(),
        *f.dims(),
    ]
    if f.bucket:
        conds.append(f.bucket_column == f.bucket)
    return conds


def people(session: Session, f: Filters, *, with_spread: bool = True) -> list[EngineerRow]:
    """Per engineer who visited customers in the period: visits, time use, stages, quality
    (without `with_spread`, the t3–t5 medians are left empty: one query fewer)."""
    where = _visit_where(f)
    stmt = (
        select(
            c.engineer_id,
            func.count().label("visits"),
            func.count(func.distinct(c.visit_day)).label("days"),
            func.coalesce(func.sum(c.t4), 0.0).label("travel"),
            func.coalesce(func.sum(c.t5), 0.0).label("onsite"),
            _sum(FTF_OK).label("ftf_ok"),
            _sum(FTF_COUNTS).label("ftf_n"),
            func.avg(c.score).label("csat_mean"),
        )
        .where(*where)
        .group_by(c.engineer_id)
    )
    rows = session.execute(stmt).mappings().all()
    found = (
        spreads(
            session,
            table=F,
            measures={"t3": c.t3, "t4": c.t4, "t5": c.t5},
            where=where,
            group=c.engineer_id,
        )
        if with_spread
        else {}
    )
    ids = [int(r["engineer_id"]) for r in rows]
    engineers = {
        e.id: e
        for e in session.execute(
            select(
                Engineer.id,
                Engineer.name,
                Engineer.work_start,
                Engineer.work_end,
                ServiceNetwork.name.label("network"),
            )
            .join(ServiceNetwork, ServiceNetwork.id == Engineer.network_id)
            .where(Engineer.id.in_(ids))
        )
    }
    empty = Spread(0, None, None, None)
    out = []
    for r in rows:
        eid = int(r["engineer_id"])
        e = engineers.get(eid)
        out.append(
            EngineerRow(
                engineer_id=eid,
                name=e.name if e else str(eid),
                network=e.network if e else "",
                visits=int(r["visits"]),
                days=int(r["days"]),
                travel_s=float(r["travel"]),
                onsite_s=float(r["onsite"]),
                shift_s=_shift_seconds(e.work_start, e.work_end) if e else 8 * 3600.0,
                t3=found.get((eid, "t3"), empty),
                t4=found.get((eid, "t4"), empty),
                t5=found.get((eid, "t5"), empty),
                ftf=Rate(int(r["ftf_ok"]), int(r["ftf_n"])),
                csat_mean=_float(r["csat_mean"]),
            )
        )
    return sorted(out, key=lambda e: (-e.visits, e.name))


def utilisation(rows: Sequence[EngineerRow]) -> Rate:
    """Travel and on-site time over on-duty time, all engineers together (seconds)."""
    busy = sum(r.travel_s + r.onsite_s for r in rows)
    duty = sum(r.days * r.shift_s for r in rows)
    return Rate(round(busy), round(duty))


def _shift_seconds(start: time | str | None, end: time | str | None) -> float:
    def seconds(value: time | str | None) -> float:
        if value is None:
            return 0.0
        if isinstance(value, str):
            value = time.fromisoformat(value)
        return value.hour * 3600 + value.minute * 60 + value.second

    span = seconds(end) - seconds(start)
    return span if span > 0 else 8 * 3600.0


@dataclass(frozen=True, slots=True)
class NetworkStaff:
    """A network's engineers and the visits they made."""

    network_id: int
    name: str
    engineers: int
    on_duty: int
    active: int
    visits: int

    @property
    def per_engineer(self) -> float | None:
        """Visits per engineer of the network."""
        return self.visits / self.engineers if self.engineers else None


def staffing(session: Session, f: Filters, rows: Sequence[EngineerRow]) -> list[NetworkStaff]:
    """Per network: engineers, on duty now, active in the period, visits, visits each."""
    stmt = (
        select(
            ServiceNetwork.id,
            ServiceNetwork.name,
            func.count(Engineer.id),
            _sum(Engineer.on_duty.is_(True)),
        )
        .join(Engineer, Engineer.network_id == ServiceNetwork.id, isouter=True)
        .group_by(ServiceNetwork.id, ServiceNetwork.name)
        .order_by(ServiceNetwork.id)
    )
    if f.network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == f.network_id)
    if f.city:
        stmt = stmt.where(ServiceNetwork.city == f.city)
    network_of = dict(
        session.execute(
            select(Engineer.id, Engineer.network_id).where(
                Engineer.id.in_([r.engineer_id for r in rows])
            )
        ).all()
    )
    visits: dict[int, int] = defaultdict(int)
    active: dict[int, int] = defaultdict(int)
    for r in rows:
        nid = network_of.get(r.engineer_id)
        if nid is not None:
            visits[nid] += r.visits
            active[nid] += 1
    return [
        NetworkStaff(nid, name, int(n), int(on or 0), active[nid], visits[nid])
        for nid, name, n, on in session.execute(stmt)
    ]


# ---------------------------------------------------------------- product quality


@dataclass(frozen=True, slots=True)
class QualityRow:
    """Failures of one product, model or region against its installed units."""

    key: str
    label: str
    failures: int
    repeats: int
    units: int
    unit_days: float = 0.0
    ttr_mean: float | None = None
    t5_mean: float | None = None

    @property
    def rate(self) -> Rate:
        """Failures per installed unit."""
        return Rate(self.failures, self.units)

    @property
    def repeat_rate(self) -> Rate:
        """Repeat repairs among the failures."""
        return Rate(self.repeats, self.failures)

    @property
    def mtbf_days(self) -> float | None:
        """Unit-days in service per failure."""
        return self.unit_days / self.failures if self.failures and self.unit_days else None


FAILURE = c.type == "repair"


def _failures(session: Session, f: Filters, col: Any) -> dict[str, dict[str, Any]]:
    stmt = (
        select(
            col.label("g"),
            func.count().label("failures"),
            _sum(c.is_repeat.is_(True)).label("repeats"),
            func.avg(c.resolved_ts - c.created_ts).label("ttr"),
            func.avg(c.t5).label("t5"),
        )
        .where(FAILURE, *f.where())
        .group_by(col)
    )
    return {str(r["g"]): dict(r) for r in session.execute(stmt).mappings()}


def _installed(session: Session, f: Filters, by: str) -> dict[str, tuple[int, float]]:
    """Units installed by the period's end, and their days in service within it, per group."""
    d = dialect_of(session)
    key = {"product": Product.category, "model": ProductModel.code, "city": CustomerAddress.city}[
        by
    ]
    start, end = f.start, f.end + timedelta(days=1)
    if d.pg:
        days = literal(end) - func.greatest(Asset.install_date, literal(start))
    else:
        days = func.julianday(end.isoformat()) - func.julianday(
            func.max(Asset.install_date, start.isoformat())
        )
    stmt = (
        select(key.label("g"), func.count(Asset.id), cast(func.sum(days), Float))
        .select_from(Asset)
        .join(ProductModel, ProductModel.id == Asset.model_id)
        .join(Product, Product.id == ProductModel.product_id)
        .join(CustomerAddress, CustomerAddress.id == Asset.address_id, isouter=True)
        .where(Asset.install_date.is_not(None), Asset.install_date < end)
        .group_by(key)
    )
    if f.product:
        stmt = stmt.where(Product.category == f.product)
    if f.model_code:
        stmt = stmt.where(ProductModel.code == f.model_code)
    if f.city:
        stmt = stmt.where(CustomerAddress.city == f.city)
    out: dict[str, tuple[int, float]] = {}
    for g, n, unit_days in session.execute(stmt):
        out[str(g)] = (int(n), float(unit_days or 0))
    return out


def quality(session: Session, f: Filters, *, by: str) -> list[QualityRow]:
    """Failures, failure rate, repeats, MTBF and MTTR per product, model or city."""
    col = {"product": c.product, "model": c.model_code, "city": c.city}[by]
    fails = _failures(session, f, col)
    base = _installed(session, f, by)
    names = _model_names(session) if by == "model" else {}
    out = []
    for key in set(fails) | set(base):
        row = fails.get(key, {})
        units, unit_days = base.get(key, (0, 0.0))
        if not row and not units:
            continue
        label = f"{key} {names[key]}" if key in names else key
        out.append(
            QualityRow(
                key=key,
                label=label or "—",
                failures=int(row.get("failures") or 0),
                repeats=int(row.get("repeats") or 0),
                units=units,
                unit_days=unit_days,
                ttr_mean=_float(row.get("ttr")),
                t5_mean=_float(row.get("t5")),
            )
        )
    return sorted(out, key=lambda r: (-r.failures, r.key))


def _model_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(ProductModel.code, ProductModel.name)).all())


@dataclass(frozen=True, slots=True)
class FaultCode:
    """A fault code and how often it was reported, and on which product most."""

    code: str
    count: int
    product: str


def fault_codes(session: Session, f: Filters, *, limit: int = 15) -> list[FaultCode]:
    """The most reported fault codes (E21, F3 …) in the fault descriptions."""
    stmt = (
        select(c.fault_code, c.product, func.count().label("n"))
        .where(c.fault_code != "", *f.where())
        .group_by(c.fault_code, c.product)
    )
    totals: dict[str, int] = defaultdict(int)
    top: dict[str, tuple[int, str]] = {}
    for code, product, n in session.execute(stmt):
        totals[code] += int(n)
        if code not in top or int(n) > top[code][0]:
            top[code] = (int(n), product)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [FaultCode(code, n, top[code][1]) for code, n in ranked]


def warranty_class(early_days: int) -> Any:
    """early / in / out / unknown, from the unit's age and warranty end at the report."""
    return case(
        (c.age_days.is_(None) & c.warranty_days_left.is_(None), "unknown"),
        (c.age_days <= early_days, "early"),
        (c.warranty_days_left >= 0, "in"),
        (c.warranty_days_left < 0, "out"),
        else_="unknown",
    )


def warranty_trend(session: Session, f: Filters, *, early_days: int = EARLY_DAYS) -> dict[str, Any]:
    """Failures per bucket of the period by warranty class; keys: the classes + "buckets"."""
    cls = warranty_class(early_days)
    col = f.bucket_column
    stmt = (
        select(col.label("b"), cls.label("k"), func.count())
        .where(FAILURE, *f.where())
        .group_by(col, cls)
    )
    keys = buckets(f)
    index = {b: i for i, b in enumerate(keys)}
    out: dict[str, list[int]] = {k: [0] * len(keys) for k in WARRANTY_CLASSES}
    for b, k, n in session.execute(stmt):
        if b in index:
            out[k][index[b]] += int(n)
    return {"buckets": keys, **out}


# ---------------------------------------------------------------- bot, FAQ, parts


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A customer question the FAQ had nothing good enough for, and how often it came."""

    query: str
    count: int


@dataclass(frozen=True, slots=True)
class BotFigures:
    """What the bot handled alone and what went to a person; what the FAQ could answer."""

    conversations: int
    with_agent: int
    # FAQ searches by customers and the bot in the period: answered directly / all of them.
    faq: Rate = field(default_factory=lambda: Rate(0, 0))
    faq_suggested: int = 0  # searches that got suggestions instead of one answer
    unanswered: tuple[Unanswered, ...] = ()

    @property
    def containment(self) -> Rate:
        """Conversations that never reached a person."""
        return Rate(self.conversations - self.with_agent, self.conversations)

    @property
    def handoff(self) -> Rate:
        """Conversations handed to (or queued for) a person."""
        return Rate(self.with_agent, self.conversations)

    @property
    def faq_available(self) -> bool:
        """Whether anybody searched the FAQ in the period."""
        return self.faq.den > 0


def bot(session: Session, f: Filters, *, unanswered: int = 10) -> BotFigures:
    """Conversations started in the period on the chosen channel: bot-only vs with an agent;
    the FAQ's answer rate and its most asked unanswered questions (all channels and places:
    the search log knows neither)."""
    conv = Conversation.__table__.c
    start = datetime.combine(f.start, time(0), tzinfo=LOCAL)
    end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LOCAL)
    human_event = exists(
        select(ConversationEvent.id).where(
            ConversationEvent.conversation_id == conv.id,
            ConversationEvent.to_state.in_(("waiting", "agent")),
        )
    )
    human = or_(
        conv.state.in_(("waiting", "agent")),
        conv.agent_id.is_not(None),
        conv.accepted_at.is_not(None),
        human_event,
    )
    stmt = select(func.count(), _sum(human)).where(conv.created_at >= start, conv.created_at < end)
    if f.channel:
        stmt = stmt.where(conv.channel == f.channel)
    total, agent = session.execute(stmt).one()
    faq = knowledge.answer_rate(session, since=start, until=end)
    top = knowledge.top_unanswered(session, since=start, until=end, limit=unanswered)
    return BotFigures(
        int(total or 0),
        int(agent or 0),
        faq=Rate(faq.answered, faq.searches),
        faq_suggested=faq.suggested,
        unanswered=tuple(Unanswered(a.query, a.count) for a in top),
    )


@dataclass(frozen=True, slots=True)
class PartsFill:
    """Parts needs met from stock without a shortage order; `source` says from what."""

    rate: Rate
    source: str  # "ledger" (reservations and shortage orders) | "events" | "none"


def _has_tables(session: Session, *names: str) -> bool:
    inspector = inspect(session.connection())
    return all(inspector.has_table(name) for name in names)


def parts_fill(session: Session, f: Filters) -> PartsFill:
    """Share of part needs met from stock: from the parts ledger when it has any in the
    period, else from the tickets (parts used on completion vs waiting for parts)."""
    if _has_tables(session, "part_reservations", "shortage_orders"):
        try:
            from portal.parts.models import PartReservation, ShortageOrder
        except ImportError:  # the inventory domain is not installed
            PartReservation = ShortageOrder = None  # type: ignore[assignment,misc]  # noqa: N806
        if PartReservation is not None and ShortageOrder is not None:
            start = datetime.combine(f.start, time(0), tzinfo=LOCAL)
            end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LOCAL)
            scope = select(c.ticket_id).where(*f.dims())
            needs = (
                select(PartReservation.ticket_id, PartReservation.part_id)
                .where(PartReservation.created_at >= start, PartReservation.created_at < end)
                .union(
                    select(ShortageOrder.ticket_id, ShortageOrder.part_id).where(
                        ShortageOrder.created_at >= start, ShortageOrder.created_at < end
                    )
                )
                .subquery()
            )
            short = exists(
                select(ShortageOrder.id).where(
                    ShortageOrder.ticket_id == needs.c.ticket_id,
                    ShortageOrder.part_id == needs.c.part_id,
                )
            )
            total, shorts = session.execute(
                select(func.count(), _sum(short)).where(needs.c.ticket_id.in_(scope))
            ).one()
            if total:
                return PartsFill(Rate(int(total) - int(shorts or 0), int(total)), "ledger")
    total, waited = session.execute(
        select(_sum(c.parts_needed.is_(True)), _sum(c.parts_waited.is_(True))).where(*f.where())
    ).one()
    if not total:
        return PartsFill(Rate(0, 0), "none")
    return PartsFill(Rate(int(total) - int(waited or 0), int(total)), "events")


# ---------------------------------------------------------------- drill-down


MEASURES = (
    "all",
    "frt",
    "ttr",
    "response:late",
    "response:ok",
    "arrival:late",
    "arrival:ok",
    "completion:late",
    "completion:ok",
    "ftf:fail",
    "ftf:ok",
    "csat:low",
    "csat:good",
    "csat:all",
    "complaint",
    "escalated",
    "remote",
    "bot_intake",
    "rejected",
    "backlog",
    "failures",
    "repeat",
    "visits",
)
# Measures about the tickets open now: the period does not apply to them.
NOW_MEASURES = ("backlog", "abnormal")


@dataclass(frozen=True, slots=True)
class Drill:
    """What a drill-down measure selects, what it shows and how it sorts."""

    where: list[ColumnElement[bool]]
    value: Any  # shown in the "value" column (seconds, a score, hours of age)
    unit: str  # "s" (a duration), "score", "h" (age) or ""
    order: list[Any] = field(default_factory=list)


def drill(f: Filters, measure: str, *, now: datetime, early_days: int = EARLY_DAYS) -> Drill:
    """The conditions of a drill-down measure (unknown ones select every ticket)."""
    now_ts = _ts(now)
    head, _, arg = measure.partition(":")
    period = f.where()
    age = (literal(now_ts) - c.created_ts) / 3600.0
    if head == "stage" and arg in STAGE_NAMES:
        return Drill([*period, c[arg].is_not(None)], c[arg], "s", [c[arg].desc()])
    if head in ("response", "arrival", "completion") and arg in ("late", "ok"):
        counts, ok = sla_rules(now_ts)[head]
        cond = ok if arg == "ok" else and_(counts, ~ok)
        due = {
            "response": c.response_due_ts,
            "arrival": c.arrival_due_ts,
            "completion": c.resolution_due_ts,
        }[head]
        done = {"response": c.responded_ts, "arrival": c.arrived_ts, "completion": c.completed_ts}[
            head
        ]
        late = func.coalesce(done, now_ts) - due
        return Drill([*period, cond], late, "s", [late.desc()])
    if head == "backlog":
        conds = [c.status.in_(OPEN), *f.dims()]
        low, _, high = arg.partition("-")
        if low.isdigit():
            conds.append(age >= int(low))
        if high.isdigit():
            conds.append(age < int(high))
        return Drill(conds, age, "h", [c.created_ts])
    if head == "abnormal" and arg in ABNORMAL_KINDS:
        cond = abnormal_condition(arg, now_ts)
        return Drill([cond, *f.dims()], age, "h", [c.created_ts])
    if head == "visits":
        return Drill(_visit_where(f), c.t5, "s", [c.visit_day.desc()])
    simple: dict[str, tuple[ColumnElement[bool], Any, str]] = {
        "frt": (c.responded_ts.is_not(None), c.responded_ts - c.created_ts, "s"),
        "ttr": (c.resolved_ts.is_not(None), c.resolved_ts - c.created_ts, "s"),
        "ftf:fail": (and_(FTF_COUNTS, ~FTF_OK), c.score, "score"),
        "ftf:ok": (FTF_OK, c.score, "score"),
        "csat:low": (c.score <= 3, c.score, "score"),
        "csat:good": (c.score >= 4, c.score, "score"),
        "csat:all": (c.score.is_not(None), c.score, "score"),
        "complaint": (c.type == "complaint", c.score, "score"),
        "escalated": (c.escalated.is_(True), c.score, "score"),
        "remote": (c.remote.is_(True), c.responded_ts - c.created_ts, "s"),
        "bot_intake": (c.bot_intake.is_(True), c.responded_ts - c.created_ts, "s"),
        "rejected": (c.rejects > 0, c.t2, "s"),
        "failures": (FAILURE, c.resolved_ts - c.created_ts, "s"),
        "repeat": (c.is_repeat.is_(True), c.resolved_ts - c.created_ts, "s"),
    }
    if measure in simple:
        cond, value, unit = simple[measure]
        order = [value.desc()] if unit == "s" else [c.created_ts.desc()]
        return Drill([*period, cond], value, unit, order)
    if head == "fault" and arg:
        return Drill([*period, c.fault_code == arg.upper()[:16]], c.score, "score")
    if head == "warranty" and arg in WARRANTY_CLASSES:
        cond = and_(FAILURE, warranty_class(early_days) == arg)
        return Drill([*period, cond], c.age_days, "d")
    return Drill(period, c.resolved_ts - c.created_ts, "s")


def ticket_rows(
    session: Session,
    f: Filters,
    *,
    measure: str,
    now: datetime,
    page: int = 1,
    page_size: int = 50,
    early_days: int = EARLY_DAYS,
) -> tuple[list[dict[str, Any]], int]:
    """The tickets behind a figure (one page) and how many there are."""
    spec = drill(f, measure, now=now, early_days=early_days)
    total = session.scalar(select(func.count()).select_from(F).where(*spec.where)) or 0
    stmt = (
        select(
            c.ticket_id,
            c.number,
            c.type,
            c.status,
            c.product,
            c.model_code,
            c.city,
            c.channel,
            c.network_id,
            c.engineer_id,
            c.created_ts,
            c.score,
            c.fault_code,
            spec.value.label("value"),
        )
        .where(*spec.where)
        .order_by(*spec.order, c.ticket_id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    networks = labels(session, "network", [r["network_id"] for r in rows])
    engineers = labels(session, "engineer", [r["engineer_id"] for r in rows])
    for r in rows:
        r["network"] = networks.get(r["network_id"], "")
        r["engineer"] = engineers.get(r["engineer_id"], "")
        r["created_at"] = datetime.fromtimestamp(r["created_ts"], LOCAL)
        r["unit"] = spec.unit
    return rows, int(total)


# ---------------------------------------------------------------- names and options


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
            session.execute(select(Engineer.id, Engineer.name).where(Engineer.id.in_(ids))).all()
        )
    return {}


def _plain(value: Any) -> str:
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


# ---------------------------------------------------------------- CSV


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
