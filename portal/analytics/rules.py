"""The SLA and outcome rules as SQL conditions (on time, first-time fix, abnormal tickets) and
the KPI columns built on them.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    func,
    or_,
    select,
)

from portal.analytics.measures import (
    BEFORE_ARRIVAL,
    NOT_ARRIVED,
    OPEN,
    Rate,
    c,
    count_if,
    is_open,
)
from portal.customers.models import Customer


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
        cols += [count_if(ok).label(f"{kind}_ok"), count_if(counts).label(f"{kind}_n")]
    cols += [
        count_if(FTF_OK).label("ftf_ok"),
        count_if(FTF_COUNTS).label("ftf_n"),
        count_if(c.score >= 4).label("csat_good"),
        func.count(c.score).label("csat_n"),
        func.avg(c.score).label("csat_mean"),
        count_if(c.type == "complaint").label("complaints"),
        count_if(c.escalated.is_(True)).label("escalated"),
        count_if(c.remote.is_(True)).label("remote"),
        count_if(c.bot_intake.is_(True)).label("bot_intake"),
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
            csat_mean=as_float(row["csat_mean"]),
            complaints=Rate(int(row["complaints"] or 0), n),
            escalated=int(row["escalated"] or 0),
            remote=Rate(int(row["remote"] or 0), n),
            bot_intake=Rate(int(row["bot_intake"] or 0), n),
            frt_mean=as_float(row["frt_mean"]),
            ttr_mean=as_float(row["ttr_mean"]),
            resolved=int(row["resolved"] or 0),
        )


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def abnormal_condition(kind: str, now_ts: float) -> ColumnElement[bool]:
    """Which open tickets are exceptional in this way."""
    if kind == "overdue":
        return and_(is_open(), c.resolution_due_ts < now_ts)
    if kind == "not_arrived":
        waiting: BindParameter[list[str]] = bindparam(
            "not_arrived", list(NOT_ARRIVED), expanding=True, literal_execute=True
        )
        return and_(c.status.in_(waiting), c.arrived_ts.is_(None), c.arrival_due_ts < now_ts)
    if kind == "waiting_parts":
        return c.status == "waiting_parts"
    if kind == "vip":
        vip = select(Customer.id).where(Customer.tier == "vip")
        return and_(is_open(), c.type == "repair", c.customer_id.in_(vip))
    raise ValueError(kind)
