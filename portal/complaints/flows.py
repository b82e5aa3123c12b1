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
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import Term, both, t
from portal.notifications import flows as notifications
from portal.notifications import service as outbox
from portal.security import Principal, Role
from portal.sla import service as sla
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TicketCreate, TransitionRequest

# Who asks for the automatic revisit.
REVISIT_ACTOR = "system"
# Channels a customer chats with us on: the invitation goes there rather than by SMS.
CHATS = ("widget", "wechat")
CALL_OUTCOMES = ("answered", "declined", "unreachable")
# The widget's quick replies to a complaint's outcome (service.chat_answer reads them).
ACCEPT_REPLY = "接受"
REJECT_REPLY = "不接受"


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
    guessed: bool = False,
) -> Complaint:
    """Open a case about `ticket`, due by its SLA clock, a repeat repair when it is one
    (`service.classify_repeat`; `guessed`: the reason was only read from the customer's
    words); the network's managers and the dispatchers are told in the portal."""
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
    service.classify_repeat(session, complaint=complaint, said=description, at=when, always=guessed)
    reason = complaint.reason
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
        service.classify_repeat(session, complaint=existing, said=comment, at=event.created_at)
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
        guessed=True,
    )


def act(
    session: Session,
    *,
    complaint: Complaint,
    action: str,
    principal: Principal,
    note: str = "",
    reason: str = "",
    follow_up: bool = False,
    settings: Settings | None = None,
) -> ComplaintEvent:
    """Take an action on a case. A resolution asks the customer whether they accept the
    outcome (answered within COMPLAINT_CONFIRM_HOURS, else the case closes unanswered) and,
    with `follow_up` (the outcome promises another visit, 上门复修), opens the repair ticket
    for it, linked to the case."""
    settings = settings or lifecycle.consequences_of(session).context.settings
    now = utcnow()
    if follow_up and action != "resolve":
        raise Invalid("validation.invalid", field="complaint_follow_up")
    event = service.act(
        session,
        complaint=complaint,
        action=action,
        actor=principal.actor,
        user_id=principal.user_id,
        note=note,
        reason=reason,
        at=now,
        confirm_due_at=now + timedelta(hours=settings.complaint_confirm_hours),
    )
    if action == "resolve":
        if follow_up:
            open_follow_up(session, complaint=complaint, principal=principal, at=now)
        ask_customer(session, complaint=complaint, event=event, settings=settings)
    if action == "reopen":
        renew_deadline(session, complaint=complaint, at=now, settings=settings)
    return event


def renew_deadline(
    session: Session, *, complaint: Complaint, at: datetime, settings: Settings
) -> None:
    """A case back at work (reopened, or its outcome turned down) is due no sooner than the
    policy's time from now: a case past its first deadline is not overdue from the start."""
    fresh = deadline_for(session, ticket=complaint.ticket, start=at, settings=settings)
    complaint.deadline_at = max(complaint.deadline_at, fresh)


def open_follow_up(
    session: Session, *, complaint: Complaint, principal: Principal, at: datetime
) -> Ticket:
    """The repair visit a resolution promised: a new repair ticket for the same customer,
    unit and address, its fault the promise; the case names it (and it, the case)."""
    if complaint.follow_up_ticket_id is not None:
        raise Conflict("complaints.follow_up_exists", number=complaint.follow_up_ticket_id)
    original = complaint.ticket
    fault = t(
        "complaints.follow_up_fault",
        "zh",
        id=complaint.id,
        number=original.number,
        outcome=complaint.outcome,
    )
    data = TicketCreate(
        type="repair",
        product=original.product,
        model_code=original.model_code,
        serial_number=original.serial_number,
        fault_description=fault[: service.NOTE_MAX],
        phone=original.phone,
        customer_name=original.customer.name or "",
        address=original.address,
        city=original.city,
        district=original.district,
        channel="portal",
    )
    follow, _new = tickets.create_ticket(
        session, data=data, actor=principal.actor, customer=original.customer, at=at
    )
    complaint.follow_up_ticket_id = follow.id
    complaint.follow_up = follow
    service.record(
        session,
        complaint=complaint,
        action="follow_up",
        actor=principal.actor,
        note=follow.number,
        at=at,
    )
    return follow


def ask_customer(
    session: Session, *, complaint: Complaint, event: ComplaintEvent, settings: Settings
) -> None:
    """The customer hears the outcome and is asked whether they accept it, in their chat
    (the widget, WeChat) or else by SMS, with the link to the ticket in /my where they
    answer; a chat may answer in words (portal.conversations)."""
    ticket = complaint.ticket
    params = notifications.ticket_params(session, ticket)
    params["outcome"] = complaint.outcome[:200]
    params["when"] = notifications.shown_time(event.created_at)
    params["link"] = my_link(settings, ticket) + "#complaint"  # the question's card
    params["complaint"] = complaint.id
    now = utcnow()
    for channel, recipient in revisit_channels(session, ticket):
        payload = dict(params)
        if channel == "widget":  # quick replies the hub takes as the answer
            payload["buttons"] = [
                {"title": t("my.complaint.accept"), "payload": ACCEPT_REPLY},
                {"title": t("my.complaint.reject"), "payload": REJECT_REPLY},
            ]
        outbox.enqueue(
            session,
            key=f"complaint:{complaint.id}:event:{event.id}:{channel}",
            channel=channel,
            recipient=recipient,
            template="complaint_confirm_sms" if channel == "sms" else "complaint_confirm",
            payload=payload,
            ticket_id=ticket.id,
            at=now,
        )


def answer(
    session: Session, *, complaint: Complaint, accept: bool, words: str, actor: str
) -> ComplaintEvent:
    """The customer's answer to the outcome (from /my or their chat). The case's owner (else
    the dispatchers) hears of it in the portal; a rejection puts the case back to work."""
    now = utcnow()
    event = service.answer(
        session, complaint=complaint, accept=accept, words=words, actor=actor, at=now
    )
    if not accept:
        settings = lifecycle.consequences_of(session).context.settings
        renew_deadline(session, complaint=complaint, at=now, settings=settings)
    users = (
        [complaint.owner_id]
        if complaint.owner_id is not None
        else outbox.users_with_role(session, role=Role.DISPATCHER)
    )
    notifications.notify_staff(
        session,
        user_ids=users,
        template="complaint_accepted" if accept else "complaint_rejected",
        key=f"complaint:{complaint.id}:event:{event.id}",
        params={
            "number": complaint.ticket.number,
            "complaint": complaint.id,
            "words": event.note[:200],
        },
        ticket_id=complaint.ticket_id,
        at=now,
    )
    return event


def lapse_unconfirmed(session: Session, *, now: datetime) -> list[int]:
    """Close the cases whose customer did not answer by their confirm_due_at, as unanswered
    (客户未回复); the ids closed. The scheduler runs it."""
    closed = []
    for complaint in service.due_unanswered(session, now=now):
        service.lapse(session, complaint=complaint, at=now)
        closed.append(complaint.id)
    return closed
