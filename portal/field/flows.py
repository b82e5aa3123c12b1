"""The engineer's steps on a job, each one lifecycle transition with its own time:
accept / reject (dispatch), depart and arrive (with the phone's position), complete (with the
work record, the parts fitted from the van and the customer's signature).

Every step goes through `tickets.service.transition`, so the SLA clocks, the notifications
and the other domains' hooks (parts consumed on completion) run once, as for any caller;
steps that carry data in their event (a position, the work record) pass it as its payload.
Reject goes through dispatch's `flows.reject` (which offers the job to the next engineer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from portal.assets import service as assets
from portal.costs import service as costs
from portal.database import utcnow
from portal.dispatch import flows as dispatch_flows
from portal.dispatch import service as dispatch
from portal.dispatch.parts import PartLine, PartsPlanner
from portal.dispatch.planning import Stop, schedule
from portal.dispatch.scoring import DispatchSettings
from portal.errors import Invalid
from portal.fees import service as fees
from portal.field import service
from portal.field.schemas import Position
from portal.i18n import Lang, t
from portal.intake.windows import POINT_WINDOW, ZONE, VisitWindow
from portal.notifications import quotes as notify_quotes
from portal.parts import flows as parts_flows
from portal.parts.models import Part
from portal.security import Principal
from portal.settlement import flows as settlement_flows
from portal.settlement import memos
from portal.sop import service as sop
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TicketUpdate, TransitionRequest

# transition() wants a reopen window; the engineer's steps never reopen.
_REOPEN_WINDOW = timedelta(days=30)
COORD = Decimal("0.000001")


def _step(
    session: Session,
    *,
    ticket: Ticket,
    action: str,
    principal: Principal,
    payload: dict[str, Any],
    at: datetime | None = None,
) -> TicketEvent:
    return tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action=action),
        principal=principal,
        reopen_window=_REOPEN_WINDOW,
        payload=payload,
        at=at,
    )


def accept(session: Session, *, ticket: Ticket, principal: Principal) -> TicketEvent:
    """The engineer takes the dispatched job."""
    return tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="engineer_accept"),
        principal=principal,
        reopen_window=_REOPEN_WINDOW,
    )


def reject(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    reason: str,
    settings: DispatchSettings,
    planner: PartsPlanner | None = None,
) -> dispatch_flows.Rejected:
    """The engineer turns the job down with a reason; dispatch offers it to the next one."""
    return dispatch_flows.reject(
        session,
        ticket=ticket,
        principal=principal,
        reason=reason,
        settings=settings,
        planner=planner,
    )


def _located(
    session: Session, *, principal: Principal, position: Position | None, at: datetime
) -> dict[str, Any]:
    """The event payload of a position, which also becomes the engineer's current one."""
    if position is None or principal.engineer_id is None:
        return {}
    dispatch.report_position(
        session,
        engineer_id=principal.engineer_id,
        lat=position.lat.quantize(COORD),
        lng=position.lng.quantize(COORD),
        at=at,
    )
    return {"position": position.payload()}


def depart(
    session: Session, *, ticket: Ticket, principal: Principal, position: Position | None = None
) -> TicketEvent:
    """On the way; the position, when the phone gave one, is where the trip starts."""
    now = utcnow()
    payload = _located(session, principal=principal, position=position, at=now)
    return _step(
        session, ticket=ticket, action="depart", principal=principal, payload=payload, at=now
    )


def depart_early(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    booked: date,
    settings: DispatchSettings,
    position: Position | None = None,
) -> TicketEvent:
    """Set off today for a visit booked on another day (`booked`), which the engineer agreed
    with the customer: the visit is booked today, with the time the engineer should be at the
    door from where they set off, so the customer's page, the chat, the on-the-way message
    and the staff's views all say today, not the old day (a tester's customer read the old
    day until the engineer arrived). The old day stays in the ticket's notes."""
    now = utcnow()
    payload = _located(session, principal=principal, position=position, at=now)
    if ticket.engineer_id is None:
        raise lifecycle.conflict(ticket, "depart")
    engineer = dispatch.get_engineer(session, engineer_id=ticket.engineer_id)
    today = dispatch.local_day(now, settings)
    origin, _source = dispatch.origin_of(
        session, engineer=engineer, day=today, now=now, settings=settings
    )
    place = dispatch.locate(session, [ticket]).get(ticket.id)
    stop = Stop(
        id=ticket.id,
        lat=place[0] if place else None,
        lng=place[1] if place else None,
        onsite_minutes=settings.onsite_for(ticket.type),
    )
    setting_off = now.astimezone(ZONE).time().replace(second=0, microsecond=0)
    leg = schedule(
        day=today,
        start_at=setting_off,
        end_at=time(23, 59),
        origin=origin,
        stops=[stop],
        settings=settings,
        not_before=now,
    )[0]
    window = _window_around(leg.arrive)
    tickets.update_ticket(
        session, ticket=ticket, data=TicketUpdate(preferred_time=window.canonical)
    )
    previous = dispatch.visits_of(session, ticket_ids=[ticket.id]).get(ticket.id)
    dispatch.set_visit(
        session,
        ticket_id=ticket.id,
        engineer_id=ticket.engineer_id,
        # The ETA's day: today, unless setting off just before midnight.
        day=window.start.date(),
        source=previous.source if previous is not None else "manual",
        eta=leg.arrive,
    )
    tickets.add_comment(
        session,
        ticket=ticket,
        body=t("field.departed_early_note", booked=booked.isoformat(), window=window.label("zh")),
        internal=True,
        principal=principal,
    )
    payload |= {"eta": leg.arrive.isoformat(), "booked_day": booked.isoformat()}
    return _step(
        session, ticket=ticket, action="depart", principal=principal, payload=payload, at=now
    )


def _window_around(eta: datetime) -> VisitWindow:
    """The window an early visit is booked in: the hour of its ETA and the next (the span a
    customer's "around ten" books), within the day."""
    local = eta.astimezone(ZONE)
    start = local.replace(minute=0, second=0, microsecond=0)
    end = min(start + POINT_WINDOW, local.replace(hour=23, minute=59, second=0, microsecond=0))
    return VisitWindow(start, end)


def arrive(
    session: Session, *, ticket: Ticket, principal: Principal, position: Position | None = None
) -> TicketEvent:
    """On site; the position, when the phone gave one, proves it and updates dispatch's map."""
    now = utcnow()
    payload = _located(session, principal=principal, position=position, at=now)
    return _step(
        session, ticket=ticket, action="arrive", principal=principal, payload=payload, at=now
    )


def complete(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    link_base: str = "",
    unit: assets.UnitEntry | None = None,
) -> TicketEvent:
    """Finish the visit: it needs a work record and the customer's signature (or, when they
    were not there, the reason and a photo of the door). Parts fitted from the van are
    consumed from it (the parts domain's ledger) in the same transaction; the customer is
    sent the summary, the fee and their receipt's link (`link_base`: the portal's address).
    A `unit` entered for a ticket with none on file is registered first (assets), so the
    warranty and the costs of this completion already see it."""
    if ticket.status != service.ON_SITE:
        raise lifecycle.conflict(ticket, "complete")
    record = service.current_record(session, ticket=ticket)
    if record is None or not record.work_done.strip():
        raise Invalid("field_app.record_missing", field="work_done")
    if not service.signed_off(record):
        raise Invalid("field_app.signature_missing", field="signature")
    registered = None
    if unit is not None and not unit.empty and ticket.asset_id is None:
        registered = assets.register_from_work(
            session,
            ticket=ticket,
            entry=unit,
            actor=principal.actor,
            today=utcnow().astimezone(fees.LOCAL).date(),
        )
    now = utcnow()
    # An in-warranty job names its fault cause, which decides the cost centre (portal/costs).
    costs.seal(
        session,
        ticket=ticket,
        parts_used=record.parts_used,
        on=now.astimezone(fees.LOCAL).date(),
        at=now,
    )
    from_van = [
        PartLine(part_code=p["part_code"], quantity=int(p["quantity"]), name=p.get("name", ""))
        for p in record.parts_used
        if p.get("source") == "van" and p.get("part_code")
    ]
    if from_van:
        parts_flows.consume_for_ticket(
            session, ticket=ticket, lines=from_van, principal=principal, at=now
        )
    payload = {
        "work_record_id": record.id,
        "parts_used": list(record.parts_used),
        "photo_ids": list(record.photo_ids),
        "signature_id": record.signature_id,
        "labour_quota_hours": str(sop.labour_quota(session, ticket=ticket)),
    }
    if registered is not None:
        payload["asset_registered"] = registered.id
    if record.signature_id is None:
        payload["signature_skipped"] = record.signature_skip_reason
        payload["door_photo_id"] = record.door_photo_id
    event = _step(
        session, ticket=ticket, action="complete", principal=principal, payload=payload, at=now
    )
    notify_quotes.work_done(
        session,
        ticket=ticket,
        visit=record.id,
        work_done=record.work_done.strip(),
        fee=fees.price_ticket(session, ticket=ticket).customer_total,
        link=settlement_flows.my_link(link_base, ticket, "receipt"),
        at=now,
    )
    return event


@dataclass(frozen=True, slots=True)
class QuotedRecord:
    """A work record filled in from the quote the customer accepted, for the engineer to edit:
    the labour lines as the work done, the quoted parts the van holds as the parts fitted."""

    number: str
    work_done: str
    parts: list[dict[str, Any]]


LABOUR_KINDS = ("labour", "labour_time")


def record_from_quote(
    session: Session, *, ticket: Ticket, van: list[service.VanPart], lang: Lang
) -> QuotedRecord | None:
    """What the work record starts from before the engineer saves one: the accepted quote's
    labour and parts, so nothing the customer agreed to is typed again. A part counts as many
    as were quoted, at most what the van holds of it (the rest comes on a later visit)."""
    quote = fees.accepted_quote(session, ticket_id=ticket.id)
    if quote is None:
        return None
    work = [memos.described(ln, lang) for ln in quote.lines if ln.kind in LABOUR_KINDS]
    quoted: dict[int, int] = {}
    for ln in quote.lines:
        if ln.kind == "part" and ln.part_id is not None:
            quoted[ln.part_id] = quoted.get(ln.part_id, 0) + ln.quantity
    held = {p.part_code: p for p in van}
    parts: list[dict[str, Any]] = []
    for part_id, quantity in quoted.items():
        part = session.get(Part, part_id)
        stocked = held.get(part.code) if part is not None else None
        if stocked is None:
            continue
        parts.append(
            {
                "part_code": stocked.part_code,
                "name": stocked.name,
                "quantity": min(quantity, stocked.available),
                "source": "van",
            }
        )
    return QuotedRecord(quote.number, "\n".join(work), parts)


def wait_parts(
    session: Session, *, ticket: Ticket, principal: Principal, reason: str
) -> TicketEvent:
    """On site but a part is missing: the job waits for it (the parts domain resumes it)."""
    return tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="wait_parts", reason=reason),
        principal=principal,
        reopen_window=_REOPEN_WINDOW,
    )
