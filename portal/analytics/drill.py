"""Drill-down: the condition behind each measure, and the tickets it counts.

Definitions: `portal.analytics.service`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from portal.analytics.filters import LOCAL, Filters
from portal.analytics.measures import (
    ABNORMAL_KINDS,
    EARLY_DAYS,
    STAGE_NAMES,
    WARRANTY_CLASSES,
    F,
    c,
    epoch,
    is_open,
    labels,
)
from portal.analytics.people import (
    visit_where,
)
from portal.analytics.quality import (
    FAILURE,
    warranty_class,
)
from portal.analytics.rules import (
    FTF_COUNTS,
    FTF_OK,
    abnormal_condition,
    sla_rules,
)
from portal.complaints.models import Complaint
from portal.tickets.models import Ticket

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
    now_ts = epoch(now)
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
        conds = [is_open(), *f.dims()]
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
        return Drill(visit_where(f), c.t5, "s", [c.visit_day.desc()])
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
    if head == "region" and arg:
        # A province, or "province/city": the ticket's address in official names.
        province, _, city = arg.partition("/")
        t = Ticket.__table__.c
        place = t.place_city == city if city else t.place_province == province
        where = select(t.id).where(place, *([t.place_province == province] if city else []))
        return Drill([*period, c.ticket_id.in_(where.scalar_subquery())], c.score, "score")
    if head == "complaint_case":
        cases = select(Complaint.ticket_id).scalar_subquery()
        return Drill([*period, c.ticket_id.in_(cases)], c.score, "score")
    if head == "unit" and arg.isdigit() and len(arg) < 10:
        return Drill([*period, FAILURE, c.asset_id == int(arg)], c.age_days, "d", [c.created_ts])
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
