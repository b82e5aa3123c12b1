"""What the bot may see and do for the customer it is talking to (service token only).

The bot's token can read every ticket, so these routes are where a conversation proves
that a ticket is the customer's own before anything is shown or changed: either the
conversation's channel identity is bound to the ticket's customer, or the caller gives
the ticket number together with a phone of that customer. Anything else is answered
exactly like a ticket that does not exist (404), so numbers cannot be probed.
The request/response shapes live here, not in schemas.py: they exist only for the bot.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.config import Settings
from portal.conversations import service as conversations
from portal.customers.models import Customer
from portal.customers.service import customer_for_identity, get_customer
from portal.database import SessionDep, utcnow
from portal.dispatch.models import DispatchVisit
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import MESSAGES, STATUS_LABELS, TICKET_TYPE_LABELS, label, t
from portal.networks.models import Engineer
from portal.security import Principal, require_roles
from portal.sla.service import timers_of
from portal.tickets import lifecycle, service
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketUpdate, TransitionRequest, normalize_phone

router = APIRouter(prefix="/bot", tags=["bot"])

BotOnly = Annotated[Principal, require_roles("bot")]
PublicId = Annotated[str, Path(min_length=1, max_length=64)]
TicketRef = Annotated[str, Path(min_length=1, max_length=32)]
SHOWN_ZONE = ZoneInfo("Asia/Shanghai")
# SR20261123-0007, also typed as sr20261123-0007 or SR202611230007.
_NUMBER = re.compile(r"^SR(\d{8})-?(\d{4})$", re.IGNORECASE)
OPEN_STATUSES = lifecycle.OPEN | {"completed"}


def canonical_number(raw: str) -> str | None:
    """SR20261123-0007 from the ways customers type it, or None."""
    match = _NUMBER.match(raw.strip())
    return f"SR{match.group(1)}-{match.group(2)}" if match else None


# ---------------------------------------------------------------- shapes


class BotAddress(BaseModel):
    """A saved address, as a button the bot can offer."""

    id: int
    label: str
    text: str
    is_default: bool


class BotAsset(BaseModel):
    """An installed unit, as a button the bot can offer."""

    id: int
    serial_number: str
    product: str
    model_code: str
    model_name: str
    address_id: int | None
    in_warranty: bool


class BoundCustomer(BaseModel):
    """The customer a conversation's channel identity is bound to."""

    customer_id: int
    name: str
    phone: str
    tier: str
    addresses: list[BotAddress]
    assets: list[BotAsset]


class BotTicket(BaseModel):
    """A ticket in the words the bot says to its customer."""

    number: str
    type: str
    type_label: str
    product: str
    model_code: str
    status: str
    status_label: str
    engineer_name: str
    engineer_phone: str
    eta: datetime | None
    eta_text: str
    preferred_time: str
    next_step: str
    can_urge: bool
    can_cancel: bool
    can_reschedule: bool
    can_evaluate: bool
    created_at: datetime


class BotTickets(BaseModel):
    """Tickets of the bound customer."""

    items: list[BotTicket]


class _Proof(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    phone: str = Field(default="", max_length=30, examples=["13800138000"])
    conversation_id: str = Field(default="", max_length=64)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value) if value else ""


class TicketLookup(_Proof):
    """A ticket number and the proof that it is the caller's."""

    number: str = Field(min_length=1, max_length=32, examples=["SR20261123-0007"])


class CustomerAction(_Proof):
    """Something the customer asks the bot to do on their ticket."""

    action: Literal["urge", "cancel", "reschedule", "evaluate"]
    reason: str = Field(default="", max_length=500)
    preferred_time: str = Field(default="", max_length=64)
    score: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


# ---------------------------------------------------------------- reads


def bound_customer(session: Session, *, public_id: str) -> Customer | None:
    """The customer behind a conversation: set on it, or bound to its channel identity."""
    conversation = conversations.get_by_public_id(session, public_id=public_id)
    if conversation.customer_id is not None:
        return get_customer(session, customer_id=conversation.customer_id)
    return customer_for_identity(
        session, channel=conversation.channel, external_id=conversation.sender_id
    )


def _phones(customer: Customer) -> set[str]:
    return {customer.phone, *(p.phone for p in customer.phones)}


def owned_ticket(session: Session, *, ref: str, proof: _Proof) -> Ticket:
    """The ticket if the conversation or the phone proves it is the customer's; else 404."""
    number = canonical_number(ref)
    if number is None:
        raise NotFound("object.ticket")
    ticket = session.scalars(select(Ticket).where(Ticket.number == number)).first()
    if ticket is None:
        raise NotFound("object.ticket")
    if proof.conversation_id:
        try:
            customer = bound_customer(session, public_id=proof.conversation_id)
        except NotFound:
            customer = None
        if customer is not None and customer.id == ticket.customer_id:
            return ticket
    if proof.phone and (proof.phone == ticket.phone or proof.phone in _phones(ticket.customer)):
        return ticket
    raise NotFound("object.ticket")


def _eta(session: Session, ticket: Ticket) -> datetime | None:
    if ticket.status not in lifecycle.BEFORE_ARRIVAL:
        return None
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    if visit is not None and visit.eta is not None:
        return visit.eta
    arrival = timers_of(session, ticket_id=ticket.id, kinds=("arrival",), states=("pending",))
    return arrival[-1].due_at if arrival else None


def to_bot_ticket(session: Session, ticket: Ticket) -> BotTicket:
    """The customer's view of a ticket, with what they may do next."""
    engineer = session.get(Engineer, ticket.engineer_id) if ticket.engineer_id else None
    eta = _eta(session, ticket)
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
        eta_text=eta.astimezone(SHOWN_ZONE).strftime("%m月%d日 %H:%M") if eta else "",
        preferred_time=str(ticket.details.get("preferred_time") or ""),
        next_step=t(step) if (step := f"bot.next_step.{ticket.status}") in MESSAGES else "",
        can_urge="urge" in allowed,
        can_cancel="cancel" in allowed,
        can_reschedule=ticket.status in lifecycle.BEFORE_ARRIVAL,
        can_evaluate="evaluate" in allowed,
        created_at=ticket.created_at,
    )


# ---------------------------------------------------------------- routes


@router.get("/conversations/{public_id}/customer", response_model=BoundCustomer)
def get_bound_customer(public_id: PublicId, session: SessionDep, _p: BotOnly) -> BoundCustomer:
    """The customer bound to this conversation, with saved addresses and units (else 404)."""
    customer = bound_customer(session, public_id=public_id)
    if customer is None:
        raise NotFound("object.customer")
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


@router.get("/conversations/{public_id}/tickets", response_model=BotTickets)
def bound_customer_tickets(
    public_id: PublicId,
    session: SessionDep,
    _p: BotOnly,
    scope: Annotated[Literal["open", "to_rate", "all"], Query()] = "open",
) -> BotTickets:
    """The bound customer's tickets, newest first: still open, waiting for a rating, or all."""
    customer = bound_customer(session, public_id=public_id)
    if customer is None:
        raise NotFound("object.customer")
    statuses = {"open": OPEN_STATUSES, "to_rate": {"completed"}, "all": None}[scope]
    rows, _ = service.list_tickets(
        session,
        customer_id=customer.id,
        status=sorted(statuses) if statuses else None,
        page_size=10,
    )
    return BotTickets(items=[to_bot_ticket(session, row) for row in rows])


@router.post("/tickets/lookup", response_model=BotTicket)
def lookup(data: TicketLookup, session: SessionDep, _p: BotOnly) -> BotTicket:
    """A ticket, if the phone (or the conversation) proves it is the customer's; else 404."""
    return to_bot_ticket(session, owned_ticket(session, ref=data.number, proof=data))


@router.post("/tickets/{ref}/actions", response_model=BotTicket)
def customer_action(
    ref: TicketRef, data: CustomerAction, request: Request, session: SessionDep, principal: BotOnly
) -> BotTicket:
    """Urge, cancel, reschedule or rate the customer's own ticket; 409 says why not now."""
    ticket = owned_ticket(session, ref=ref, proof=data)
    if data.action == "reschedule":
        reschedule(session, ticket=ticket, window=data.preferred_time, principal=principal)
    else:
        settings: Settings = request.app.state.settings
        service.transition(
            session,
            ticket=ticket,
            req=TransitionRequest(
                action=data.action, reason=data.reason, score=data.score, comment=data.comment
            ),
            principal=principal,
            reopen_window=timedelta(days=settings.reopen_window_days),
        )
    return to_bot_ticket(session, ticket)


def reschedule(session: Session, *, ticket: Ticket, window: str, principal: Principal) -> None:
    """Move the preferred visit window; only until the engineer is on site."""
    if ticket.status not in lifecycle.BEFORE_ARRIVAL:
        current_zh, current_en = STATUS_LABELS.get(ticket.status, (ticket.status, ticket.status))
        raise Conflict("error.reschedule_not_allowed", current=current_zh, current_en=current_en)
    if not window:
        raise Invalid(
            "validation.missing",
            field="preferred_time",
            field_zh="上门时间",
            field_en="preferred time",
        )
    service.update_ticket(session, ticket=ticket, data=TicketUpdate(preferred_time=window))
    # The engineer and dispatcher read the ticket's notes; the change is said there.
    service.add_comment(
        session,
        ticket=ticket,
        body=t("bot.rescheduled_note", window=window),
        internal=True,
        principal=principal,
    )
