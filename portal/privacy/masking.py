"""Who sees a customer's full phone number, and the masked form (138****8000) everyone else gets.

The rule lives here once; the JSON views call `ticket_phone` / `customer_phone`, the pages use
the Jinja filters of the same names (registered in `portal.templating`), and schemas whose
phones are never needed in full declare `MaskedPhone`.

Who sees a full number (docs/security.md has the same table):

- admin: always (the administrator answers data-subject requests and confirms erasure);
- customer: their own numbers;
- agent: in a conversation they hold, and on a ticket they work — a new ticket on the desk's
  queue, or an open (or completed, awaiting the follow-up call) ticket they acted on or whose
  conversation they hold;
- dispatcher: on open tickets (they arrange the visit with the customer), not after completion;
- engineer: on their own open jobs only, until completion;
- network manager, finance, knowledge editor, the bot's service account: never (masked).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from jinja2 import pass_context
from pydantic import PlainSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from portal.conversations.models import Conversation
from portal.conversations.schemas import ConversationDetail
from portal.customers.models import ERASED_PREFIX, Customer
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets.models import Ticket

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
# Ticket statuses in which the desk still works a ticket: open ones, and a completed one
# waiting for the follow-up (回访) call.
DESK_WORK = lifecycle.OPEN | {"completed"}
_HELD_KEY = "privacy.held_customers"


def mask_phone(phone: str | None) -> str:
    """A phone as people without a need see it: 138****8000 (an erased one: empty)."""
    if not phone or phone.startswith(ERASED_PREFIX):
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_phones_in(text: str) -> str:
    """Free text with every mainland mobile number in it masked."""
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


# A schema field that always leaves the portal masked, whoever reads it.
MaskedPhone = Annotated[str, PlainSerializer(mask_phone, return_type=str)]


def _held_customers(session: Session, principal: Principal) -> frozenset[int]:
    """The customers of the conversations this staff member holds now (cached per request)."""
    cache: dict[int, frozenset[int]] = session.info.setdefault(_HELD_KEY, {})
    user_id = principal.user_id or 0
    if user_id not in cache:
        rows = session.scalars(
            select(Conversation.customer_id).where(
                Conversation.agent_id == user_id,
                Conversation.state == "agent",
                Conversation.customer_id.is_not(None),
            )
        )
        cache[user_id] = frozenset(r for r in rows if r is not None)
    return cache[user_id]


def _holds_conversation(session: Session | None, principal: Principal, public_id: str) -> bool:
    if session is None or not public_id:
        return False
    return (
        session.scalar(
            select(Conversation.id).where(
                Conversation.public_id == public_id,
                Conversation.agent_id == principal.user_id,
                Conversation.state == "agent",
            )
        )
        is not None
    )


def may_see_ticket_phone(principal: Principal | None, ticket: Ticket) -> bool:
    """Whether this caller needs the ticket's full phone number for their work now."""
    if principal is None:
        return False
    role = principal.role
    if role is Role.ADMIN:
        return True
    if role is Role.CUSTOMER:
        return principal.customer_id == ticket.customer_id
    if role is Role.ENGINEER:
        return (
            principal.engineer_id is not None
            and ticket.engineer_id == principal.engineer_id
            and ticket.status in lifecycle.OPEN
        )
    if role is Role.DISPATCHER:
        return ticket.status in lifecycle.OPEN
    if role is Role.AGENT:
        if ticket.status not in DESK_WORK:
            return False
        if ticket.status == "new":
            return True
        if any(event.actor == principal.actor for event in ticket.events):
            return True
        session = object_session(ticket)
        if session is not None and ticket.customer_id in _held_customers(session, principal):
            return True
        return _holds_conversation(session, principal, ticket.conversation_id or "")
    return False


def may_see_customer_phones(principal: Principal | None, customer: Customer) -> bool:
    """Whether this caller needs the customer's full numbers (profile, search results)."""
    if principal is None:
        return False
    role = principal.role
    if role is Role.ADMIN:
        return True
    if role is Role.CUSTOMER:
        return principal.customer_id == customer.id
    if role not in {Role.AGENT, Role.DISPATCHER}:
        return False
    session = object_session(customer)
    if session is None:
        return False
    if role is Role.AGENT and customer.id in _held_customers(session, principal):
        return True
    statuses = lifecycle.OPEN if role is Role.DISPATCHER else DESK_WORK
    tickets = session.scalars(
        select(Ticket).where(Ticket.customer_id == customer.id, Ticket.status.in_(statuses))
    )
    return any(may_see_ticket_phone(principal, t) for t in tickets)


def ticket_phone(principal: Principal | None, ticket: Ticket) -> str:
    """The ticket's phone as this caller may see it."""
    if may_see_ticket_phone(principal, ticket):
        return "" if ticket.phone.startswith(ERASED_PREFIX) else ticket.phone
    return mask_phone(ticket.phone)


def ticket_text(principal: Principal | None, ticket: Ticket, text: str) -> str:
    """Free text of a ticket (fault description, a note) with the numbers in it masked for a
    caller who may not see the ticket's phone."""
    return text if may_see_ticket_phone(principal, ticket) else mask_phones_in(text)


def customer_phone(
    principal: Principal | None, customer: Customer, phone: str | None = None
) -> str:
    """One of the customer's numbers (the main one by default) as this caller may see it."""
    value = customer.phone if phone is None else phone
    if may_see_customer_phones(principal, customer):
        return "" if value.startswith(ERASED_PREFIX) else value
    return mask_phone(value)


def sees_chat_numbers(principal: Principal, agent_id: int | None) -> bool:
    """Whether a staff member sees the numbers typed in a chat: they hold it, or they are an
    administrator."""
    return principal.role is Role.ADMIN or (agent_id is not None and agent_id == principal.user_id)


def transcript_for(principal: Principal, detail: ConversationDetail) -> ConversationDetail:
    """A conversation as this staff member sees it: numbers typed in it are masked unless
    they hold the chat (or are an administrator)."""
    if sees_chat_numbers(principal, detail.agent_id):
        return detail
    return detail.model_copy(
        update={
            "handoff_summary": mask_phones_in(detail.handoff_summary),
            "customer_name": mask_phones_in(detail.customer_name),
            "messages": [
                m.model_copy(
                    update={
                        "text": mask_phones_in(m.text),
                        "html": mask_phones_in(m.html) if m.html is not None else None,
                    }
                )
                for m in detail.messages
            ],
            "notes": [n.model_copy(update={"body": mask_phones_in(n.body)}) for n in detail.notes],
            # The ticket form is for whoever holds the chat; a colleague gets no number in it.
            "ticket_draft": detail.ticket_draft.model_copy(
                update={
                    "phone": "",
                    "fault_description": mask_phones_in(detail.ticket_draft.fault_description),
                    "address": mask_phones_in(detail.ticket_draft.address),
                }
            ),
        }
    )


def _viewer(context: Any) -> Principal | None:
    user = context.get("user")
    if isinstance(user, Principal):
        return user
    request = context.get("request")
    found = getattr(getattr(request, "state", None), "user", None)
    return found if isinstance(found, Principal) else None


@pass_context
def ticket_phone_filter(context: Any, ticket: Ticket) -> str:
    """Jinja: `{{ ticket | ticket_phone }}`, for the page's logged-in reader."""
    return ticket_phone(_viewer(context), ticket)


@pass_context
def customer_phone_filter(context: Any, customer: Customer, phone: str | None = None) -> str:
    """Jinja: `{{ customer | customer_phone }}` or `{{ customer | customer_phone(p.phone) }}`."""
    return customer_phone(_viewer(context), customer, phone)


@pass_context
def ticket_text_filter(context: Any, ticket: Ticket, text: str | None) -> str:
    """Jinja: `{{ ticket | ticket_text(ticket.fault_description) }}`."""
    return ticket_text(_viewer(context), ticket, text or "")


def install(env: Any) -> None:
    """Register the masking filters on a Jinja environment."""
    env.filters["masked_phone"] = mask_phone
    env.filters["ticket_phone"] = ticket_phone_filter
    env.filters["customer_phone"] = customer_phone_filter
    env.filters["ticket_text"] = ticket_text_filter
