"""Reads and writes of cost cases: the engineer's fault cause with its evidence, the case
sealed on completion, the lists the factory and R&D read. Keyword-only; flushes, never
commits. Posting to the ledger is in `costs.flows`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.costs import causes
from portal.costs.models import CostCase
from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.fees import service as fees
from portal.security import Principal
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketAttachment

ON_SITE = "arrived"
MAX_EVIDENCE = 10
APPRAISABLE = "recorded"


def case_of(session: Session, *, ticket_id: int) -> CostCase | None:
    """The ticket's cost case, if a cause was recorded."""
    return session.scalars(select(CostCase).where(CostCase.ticket_id == ticket_id)).first()


def needs_cause(session: Session, *, ticket: Ticket, on: date) -> bool:
    """Whether completing the job asks for a fault cause: the manufacturer pays for it, or
    would but for the cause recorded (misuse), which the engineer may still correct."""
    decided = fees.warranty(session, ticket=ticket, on=on)
    return decided.covered or decided.reason == "cause"


def may_need_cause(session: Session, *, ticket: Ticket, on: date) -> bool:
    """Whether the job page asks for a fault cause: in warranty, or a unit not on file yet
    (the engineer may register it on completion, and it may turn out in warranty)."""
    return ticket.asset_id is None or needs_cause(session, ticket=ticket, on=on)


def _check_cause(cause: str) -> str:
    if cause not in causes.CAUSES:
        raise Invalid("costs.cause_missing", field="cause")
    return cause


def record_cause(
    session: Session,
    *,
    ticket: Ticket,
    cause: str,
    note: str = "",
    photos: Sequence[tuple[str, bytes]] = (),
    engineer_id: int | None,
    principal: Principal,
    root: Path,
    max_bytes: int,
    on: date,
) -> CostCase:
    """The engineer's fault cause of an in-warranty job, on site, with evidence photos (at
    least one for a quality cause, kept with those sent before). A case already appraised
    is the factory's and stays as it is."""
    if ticket.status != ON_SITE:
        raise Conflict("field_app.not_on_site")
    if not may_need_cause(session, ticket=ticket, on=on):
        raise Conflict("costs.not_in_warranty")
    klass = causes.class_of(_check_cause(cause))
    case = case_of(session, ticket_id=ticket.id)
    if case is not None and case.status != APPRAISABLE:
        raise Conflict("costs.already_appraised")
    kept = list(case.evidence_ids) if case is not None else []
    if klass == causes.QUALITY and not kept and not photos:
        raise Invalid("costs.evidence_missing", field="evidence")
    if len(kept) + len(photos) > MAX_EVIDENCE:
        raise Invalid("costs.evidence_too_many", field="evidence", n=MAX_EVIDENCE)
    for filename, data in photos:
        attachment = tickets.save_attachment(
            session,
            ticket=ticket,
            filename=filename or "evidence",
            data=data,
            principal=principal,
            root=root,
            max_bytes=max_bytes,
        )
        if not attachment.content_type.startswith("image/"):
            raise Invalid("costs.evidence_not_photo", field="evidence")
        kept.append(attachment.id)
    now = utcnow()
    if case is None:
        case = CostCase(ticket_id=ticket.id, recorded_cause=cause, recorded_at=now)
        session.add(case)
    case.cause, case.cause_class, case.centre = cause, klass, causes.CENTRE_OF[klass]
    case.recorded_cause = cause
    case.note = note.strip()[:500]
    case.evidence_ids = kept
    case.engineer_id = engineer_id
    case.recorded_by = principal.actor
    case.recorded_at = now
    # The ticket carries its cause too, where pricing and the desk read it.
    ticket.details = {**(ticket.details or {}), "fault_cause": cause}
    session.flush()
    return case


def seal(
    session: Session,
    *,
    ticket: Ticket,
    parts_used: Sequence[dict[str, Any]],
    on: date,
    at: datetime | None = None,
) -> CostCase | None:
    """On completion: an in-warranty job needs its cause (and a quality cause its evidence);
    the case keeps the model and the parts fitted, for the repeats R&D reads."""
    case = case_of(session, ticket_id=ticket.id)
    if case is None:
        if needs_cause(session, ticket=ticket, on=on):
            raise Invalid("costs.cause_missing", field="cause")
        return None
    if case.cause_class == causes.QUALITY and not case.evidence_ids:
        raise Invalid("costs.evidence_missing", field="evidence")
    case.model_code = ticket.model_code or ticket.product or ""
    case.parts = [
        {"code": str(p.get("part_code") or ""), "name": str(p.get("name") or "")}
        for p in parts_used
        if p.get("part_code") or p.get("name")
    ]
    case.completed_at = at or utcnow()
    session.flush()
    return case


def evidence(session: Session, *, case: CostCase) -> list[TicketAttachment]:
    """The case's evidence photos, in the order they were sent."""
    if not case.evidence_ids:
        return []
    rows = {
        a.id: a
        for a in session.scalars(
            select(TicketAttachment).where(
                TicketAttachment.id.in_([int(i) for i in case.evidence_ids]),
                TicketAttachment.ticket_id == case.ticket_id,
            )
        )
    }
    return [rows[int(i)] for i in case.evidence_ids if int(i) in rows]


def evidence_photo(session: Session, *, case: CostCase, attachment_id: int) -> TicketAttachment:
    """One evidence photo of the case (404 for anything else)."""
    found = next((a for a in evidence(session, case=case) if a.id == attachment_id), None)
    if found is None:
        raise NotFound("object.attachment")
    return found


# ---- the factory's lists -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case with its ticket, for a list."""

    case: CostCase
    ticket: Ticket


def _cases(stmt: Any, session: Session) -> list[CaseRow]:  # a Select of (case, ticket)
    rows = session.execute(stmt.join(Ticket, Ticket.id == CostCase.ticket_id)).all()
    return [CaseRow(c, t) for c, t in rows]


def quality_cases(session: Session, *, status: str | None = None) -> list[CaseRow]:
    """Completed cases the engineer recorded as quality problems (the factory appraises
    them), newest first; `status`: recorded | confirmed | reclassified."""
    stmt = (
        select(CostCase, Ticket)
        .where(
            CostCase.completed_at.is_not(None),
            CostCase.recorded_cause.in_(causes.of_class(causes.QUALITY)),
        )
        .order_by(CostCase.completed_at.desc(), CostCase.id.desc())
    )
    if status:
        stmt = stmt.where(CostCase.status == status)
    return _cases(stmt, session)


def get_case(session: Session, *, ref: str) -> CaseRow:
    """A completed case by its ticket's number (404 for a ticket without one)."""
    row = session.execute(
        select(CostCase, Ticket)
        .join(Ticket, Ticket.id == CostCase.ticket_id)
        .where(Ticket.number == ref, CostCase.completed_at.is_not(None))
    ).first()
    if row is None:
        raise NotFound("object.cost_case")
    return CaseRow(row[0], row[1])


def counts(session: Session) -> dict[str, int]:
    """How many quality cases are in each appraisal status."""
    out = {"recorded": 0, "confirmed": 0, "reclassified": 0}
    for row in quality_cases(session):
        out[row.case.status] = out.get(row.case.status, 0) + 1
    return out


@dataclass(slots=True)
class Repeat:
    """A quality problem that came back: one model, one part (or none fitted)."""

    model_code: str
    part_code: str
    part_name: str
    tickets: list[Ticket] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    causes: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        """How many cases."""
        return len(self.tickets)


def repeats(session: Session, *, minimum: int = 2) -> list[Repeat]:
    """Quality problems per model and part that happened at least `minimum` times, most
    frequent first: what R&D should look at. Cases the factory moved out of quality do not
    count; those it has not appraised yet do."""
    groups: dict[tuple[str, str], Repeat] = {}
    stmt = select(CostCase, Ticket).where(
        CostCase.completed_at.is_not(None), CostCase.cause_class == causes.QUALITY
    )
    for row in _cases(stmt.order_by(CostCase.completed_at, CostCase.id), session):
        case = row.case
        fitted = case.parts or [{"code": "", "name": ""}]
        for part in {(p.get("code") or "", p.get("name") or "") for p in fitted}:
            key = (case.model_code, part[0] or part[1])
            rep = groups.get(key)
            if rep is None:
                rep = groups[key] = Repeat(case.model_code, part[0], part[1])
            if row.ticket in rep.tickets:
                continue
            rep.tickets.append(row.ticket)
            rep.causes.add(case.cause)
            done = case.completed_at
            rep.first = done if rep.first is None or (done and done < rep.first) else rep.first
            rep.last = done if rep.last is None or (done and done > rep.last) else rep.last
    found = [r for r in groups.values() if r.count >= minimum]
    return sorted(found, key=lambda r: (-r.count, r.model_code, r.part_code or r.part_name))
