"""The bot's routes: `/api/v1/bot/conversations/{public_id}/...`, one chat at a time.

Who the chat's customer is comes from the chat (a channel identity bound by a one-time
code), never from the bot. A ticket is the chat's customer's when the chat is bound to its
customer, or when the customer types the number with their phone (to follow it up and urge
it) and the ticket's check code (to cancel, move the visit or rate it). Anything else is
answered exactly like a ticket that does not exist (404), so numbers cannot be probed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from portal.botapi import service
from portal.botapi.policies import BotCaller
from portal.botapi.schemas import (
    BindCode,
    BindPhone,
    BotFiled,
    BotKbFeedback,
    BotTicket,
    BotTicketCreate,
    BotTickets,
    BoundCustomer,
    CustomerAction,
    TicketLookup,
)
from portal.config import Settings
from portal.conversations.flows import ConversationHub
from portal.conversations.schemas import HandoffRequest, HandoffResult
from portal.customers import service as customers
from portal.customers.schemas import CodeSent
from portal.database import SessionDep
from portal.errors import Invalid, NotFound, error_response
from portal.i18n import STATUS_LABELS, label
from portal.intake.schemas import AddressRead, IntakeParseRequest, IntakeRead, WindowRead
from portal.intake.service import read_message
from portal.intake.windows import ZONE
from portal.knowledge import flows as kb_flows
from portal.knowledge import service as kb_service
from portal.knowledge.schemas import KbFeedbackRead, KbHitRead, KbSearchRead
from portal.sla import service as sla
from portal.sla.schemas import PromiseRead
from portal.sla.views import promise_text
from portal.tickets import service as tickets
from portal.tickets.schemas import TicketCreate, TransitionRequest

router = APIRouter(prefix="/bot/conversations/{public_id}", tags=["bot"])

PublicId = Annotated[str, Path(min_length=1, max_length=64)]
TicketRef = Annotated[str, Path(min_length=1, max_length=32)]
# Codes the bot asks for to bind a chat; checked only by verify_bind_code below.
BIND_PURPOSE = "bind_chat"
TICKET_CHANNELS = frozenset({"web", "wechat", "rest"})


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/customer", response_model=BoundCustomer)
def get_bound_customer(public_id: PublicId, session: SessionDep, _p: BotCaller) -> BoundCustomer:
    """The customer this chat is bound to, with saved addresses and units (else 404)."""
    conversation = service.chat(session, public_id=public_id)
    customer = service.bound_customer(session, conversation=conversation)
    if customer is None:
        raise NotFound("object.customer")
    return service.to_bound_customer(session, customer)


@router.post(
    "/code",
    response_model=CodeSent,
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"description": "Too soon, or over a daily cap (see Retry-After)"}},
)
def send_bind_code(
    public_id: PublicId, data: BindPhone, request: Request, session: SessionDep, _p: BotCaller
) -> CodeSent | JSONResponse:
    """Text a one-time code to the phone a customer gave in this chat, so that typing it
    back binds the chat to them (verify below). The code limits count per phone and per chat."""
    conversation = service.chat(session, public_id=public_id)
    settings = _settings(request)
    try:
        customers.request_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            purpose=BIND_PURPOSE,
            ttl_s=settings.otp_ttl_s,
            demo_mode=settings.demo_mode,
            requester=customers.chat_requester(conversation.channel, conversation.sender_id),
            limits=customers.CodeLimits.from_settings(settings),
        )
    except customers.BudgetReached as exc:
        return error_response(exc)  # answered, so the admins' alarm is committed
    return CodeSent(expires_in=settings.otp_ttl_s)


@router.post(
    "/verify",
    response_model=BoundCustomer,
    responses={422: {"description": "Wrong, used or expired code"}},
)
def verify_bind_code(
    public_id: PublicId, data: BindCode, request: Request, session: SessionDep, _p: BotCaller
) -> BoundCustomer | JSONResponse:
    """Check the code; on success the chat's channel identity is bound to the phone's
    customer (created if new) and the customer is returned as GET .../customer does."""
    conversation = service.chat(session, public_id=public_id)
    settings = _settings(request)
    try:
        customer = customers.verify_code(
            session,
            secret=settings.secret_key,
            phone=data.phone,
            code=data.code,
            purpose=BIND_PURPOSE,
            requester=customers.chat_requester(conversation.channel, conversation.sender_id),
            limits=customers.CodeLimits.from_settings(settings),
        )
    except Invalid as exc:
        # Answered, not raised, so the counted attempt is committed and 5 misses burn the code.
        return error_response(Invalid(exc.key, field="code"))
    service.bind_conversation(session, conversation=conversation, customer=customer)
    return service.to_bound_customer(session, customer)


@router.get("/tickets", response_model=BotTickets)
def bound_customer_tickets(
    public_id: PublicId,
    session: SessionDep,
    _p: BotCaller,
    scope: Annotated[Literal["open", "to_rate", "all"], Query()] = "open",
) -> BotTickets:
    """The bound customer's tickets, newest first: still open, waiting for a rating, or all."""
    conversation = service.chat(session, public_id=public_id)
    customer = service.bound_customer(session, conversation=conversation)
    if customer is None:
        raise NotFound("object.customer")
    statuses = {"open": service.OPEN_STATUSES, "to_rate": {"completed"}, "all": None}[scope]
    rows, _ = tickets.list_tickets(
        session,
        customer_id=customer.id,
        status=sorted(statuses) if statuses else None,
        page_size=10,
    )
    return BotTickets(items=[service.to_bot_ticket(session, row, "conversation") for row in rows])


@router.post(
    "/tickets",
    response_model=BotFiled,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": BotFiled, "description": "Replayed: same key, same body"}},
)
def file_ticket(
    public_id: PublicId,
    data: BotTicketCreate,
    session: SessionDep,
    principal: BotCaller,
    response: Response,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
) -> BotFiled:
    """File a ticket from this chat; the same `Idempotency-Key` returns the same ticket (200).
    The answer carries the check code the customer is told with the number."""
    conversation = service.chat(session, public_id=public_id)
    channel = conversation.channel if conversation.channel in TICKET_CHANNELS else "portal"
    filed = TicketCreate.model_validate(
        {**data.model_dump(), "channel": channel, "conversation_id": conversation.public_id}
    )
    ticket, created = tickets.create_ticket(
        session,
        data=filed,
        actor=principal.actor,
        idempotency_key=f"{principal.actor}:{public_id}:{idempotency_key}",
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return BotFiled(
        id=ticket.id,
        number=ticket.number,
        type=ticket.type,
        status=ticket.status,
        status_label=label(STATUS_LABELS, ticket.status),
        check_code=ticket.check_code,
    )


@router.post(
    "/tickets/lookup",
    response_model=BotTicket,
    responses={403: {"description": "Needs the check code or a chat bound by a code"}},
)
def lookup(
    public_id: PublicId, data: TicketLookup, session: SessionDep, _p: BotCaller
) -> BotTicket | JSONResponse:
    """A ticket, if the chat (or number + phone + check code) proves it is the customer's;
    403 without the code, else 404."""
    conversation = service.chat(session, public_id=public_id)
    try:
        ticket, proven_by = service.owned_ticket(
            session, conversation=conversation, ref=data.number, proof=data
        )
    except service.Refused as refused:
        return error_response(refused.error)
    return service.to_bot_ticket(session, ticket, proven_by)


@router.post(
    "/tickets/{ref}/actions",
    response_model=BotTicket,
    responses={403: {"description": "Needs the check code or a chat bound by a code"}},
)
def customer_action(
    public_id: PublicId,
    ref: TicketRef,
    data: CustomerAction,
    request: Request,
    session: SessionDep,
    principal: BotCaller,
) -> BotTicket | JSONResponse:
    """Urge, cancel, reschedule or rate the chat customer's own ticket; 409 says why not now,
    403 that number + phone is not proof enough without the check code."""
    conversation = service.chat(session, public_id=public_id)
    try:
        ticket, proven_by = service.owned_ticket(
            session, conversation=conversation, ref=ref, proof=data
        )
    except service.Refused as refused:
        return error_response(refused.error)
    if data.action == "reschedule":
        service.reschedule(session, ticket=ticket, window=data.preferred_time, principal=principal)
    else:
        tickets.transition(
            session,
            ticket=ticket,
            req=TransitionRequest(
                action=data.action, reason=data.reason, score=data.score, comment=data.comment
            ),
            principal=principal,
            reopen_window=timedelta(days=_settings(request).reopen_window_days),
        )
    return service.to_bot_ticket(session, ticket, proven_by)


@router.post("/handoff", response_model=HandoffResult, status_code=status.HTTP_202_ACCEPTED)
async def handoff(
    public_id: PublicId, body: HandoffRequest, request: Request, principal: BotCaller
) -> HandoffResult:
    """Hand this chat to a human: it waits for an agent (or, off duty, stays with the bot
    and `queued`/`on_duty` are false)."""
    hub: ConversationHub = request.app.state.hub
    return await hub.do_handoff(
        public_id=public_id,
        reason=body.reason,
        summary=body.summary,
        actor=principal.actor,
        product_line=body.product_line,
        language=body.language,
    )


@router.get("/kb/search", response_model=KbSearchRead)
def kb_search(
    public_id: PublicId,
    request: Request,
    session: SessionDep,
    _p: BotCaller,
    q: Annotated[str, Query(min_length=1, max_length=500, description="The question")],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
    product: Annotated[str, Query(max_length=32, description="A model code, e.g. WM-100")] = "",
) -> KbSearchRead:
    """The best FAQ entries for the chat customer's question (404: no FAQ loaded)."""
    service.chat(session, public_id=public_id)
    kb = kb_flows.current(request)
    band, hits = kb_flows.search(session, kb=kb, query=q, k=k, product=product, source="bot")
    return KbSearchRead(
        query=q,
        band=band,  # type: ignore[arg-type]  # one of kb_service.BANDS
        results=[KbHitRead.from_hit(h) for h in hits],
    )


@router.post("/kb/feedback", response_model=KbFeedbackRead, status_code=status.HTTP_201_CREATED)
def kb_feedback(
    public_id: PublicId, body: BotKbFeedback, request: Request, session: SessionDep, _p: BotCaller
) -> KbFeedbackRead:
    """Record whether an answer helped this chat's customer."""
    service.chat(session, public_id=public_id)
    kb = kb_flows.current(request)
    if kb.get(body.entry_id) is None:
        raise NotFound("object.kb_entry")
    counts = kb_service.record_feedback(
        session,
        entry_id=body.entry_id,
        helpful=body.helpful,
        source="bot",
        query=body.query,
        conversation_id=public_id,
    )
    return KbFeedbackRead(
        entry_id=body.entry_id, helpful=counts.helpful, not_helpful=counts.not_helpful
    )


@router.post("/intake/parse", response_model=IntakeRead)
def parse_intake(
    public_id: PublicId, body: IntakeParseRequest, session: SessionDep, _p: BotCaller
) -> IntakeRead:
    """Read a message of this chat: the visit window it names (or why it cannot be booked),
    the address and the mobile number it holds."""
    service.chat(session, public_id=public_id)
    now = body.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZONE)
    found = read_message(text=body.text, now=now)
    window, place = found.window, found.address
    return IntakeRead(
        window=WindowRead(
            start=window.start,
            end=window.end,
            canonical=window.canonical,
            label_zh=window.label("zh"),
            label_en=window.label("en"),
        )
        if window
        else None,
        window_error=found.window_error,
        address=AddressRead(
            province=place.province,
            city=place.city,
            district=place.district,
            detail=place.detail,
            full=place.full,
        )
        if place
        else None,
        phone=found.phone,
    )


@router.get("/sla/promise", response_model=PromiseRead)
def sla_promise(
    public_id: PublicId,
    request: Request,
    session: SessionDep,
    _p: BotCaller,
    ticket_type: Annotated[
        Literal["installation", "repair", "maintenance", "consultation", "complaint"],
        Query(alias="type"),
    ] = "repair",
    urgency: Annotated[Literal["low", "normal", "high", "urgent"], Query()] = "normal",
) -> PromiseRead:
    """The response time a new ticket from this chat is promised (the bound customer's tier,
    else normal), in words for the customer."""
    conversation = service.chat(session, public_id=public_id)
    customer = service.bound_customer(session, conversation=conversation)
    tier = customer.tier if customer is not None else "normal"
    defaults = sla.SlaDefaults.from_settings(_settings(request))
    terms = sla.match_policy(
        session, ticket_type=ticket_type, urgency=urgency, tier=tier, defaults=defaults
    )
    minutes = terms.minutes["response"]
    return PromiseRead(
        ticket_type=ticket_type,
        tier=tier,
        urgency=urgency,
        policy=terms.name,
        response_minutes=minutes,
        business_hours=terms.business_hours,
        text_zh=promise_text(minutes, terms.business_hours, "zh"),
        text_en=promise_text(minutes, terms.business_hours, "en"),
    )
