"""What the bot may see and do for the customer it is talking to (service token only).

The bot's token can read every ticket, so these routes are where a conversation proves
that a ticket is the customer's own before anything is shown or changed: either the
conversation's channel identity is bound to the ticket's customer, or the caller gives
the ticket number together with a phone of that customer. Anything else is answered
exactly like a ticket that does not exist (404), so numbers cannot be probed.
A customer without their ticket number can bind the chat instead: the bot asks for a
one-time code on their phone (POST .../code) and sends back what they type (.../verify).
The request/response shapes live here, not in schemas.py: they exist only for the bot.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Conversation
from portal.customers import service as customers
from portal.customers.models import Customer
from portal.customers.schemas import CodeSent
from portal.customers.service import customer_for_identity, get_customer
from portal.database import SessionDep, utcnow
from portal.dispatch.models import DispatchVisit
from portal.errors import Conflict, Invalid, NotFound, error_response
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
# Codes the bot asks for to bind a chat; checked only by verify_bind_code below.
BIND_PURPOSE = "bind_chat"


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


class BindPhone(BaseModel):
    """The phone a customer gives in the chat to be sent a one-time code."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    phone: str = Field(max_length=30, examples=["13800138000"])

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class BindCode(BindPhone):
    """The code the customer received, typed into the chat."""

    code: str = Field(pattern=r"^\d{6}$", examples=["123456"])


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


@router.get("/conversations/{public_id}/customer", response_model=BoundCustomer)
def get_bound_customer(public_id: PublicId, session: SessionDep, _p: BotOnly) -> BoundCustomer:
    """The customer bound to this conversation, with saved addresses and units (else 404)."""
    customer = bound_customer(session, public_id=public_id)
    if customer is None:
        raise NotFound("object.customer")
    return to_bound_customer(session, customer)


@router.post(
    "/conversations/{public_id}/code",
    response_model=CodeSent,
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"description": "A code went to this phone less than a minute ago"}},
)
def send_bind_code(
    public_id: PublicId, data: BindPhone, request: Request, session: SessionDep, _p: BotOnly
) -> CodeSent:
    """Text a one-time code to the phone a customer gave in this chat (one a minute), so
    that typing it back binds the chat to them (verify below)."""
    conversations.get_by_public_id(session, public_id=public_id)
    settings: Settings = request.app.state.settings
    customers.request_code(
        session,
        secret=settings.secret_key,
        phone=data.phone,
        purpose=BIND_PURPOSE,
        ttl_s=settings.otp_ttl_s,
        demo_mode=settings.demo_mode,
    )
    return CodeSent(expires_in=settings.otp_ttl_s)


@router.post(
    "/conversations/{public_id}/verify",
    response_model=BoundCustomer,
    responses={422: {"description": "Wrong, used or expired code"}},
)
def verify_bind_code(
    public_id: PublicId, data: BindCode, request: Request, session: SessionDep, _p: BotOnly
) -> BoundCustomer | JSONResponse:
    """Check the code; on success the chat's channel identity is bound to the phone's
    customer (created if new) and the customer is returned as GET .../customer does."""
    conversation = conversations.get_by_public_id(session, public_id=public_id)
    settings: Settings = request.app.state.settings
    try:
        customer = customers.verify_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            code=data.code,
            purpose=BIND_PURPOSE,
        )
    except Invalid as exc:
        # Answered, not raised, so the counted attempt is committed and 5 misses burn the code.
        return error_response(Invalid(exc.key, field="code"))
    bind_conversation(session, conversation=conversation, customer=customer)
    return to_bound_customer(session, customer)


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
