"""What a ticket change tells whom, written into the outbox in the change's own transaction.

Texts live in portal.i18n under "notify.<template>"; a notification stores its template and
parameters, and is rendered when it is delivered or shown. Delivery itself (which talks to
WeChat and the SMS provider) is in `delivery`, so the ticket path never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.conversations.models import Conversation
from portal.database import utcnow
from portal.i18n import MESSAGES, STATUS_LABELS, both, stored_params
from portal.networks.models import Engineer
from portal.notifications import service
from portal.notifications.models import Notification
from portal.security import Role
from portal.tickets import flows as ticket_flows
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

# Customers and staff read times on the Beijing clock.
SHOWN_ZONE = ZoneInfo("Asia/Shanghai")
# Events older than this are history being written (imports, demo data), not news.
STALE_AFTER = timedelta(hours=1)

# Lifecycle action -> what the customer is told.
CUSTOMER_TEMPLATES: dict[str, str] = {
    "create": "ticket_created",
    "accept": "ticket_accepted",
    "dispatch": "engineer_assigned",
    "reassign": "reassigned",
    "engineer_accept": "engineer_accepted",
    "depart": "engineer_on_the_way",
    "wait_parts": "waiting_parts",
    # The rating invitation follows as its own message: the revisit (portal.complaints).
    "complete": "completed",
    "resolve_remotely": "resolved_remotely",
    "cancel": "cancelled",
    "reopen": "reopened",
    "urge": "urge_received",
}

# Lifecycle action -> what the staff concerned are told in the portal: the assigned engineer
# (new job, cancelled, reopened), the network's managers and the dispatchers (rejected,
# reopened, escalated by a person).
STAFF_TEMPLATES: dict[str, str] = {
    "dispatch": "job_assigned",
    "reassign": "job_assigned",
    "engineer_reject": "engineer_rejected",
    "cancel": "job_cancelled",
    "reopen": "job_reopened",
    "escalate": "escalated",
}


def shown_time(moment: datetime) -> str:
    """A moment as customers and staff read it: 11-23 14:05 (Beijing time)."""
    return moment.astimezone(SHOWN_ZONE).strftime("%m-%d %H:%M")


def render(template: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The notification's text in Chinese and English."""
    key = f"notify.{template}"
    if key not in MESSAGES:
        text = str(payload.get("text", template))
        return text, str(payload.get("text_en", text))
    try:
        return both(key, **stored_params(dict(payload)))
    except (KeyError, IndexError, ValueError):
        log.warning("notification %s lacks parameters: %s", template, sorted(payload))
        zh, en = MESSAGES[key]
        return zh, en


def ticket_params(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The parameters every ticket notification may use."""
    engineer = session.get(Engineer, ticket.engineer_id) if ticket.engineer_id else None
    status_zh, status_en = STATUS_LABELS.get(ticket.status, (ticket.status, ticket.status))
    return {
        "number": ticket.number,
        "status": ticket.status,
        "status_label": status_zh,
        "status_label_en": status_en,
        "engineer": engineer.name if engineer else "",
        "engineer_phone": engineer.phone if engineer else "",
        "product": ticket.product,
        "address": ticket.address,
    }


def customer_channels(session: Session, ticket: Ticket) -> list[tuple[str, str]]:
    """Where the customer hears from us: WeChat if bound (else SMS), plus the web widget
    the ticket was reported through."""
    customer = ticket.customer
    out = [("wechat", customer.wechat_openid)] if customer.wechat_openid else []
    if not out:
        out.append(("sms", ticket.phone or customer.phone))
    if ticket.conversation_id:
        visitor = session.scalars(
            select(Conversation.sender_id).where(
                Conversation.public_id == ticket.conversation_id, Conversation.channel == "web"
            )
        ).first()
        if visitor:
            out.append(("widget", visitor))
    return out


def _eta(session: Session, ticket: Ticket, event: TicketEvent) -> datetime | None:
    raw = event.payload.get("eta")
    if isinstance(raw, str):
        try:
            eta = datetime.fromisoformat(raw)
        except ValueError:
            eta = None
        if eta is not None and eta.tzinfo is not None:
            return eta
    return ticket_flows.planned_visit(session, ticket)


def notify_customer(
    session: Session,
    *,
    ticket: Ticket,
    template: str,
    key: str,
    params: dict[str, Any],
    at: datetime,
) -> list[Notification]:
    """One notification per customer channel, keyed `key:channel`."""
    return [
        service.enqueue(
            session,
            key=f"{key}:{channel}",
            channel=channel,
            recipient=recipient,
            template=template,
            payload=params,
            ticket_id=ticket.id,
            at=at,
        )
        for channel, recipient in customer_channels(session, ticket)
    ]


def notify_staff(
    session: Session,
    *,
    user_ids: list[int],
    template: str,
    key: str,
    params: dict[str, Any],
    ticket_id: int | None,
    at: datetime,
) -> list[Notification]:
    """An in-portal notification for each staff member, keyed `key:user:<id>`."""
    return [
        service.enqueue(
            session,
            key=f"{key}:{service.staff_recipient(uid)}",
            channel=service.PORTAL,
            recipient=service.staff_recipient(uid),
            template=template,
            payload=params,
            ticket_id=ticket_id,
            at=at,
        )
        for uid in dict.fromkeys(user_ids)  # once each, in order
    ]


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """The lifecycle subscriber: write what this event tells the customer and staff into
    the outbox. Asks for no follow-up."""
    tell(session, ticket=ticket, event=event)
    return ()


def tell(session: Session, *, ticket: Ticket, event: TicketEvent) -> None:
    """Write what this lifecycle event tells the customer and staff into the outbox."""
    now = utcnow()
    if now - event.created_at > STALE_AFTER:
        return
    action = event.action
    params = ticket_params(session, ticket)
    params["when"] = shown_time(event.created_at)
    key = f"ticket:{ticket.id}:event:{event.id}"

    template = CUSTOMER_TEMPLATES.get(action)
    if action == "depart":
        eta = _eta(session, ticket, event)
        if eta is not None:
            template = "engineer_on_the_way_eta"
            params["eta"] = eta.astimezone(SHOWN_ZONE).strftime("%H:%M")
    if template is not None:
        customer_params = dict(params)
        if action == "create":
            # The customer's proof, with number and phone, that the ticket is theirs: told
            # to them only (staff notifications below never carry it).
            customer_params["check_code"] = ticket.check_code
        notify_customer(
            session, ticket=ticket, template=template, key=key, params=customer_params, at=now
        )

    staff_template = STAFF_TEMPLATES.get(action)
    if action == "escalate" and "timer" in event.payload:
        staff_template = None  # the SLA scheduler tells its own ladder
    if staff_template is None:
        return
    users: list[int] = []
    engineer = service.engineer_user(session, engineer_id=ticket.engineer_id)
    if action in ("dispatch", "reassign", "cancel", "reopen") and engineer is not None:
        users.append(engineer)
    if action in ("engineer_reject", "reopen", "escalate"):
        if ticket.network_id is not None:
            users += service.users_with_role(
                session, role=Role.NETWORK_MANAGER, network_id=ticket.network_id
            )
        users += service.users_with_role(session, role=Role.DISPATCHER)
    notify_staff(
        session,
        user_ids=users,
        template=staff_template,
        key=f"{key}:{staff_template}",
        params=params,
        ticket_id=ticket.id,
        at=now,
    )
