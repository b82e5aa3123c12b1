"""What a consult's change tells others: the live views (the experts' desk, the engineer's
phone) through the hub's broker, and, for a new consult, the experts' bell and the group
robots (WeCom, DingTalk) through the outbox, in the change's own transaction.

The live views get only "consult N changed" on their topics and fetch what they may see
over HTTP, so a frame never carries more than its reader may read. It is published after
the request's transaction is committed (a background task of the response), so the fetch
finds the change.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import Settings
from portal.consults.models import Consult
from portal.consults.service import WAITING
from portal.conversations.broker import Broker
from portal.errors import Conflict
from portal.notifications import flows as notify
from portal.notifications import service as outbox
from portal.security import Role
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent

DESK_TOPIC = "consults"
# The group robots' channels in the outbox (their senders: portal.notifications.robots).
ROBOT_CHANNELS = ("wecom", "dingtalk")
QUESTION_SHOWN = 300  # characters of the question a group message carries
QUESTION_NAMED = 40  # characters of the question a refusal names it by


def engineer_topic(engineer_id: int) -> str:
    """The topic an engineer's phone listens to for their jobs' consults."""
    return f"consults:engineer:{engineer_id}"


async def announce(broker: Broker, *, consult_id: int, engineer_id: int | None) -> None:
    """Tell the desk and the job's engineer that the consult changed."""
    frame = {"type": "consult", "id": consult_id}
    await broker.publish(DESK_TOPIC, frame)
    if engineer_id is not None:
        await broker.publish(engineer_topic(engineer_id), frame)


def robot_channels(settings: Settings) -> list[str]:
    """The group robots configured to hear of new consults."""
    out = []
    if settings.consult_wecom_webhook:
        out.append("wecom")
    if settings.consult_dingtalk_webhook:
        out.append("dingtalk")
    return out


def desk_link(settings: Settings, consult: Consult, base: str = "") -> str:
    """The consult at the experts' desk, as an absolute link when the portal's address is
    known."""
    root = (settings.public_url or base).rstrip("/")
    return f"{root}/consults?open={consult.id}"


def opened(
    session: Session,
    *,
    consult: Consult,
    ticket: Ticket,
    engineer_name: str,
    settings: Settings,
    link_base: str = "",
) -> None:
    """A new consult: every expert's bell, and each configured group robot, through the
    outbox (the robots' messages leave with the outbox worker, retried like any other)."""
    question = consult.question
    if len(question) > QUESTION_SHOWN:
        question = question[:QUESTION_SHOWN] + "…"
    params = {
        "id": consult.id,
        "number": ticket.number,
        "product": " ".join(p for p in (ticket.product, ticket.model_code) if p) or "—",
        "code": consult.fault_code or "—",
        "engineer": engineer_name,
        "question": question,
        "photos": sum(len(m.attachment_ids) for m in consult.messages),
        "link": desk_link(settings, consult, link_base),
        "path": f"/consults?open={consult.id}",  # where the bell's entry leads an expert
    }
    experts = outbox.users_with_role(session, role=Role.EXPERT)
    notify.notify_staff(
        session,
        user_ids=experts,
        template="consult_opened",
        key=f"consult:{consult.id}:opened",
        params=params,
        ticket_id=None,  # experts read it at the desk, not on the ticket pages
        at=consult.created_at,
    )
    for channel in robot_channels(settings):
        outbox.enqueue(
            session,
            key=f"consult:{consult.id}:opened:{channel}",
            channel=channel,
            recipient="group",
            template="consult_opened",
            payload=params,
            ticket_id=ticket.id,
            at=consult.created_at,
        )


def answered(session: Session, *, consult: Consult, ticket: Ticket, expert_name: str) -> None:
    """An expert answered: the engineer who asked hears of it on their bell, once per answer
    (the consult page itself updates live when it is open)."""
    user_id = outbox.engineer_user(session, engineer_id=consult.engineer_id)
    if user_id is None:
        return
    answers = len([m for m in consult.messages if m.side == "expert"])
    notify.notify_staff(
        session,
        user_ids=[user_id],
        template="consult_answered",
        key=f"consult:{consult.id}:answer:{answers}",
        params={
            "id": consult.id,
            "number": ticket.number,
            "expert": expert_name,
            "path": f"/field/consults/{consult.id}",
        },
        ticket_id=None,  # read in the field app, on the consult's page
        at=consult.updated_at,
    )


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """The lifecycle subscriber: a job is not completed while one of its consults waits for
    an expert (open, or taken with an answer due), whoever completes it and from where; the
    engineer closes the consult first (or an expert answers it). Refused before any other
    domain hears of the completion, and the whole transaction with it."""
    if event.action != "complete":
        return ()
    waiting = session.scalars(
        select(Consult)
        .where(Consult.ticket_id == ticket.id, Consult.status.in_(WAITING))
        .order_by(Consult.id)
    ).first()
    if waiting is not None:
        question = " ".join(waiting.question.split())
        if len(question) > QUESTION_NAMED:
            question = question[:QUESTION_NAMED] + "…"
        raise Conflict("consult.waiting_on_complete", id=waiting.id, question=question)
    return ()
