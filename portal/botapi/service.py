"""Which customer a chat has proven to be, and which of their tickets it may see and change."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.botapi.schemas import (
    BotAddress,
    BotAsset,
    BotTicket,
    BoundCustomer,
    Proof,
    ProvenBy,
)
from portal.conversations import service as conversations
from portal.conversations.models import Conversation
from portal.customers import service as customers
from portal.customers.models import Customer
from portal.database import utcnow
from portal.dispatch import service as dispatch
from portal.errors import Conflict, Forbidden, Invalid, NotFound, PortalError
from portal.i18n import MESSAGES, STATUS_LABELS, TICKET_TYPE_LABELS, Lang, Term, label, t
from portal.networks.models import Engineer
from portal.security import Principal
from portal.tickets import flows as ticket_flows
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketUpdate

SHOWN_ZONE = tickets.NUMBER_ZONE
# SR20261123-0007, also typed as sr20261123-0007 or SR202611230007.
_NUMBER = re.compile(r"^SR(\d{8})-?(\d{4})$", re.IGNORECASE)
OPEN_STATUSES = lifecycle.OPEN | {"completed"}


class Refused(Exception):
    """A refusal whose side effects (a counted miss) must be committed: the view answers
    `error` instead of raising it, so the session commits."""

    def __init__(self, error: PortalError) -> None:
        super().__init__(error.message_en)
        self.error = error


def canonical_number(raw: str) -> str | None:
    """SR20261123-0007 from the ways customers type it, or None."""
    match = _NUMBER.match(raw.strip())
    return f"SR{match.group(1)}-{match.group(2)}" if match else None


def chat(session: Session, *, public_id: str) -> Conversation:
    """The conversation the bot acts for (404 if there is none)."""
    return conversations.get_by_public_id(session, public_id=public_id)


def bound_customer(session: Session, *, conversation: Conversation) -> Customer | None:
    """The customer this chat has proven to be: its channel identity, bound by a one-time
    code inside the channel. `Conversation.customer_id` is not proof: the desk also sets it
    from a ticket filed in the chat with whatever phone was typed."""
    return customers.customer_for_identity(
        session, channel=conversation.channel, external_id=conversation.sender_id
    )


def bind_conversation(session: Session, *, conversation: Conversation, customer: Customer) -> None:
    """Bind the conversation's channel identity to the customer, moving it off anyone else."""
    if conversation.channel == "wechat":
        # An openid belongs to one customer (unique column): a rebind takes it off the last.
        session.execute(
            update(Customer)
            .where(Customer.wechat_openid == conversation.sender_id, Customer.id != customer.id)
            .values(wechat_openid=None)
            .execution_options(synchronize_session=False)
        )
    customers.bind_identity(
        session, customer=customer, channel=conversation.channel, external_id=conversation.sender_id
    )
    conversation.customer_id = customer.id
    session.flush()


def _phones(customer: Customer) -> set[str]:
    return {customer.phone, *(p.phone for p in customer.phones)}


def owned_ticket(
    session: Session, *, conversation: Conversation, ref: str, proof: Proof
) -> tuple[Ticket, ProvenBy]:
    """The ticket and how it is proven the chat's customer's. Outside a chat bound to its
    customer (or the chat that filed it) the check code is needed for anything, reading the
    status included, as the chat promised when it told the code: without it every number
    and phone are refused alike (Forbidden), so nothing is said about any ticket. With it, a
    wrong number or phone is NotFound, exactly as for a ticket that does not exist; a wrong
    code is a counted miss (Refused) and too many lock the code (TooManyRequests)."""
    number = canonical_number(ref)
    ticket = (
        session.scalars(select(Ticket).where(Ticket.number == number)).first() if number else None
    )
    if ticket is not None:
        customer = bound_customer(session, conversation=conversation)
        if customer is not None and customer.id == ticket.customer_id:
            return ticket, "conversation"
        if ticket.conversation_id == conversation.public_id:
            # Filed in this very chat, which was told its check code there.
            return ticket, "conversation"
    if not proof.check_code:
        raise Forbidden("error.proof_required")
    if (
        ticket is None
        or not proof.phone
        or (proof.phone != ticket.phone and proof.phone not in _phones(ticket.customer))
    ):
        raise NotFound("object.ticket")
    if tickets.check_code_matches(session, ticket=ticket, code=proof.check_code):
        return ticket, "check_code"
    raise Refused(NotFound("object.ticket"))


def _shown(moment: datetime, lang: Lang) -> str:
    """A moment as the chat says it, in China time: 12月8日 14:00 / 8 Dec 14:00."""
    local = moment.astimezone(SHOWN_ZONE)
    month = t(f"visit.month.{local.month}", lang)
    return t("visit.day_time", lang, month=month, day=local.day, time=f"{local:%H:%M}")


def to_bot_ticket(session: Session, ticket: Ticket, proven_by: ProvenBy) -> BotTicket:
    """The customer's view of a ticket, with what they may do next."""
    engineer = session.get(Engineer, ticket.engineer_id) if ticket.engineer_id else None
    expected = ticket_flows.expected_visit(session, ticket)
    eta = expected.eta
    allowed = set(lifecycle.allowed_actions(ticket, lifecycle.BOT))
    return BotTicket(
        number=ticket.number,
        type=ticket.type,
        type_label=label(TICKET_TYPE_LABELS, ticket.type),
        product=ticket.product,
        model_code=ticket.model_code,
        status=ticket.status,
        status_label=label(STATUS_LABELS, ticket.status),
        engineer_name=engineer.name if engineer else "",
        engineer_phone=engineer.phone if engineer else "",
        eta=eta,
        eta_text=_shown(eta, "zh") if eta else "",
        eta_text_en=_shown(eta, "en") if eta else "",
        preferred_time=str(ticket.details.get("preferred_time") or ""),
        visit_text=expected.text("zh"),
        visit_text_en=expected.text("en"),
        next_step=t(step) if (step := f"bot.next_step.{ticket.status}") in MESSAGES else "",
        can_urge="urge" in allowed,
        can_cancel="cancel" in allowed,
        can_reschedule=ticket.status in lifecycle.BEFORE_ARRIVAL,
        can_evaluate="evaluate" in allowed,
        created_at=ticket.created_at,
        proven_by=proven_by,
    )


def to_bound_customer(session: Session, customer: Customer) -> BoundCustomer:
    """The bot's view of a customer: contact, saved addresses, installed units."""
    assets = session.scalars(
        select(Asset).where(Asset.customer_id == customer.id).order_by(Asset.id)
    ).all()
    today = utcnow().astimezone(SHOWN_ZONE).date()
    return BoundCustomer(
        customer_id=customer.id,
        name=customer.name,
        phone=customer.phone,
        tier=customer.tier,
        addresses=[
            BotAddress(id=a.id, label=a.label, text=a.full, is_default=a.is_default)
            for a in customer.addresses
        ],
        assets=[
            BotAsset(
                id=a.id,
                serial_number=a.serial_number,
                product=a.model.product.category,
                model_code=a.model.code,
                model_name=a.model.name,
                address_id=a.address_id,
                in_warranty=a.in_warranty(today),
            )
            for a in assets
        ],
    )


def reschedule(session: Session, *, ticket: Ticket, window: str, principal: Principal) -> None:
    """Move the preferred visit window; only until the engineer is on site."""
    if ticket.status not in lifecycle.BEFORE_ARRIVAL:
        raise Conflict(
            "error.reschedule_not_allowed", current=Term.of(STATUS_LABELS, ticket.status)
        )
    if not window:
        raise Invalid("validation.missing", field="preferred_time")
    tickets.update_ticket(session, ticket=ticket, data=TicketUpdate(preferred_time=window))
    dispatch.follow_customer_window(session, ticket=ticket)
    # The engineer and dispatcher read the ticket's notes; the change is said there.
    tickets.add_comment(
        session,
        ticket=ticket,
        body=t("bot.rescheduled_note", window=window),
        internal=True,
        principal=principal,
    )
