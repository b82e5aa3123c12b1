"""Engineers' figures: jobs, times, first-time fix, utilisation, and staffing per network.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    func,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics import rollups
from portal.analytics.filters import Filters
from portal.analytics.measures import (
    F,
    Rate,
    c,
    count_if,
)
from portal.analytics.rules import (
    FTF_COUNTS,
    FTF_OK,
    as_float,
)
from portal.analytics.sql import Spread, spreads
from portal.networks.models import Attendance, Engineer, ServiceNetwork


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


def visit_where(f: Filters) -> list[ColumnElement[bool]]:
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
    (without `with_spread`, the t3–t5 medians are left empty: one query fewer).

    From the visits' column arrays (exact seconds; medians and p90 within `rollups.ALPHA`,
    see `rollups.visit_spreads`); with a period bucket (a drill-down from
    a trend of creation days), from the facts."""
    if not f.bucket:
        return _people_from_columns(session, f, with_spread=with_spread)
    return people_exact(session, f, with_spread=with_spread)


def people_exact(session: Session, f: Filters, *, with_spread: bool = True) -> list[EngineerRow]:
    """`people` from the fact rows (what the tests compare the column arrays against)."""
    where = visit_where(f)
    stmt = (
        select(
            c.engineer_id,
            func.count().label("visits"),
            func.count(func.distinct(c.visit_day)).label("days"),
            func.coalesce(func.sum(c.t4), 0.0).label("travel"),
            func.coalesce(func.sum(c.t5), 0.0).label("onsite"),
            count_if(FTF_OK).label("ftf_ok"),
            count_if(FTF_COUNTS).label("ftf_n"),
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
    return _rows(session, rows, found)


def _people_from_columns(session: Session, f: Filters, *, with_spread: bool) -> list[EngineerRow]:
    fr = rollups.visits_frame(session, f)
    size = len(fr.keys)
    g = fr.groups
    cols = fr.columns
    visits = np.bincount(g, minlength=size)
    days = rollups.distinct_days(fr, size)

    def total(name: str) -> np.ndarray:
        v = cols[name].astype(np.float64)
        return np.bincount(g, weights=np.nan_to_num(v), minlength=size)

    score = cols["score"].astype(np.float64)
    scored = np.bincount(g, weights=~np.isnan(score), minlength=size)
    score_sum = total("score")
    spread_of: dict[str, Any] = {}
    if with_spread:
        for name in ("t3", "t4", "t5"):
            spread_of[name] = rollups.visit_spreads(g, cols[name], size)
    rows = []
    found: dict[tuple[Any, str], Spread] = {}
    travel, onsite = total("t4"), total("t5")
    ftf_ok, ftf_n = total("ftf_ok"), total("ftf_n")
    for i, key in enumerate(fr.keys):
        if key is None or not visits[i]:
            continue
        rows.append(
            {
                "engineer_id": key,
                "visits": int(visits[i]),
                "days": int(days[i]),
                "travel": float(travel[i]),
                "onsite": float(onsite[i]),
                "ftf_ok": int(ftf_ok[i]),
                "ftf_n": int(ftf_n[i]),
                "csat_mean": float(score_sum[i] / scored[i]) if scored[i] else None,
            }
        )
        for name, (n, mean, p50, p90) in spread_of.items():
            k = int(n[i])
            found[(key, name)] = Spread(
                k,
                float(mean[i]) if k else None,
                float(p50[i]) if k else None,
                float(p90[i]) if k else None,
            )
    return _rows(session, rows, found)


def team_utilisation(session: Session, f: Filters) -> Rate:
    """`utilisation` of every engineer who visited customers in the period, reading only
    the visits' travel and on-site times (the scorecard's figure)."""
    if f.bucket:
        return utilisation(people_exact(session, f, with_spread=False))
    fr = rollups.frame(session, f, basis="v", names=["t4", "t5"], by="engineer")
    size = len(fr.keys)
    g = fr.groups
    busy = np.bincount(
        g,
        weights=np.nan_to_num(fr.columns["t4"]) + np.nan_to_num(fr.columns["t5"]),
        minlength=size,
    )
    days = rollups.distinct_days(fr, size)
    shifts = _shifts(session)
    duty = sum(
        int(days[i]) * shifts.get(key, 8 * 3600.0)
        for i, key in enumerate(fr.keys)
        if key is not None
    )
    done = sum(float(busy[i]) for i, key in enumerate(fr.keys) if key is not None)
    return Rate(round(done), round(duty))


def _shifts(session: Session) -> dict[int, float]:
    return {
        eid: _shift_seconds(start, end)
        for eid, start, end in session.execute(
            select(Engineer.id, Engineer.work_start, Engineer.work_end)
        )
    }


def _rows(
    session: Session, rows: Sequence[Any], found: dict[tuple[Any, str], Spread]
) -> list[EngineerRow]:
    # Every engineer (a few thousand rows at most): an IN list of hundreds of ids costs more
    # to build than the rows it leaves out.
    engineers = {
        e.id: e
        for e in session.execute(
            select(
                Engineer.id,
                Engineer.name,
                Engineer.work_start,
                Engineer.work_end,
                ServiceNetwork.name.label("network"),
            ).join(ServiceNetwork, ServiceNetwork.id == Engineer.network_id)
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
                csat_mean=as_float(r["csat_mean"]),
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
    active: int  # visited a customer or checked in during the period
    visits: int
    absent: tuple[str, ...] = ()  # on the roster, neither visited nor checked in

    @property
    def per_engineer(self) -> float | None:
        """Visits per engineer who worked in the period: those with no attendance at all
        (leave, left, not yet started) would only drag the average down."""
        return self.visits / self.active if self.active else None


def staffing(session: Session, f: Filters, rows: Sequence[EngineerRow]) -> list[NetworkStaff]:
    """Per network: engineers, on duty now, active in the period (visited a customer or
    checked in), visits, visits per active engineer, and who had no attendance at all."""
    stmt = (
        select(
            ServiceNetwork.id,
            ServiceNetwork.name,
            func.count(Engineer.id),
            count_if(Engineer.on_duty.is_(True)),
        )
        .join(Engineer, Engineer.network_id == ServiceNetwork.id, isouter=True)
        .group_by(ServiceNetwork.id, ServiceNetwork.name)
        .order_by(ServiceNetwork.id)
    )
    if f.network_id is not None:
        stmt = stmt.where(ServiceNetwork.id == f.network_id)
    if f.city:
        stmt = stmt.where(ServiceNetwork.city == f.city)
    found = session.execute(stmt).all()
    roster = session.execute(
        select(Engineer.id, Engineer.name, Engineer.network_id)
        .where(Engineer.network_id.in_([nid for nid, *_ in found]))
        .order_by(Engineer.name)
    ).all()
    network_of = {eid: nid for eid, _, nid in roster}
    checked_in = session.scalars(
        select(Attendance.engineer_id).where(
            Attendance.day >= f.start, Attendance.day < f.end + timedelta(days=1)
        )
    )
    worked = {r.engineer_id for r in rows} | set(checked_in)
    visits: dict[int, int] = defaultdict(int)
    for r in rows:
        nid = network_of.get(r.engineer_id)
        if nid is not None:
            visits[nid] += r.visits
    active: dict[int, int] = defaultdict(int)
    absent: dict[int, list[str]] = defaultdict(list)
    for eid, name, nid in roster:
        if eid in worked:
            active[nid] += 1
        else:
            absent[nid].append(name)
    return [
        NetworkStaff(nid, name, int(n), int(on or 0), active[nid], visits[nid], tuple(absent[nid]))
        for nid, name, n, on in found
    ]
