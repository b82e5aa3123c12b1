"""Revisits and complaints as consequences of the ticket lifecycle, and the work on a case
that reaches other domains (the SLA clock, the outbox, the ticket's rating).

The revisit (回访) is the lifecycle's own `request_evaluation`, with one mechanism whoever
starts it: on completion this subscriber asks for it as a follow-up (the automatic revisit,
so EIE stages t6/t7 are measured on every ticket); the desk's "发起回访评价" button takes the
same action. Either way the invitation goes out here, through the outbox, under the key the
chat recognises a rating by, and the answer is the lifecycle's `evaluate` wherever it comes
from (the widget, the bot, /my, a staff call). A rating of 1-2 opens a complaint case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portal.complaints import service
from portal.complaints.models import Complaint, ComplaintEvent
from portal.config import Settings
from portal.database import utcnow
from portal.errors import Invalid, NotFound
from portal.i18n import Term, both
from portal.notifications import flows as notifications
from portal.notifications import service as outbox
from portal.security import Principal, Role
from portal.sla import service as sla
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

# Who asks for the automatic revisit.
REVISIT_ACTOR = "system"
# Channels a customer chats with us on: the invitation goes there rather than by SMS.
CHATS = ("widget", "wechat")
CALL_OUTCOMES = ("answered", "declined", "unreachable")


# ---------------------------------------------------------------- the subscriber


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """The lifecycle subscriber: a completed ticket gets its revisit (a follow-up
    `request_evaluation`), a revisit sends the invitation (unless the desk is phoning), a
    rating of 1-2 opens a complaint.
    History being written (events older than an hour: imports, demo data) asks for no
    revisit and sends nothing, but a low rating still opens its case."""
    fresh = utcnow() - event.created_at <= notifications.STALE_AFTER
    if event.action == "complete" and fresh:
        return (
            lifecycle.FollowUp(
                "request_evaluation", actor=REVISIT_ACTOR, payload={"revisit": "auto"}
            ),
        )
    if event.action == "request_evaluation" and fresh and not service.is_phone_revisit(event):
        invite(session, ticket=ticket, event=event, settings=ctx.settings)
    if event.action == "evaluate":
        score = event.payload.get("score")
        if isinstance(score, int) and score <= service.LOW_SCORE:
            complain_of_rating(session, ticket=ticket, event=event, settings=ctx.settings)
    return ()


# ---------------------------------------------------------------- the revisit


def my_link(settings: Settings, ticket: Ticket) -> str:
    """Where the customer rates the ticket with a comment: its page in /my."""
    return f"{settings.public_url.rstrip('/')}/my/tickets/{ticket.number}"


def revisit_channels(session: Session, ticket: Ticket) -> list[tuple[str, str]]:
    """Where the invitation goes: the customer's chats (the widget the ticket came through,
    their bound WeChat), else SMS."""
    reachable = notifications.customer_channels(session, ticket)
    chats = [(channel, to) for channel, to in reachable if channel in CHATS]
    return chats or [(channel, to) for channel, to in reachable if channel == "sms" and to]


def invite(session: Session, *, ticket: Ticket, event: TicketEvent, settings: Settings) -> None:
    """Queue the rating invitation (1-5 and a comment) for the revisit `event`.

    Keyed `ticket:<id>:event:<event id>:<channel>`, so the chat takes a bare 1-5 answer to
    it as the ticket's rating (portal.conversations.flows)."""
    params = notifications.ticket_params(session, ticket)
    params["when"] = notifications.shown_time(event.created_at)
    params["link"] = my_link(settings, ticket)
    params["remark"] = both("notify.rate_hint")[0]
    now = utcnow()
    for channel, recipient in revisit_channels(session, ticket):
        outbox.enqueue(
            session,
            key=f"ticket:{ticket.id}:event:{event.id}:{channel}",
            channel=channel,
            recipient=recipient,
            template="revisit_invite_sms" if channel == "sms" else "revisit_invite",
            payload=params,
            ticket_id=ticket.id,
            at=now,
        )


def start_call(
    session: Session, *, ticket: Ticket, principal: Principal, settings: Settings
) -> None:
    """The desk starts a revisit by phone: the lifecycle's `request_evaluation`, sending
    nothing (the agent is calling), which shows the agent the customer's number."""
    tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="request_evaluation"),
        principal=principal,
        reopen_window=timedelta(days=settings.reopen_window_days),
        payload=dict(service.BY_PHONE),
    )


def record_call(
    session: Session,
    *,
    ticket: Ticket,
    outcome: str,
    score: int | None,
    comment: str,
    principal: Principal,
    settings: Settings,
) -> None:
    """What the customer said on a revisit call: a rating (recorded on the ticket, so a low
    one opens a complaint like any other), no rating but a comment, or nobody answered."""
    service.check_choice(outcome, choices=CALL_OUTCOMES, field="revisit_outcome")
    comment = comment.strip()
    if ticket.status != "completed":
        raise lifecycle.conflict(ticket, "evaluate")
    if outcome == "answered" and score is None:
        raise Invalid("validation.missing", field="score")
    if outcome == "declined" and not comment:
        raise Invalid("validation.missing", field="comment")
    now = utcnow()
    service.record_call(
        session,
        ticket=ticket,
        outcome=outcome,
        score=score if outcome == "answered" else None,
        comment=comment,
        actor=principal.actor,
        at=now,
    )
    if outcome == "answered":
        tickets.transition(
            session,
            ticket=ticket,
            req=TransitionRequest(action="evaluate", score=score, comment=comment),
            principal=principal,
            reopen_window=timedelta(days=settings.reopen_window_days),
            payload={"via": "revisit_call"},
        )


# ---------------------------------------------------------------- complaint cases


def deadline_for(
    session: Session, *, ticket: Ticket, start: datetime, settings: Settings
) -> datetime:
    """When a case opened at `start` is due: COMPLAINT_RESOLUTION_MINUTES on the clock of the
    ticket's SLA policy (its business hours or around the clock, the network's calendar)."""
    defaults = sla.SlaDefaults.from_settings(settings)
    terms = sla.terms_for(session, ticket=ticket, defaults=defaults)
    clock = sla.clock_for(
        session,
        network_id=ticket.network_id,
        business_hours=terms.business_hours,
        defaults=defaults,
    )
    return clock.add(start, settings.complaint_resolution_minutes * 60)


def open_complaint(
    session: Session,
    *,
    ticket: Ticket,
    source: str,
    reason: str,
    description: str,
    actor: str,
    settings: Settings,
    at: datetime | None = None,
    score: int | None = None,
) -> Complaint:
    """Open a case about `ticket`, due by its SLA clock; the network's managers and the
    dispatchers are told in the portal."""
    when = at or utcnow()
    complaint = service.open_case(
        session,
        ticket=ticket,
        source=source,
        reason=reason,
        description=description,
        actor=actor,
        at=when,
        deadline_at=deadline_for(session, ticket=ticket, start=when, settings=settings),
        score=score,
    )
    if utcnow() - when <= notifications.STALE_AFTER:
        users = outbox.users_with_role(session, role=Role.DISPATCHER)
        if ticket.network_id is not None:
            users = (
                outbox.users_with_role(
                    session, role=Role.NETWORK_MANAGER, network_id=ticket.network_id
                )
                + users
            )
        notifications.notify_staff(
            session,
            user_ids=users,
            template="complaint_opened",
            key=f"complaint:{complaint.id}:opened",
            params={
                "number": ticket.number,
                "complaint": complaint.id,
                "reason": Term.key(f"complaints.reason.{reason}"),
                "deadline": notifications.shown_time(complaint.deadline_at),
            },
            ticket_id=ticket.id,
            at=utcnow(),
        )
    return complaint


def open_by_hand(
    session: Session,
    *,
    ticket_number: str,
    source: str,
    reason: str,
    description: str,
    principal: Principal,
    settings: Settings,
) -> Complaint:
    """A case staff record (from the ticket page or the complaints page); an unknown or
    unseen ticket number is the form's error, not a 404."""
    number = ticket_number.strip().upper()
    try:
        ticket = tickets.get_ticket(session, ref=number, principal=principal)
    except NotFound:
        raise Invalid(
            "complaints.unknown_ticket", field="complaint_ticket", number=number
        ) from None
    if not description.strip():
        raise Invalid("validation.missing", field="complaint_description")
    return open_complaint(
        session,
        ticket=ticket,
        source=source,
        reason=reason,
        description=description,
        actor=principal.actor,
        settings=settings,
    )


def complain_of_rating(
    session: Session, *, ticket: Ticket, event: TicketEvent, settings: Settings
) -> Complaint:
    """A low rating's case: a new one, or a line in the case already being handled."""
    score = int(event.payload["score"])
    comment = str(event.payload.get("comment") or "").strip()
    said = both("complaints.rated", score=score)[0] + (f"：{comment}" if comment else "")
    existing = service.active_for(session, ticket_id=ticket.id)
    if existing is not None:
        service.add_note(
            session, complaint=existing, actor=event.actor, note=said, at=event.created_at
        )
        return existing
    return open_complaint(
        session,
        ticket=ticket,
        source="revisit",
        reason=service.guess_reason(comment),
        description=said,
        actor=event.actor,
        settings=settings,
        at=event.created_at,
        score=score,
    )


def act(
    session: Session,
    *,
    complaint: Complaint,
    action: str,
    principal: Principal,
    note: str = "",
    reason: str = "",
) -> ComplaintEvent:
    """Take an action on a case; a resolution is told to the customer through the outbox."""
    event = service.act(
        session,
        complaint=complaint,
        action=action,
        actor=principal.actor,
        user_id=principal.user_id,
        note=note,
        reason=reason,
        at=utcnow(),
    )
    if action == "resolve":
        tell_resolution(session, complaint=complaint, event=event)
    return event


def tell_resolution(session: Session, *, complaint: Complaint, event: ComplaintEvent) -> None:
    """The customer hears how their complaint was resolved, on every channel they have."""
    ticket = complaint.ticket
    params = notifications.ticket_params(session, ticket)
    params["outcome"] = complaint.outcome[:200]
    params["when"] = notifications.shown_time(event.created_at)
    notifications.notify_customer(
        session,
        ticket=ticket,
        template="complaint_resolved",
        key=f"complaint:{complaint.id}:event:{event.id}",
        params=params,
        at=utcnow(),
    )
