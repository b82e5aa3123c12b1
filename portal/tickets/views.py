"""Ticket JSON routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from portal.database import SessionDep
from portal.i18n import STATUS_LABELS, TICKET_TYPE_LABELS, label
from portal.security import Principal, require_roles
from portal.tickets import service
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketCreate, TicketEventRead, TicketPage, TicketRead

router = APIRouter(prefix="/tickets", tags=["tickets"])

CanCreate = Annotated[Principal, require_roles("bot", "agent", "dispatcher")]
CanRead = Annotated[
    Principal, require_roles("bot", "agent", "dispatcher", "network_manager", "finance")
]


def to_read(ticket: Ticket, *, with_events: bool = False) -> TicketRead:
    """The API shape of a ticket, with display labels."""
    return TicketRead(
        id=ticket.id,
        number=ticket.number,
        type=ticket.type,
        type_label=label(TICKET_TYPE_LABELS, ticket.type),
        status=ticket.status,
        status_label=label(STATUS_LABELS, ticket.status),
        urgency=ticket.urgency,
        product=ticket.product,
        fault_description=ticket.fault_description,
        phone=ticket.phone,
        address=ticket.address,
        channel=ticket.channel,
        conversation_id=ticket.conversation_id,
        customer_id=ticket.customer_id,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        events=[TicketEventRead.model_validate(e) for e in ticket.events] if with_events else [],
    )


@router.post(
    "",
    response_model=TicketRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": TicketRead, "description": "Replayed: same key, same body"}},
)
def create_ticket(
    data: TicketCreate,
    session: SessionDep,
    principal: CanCreate,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> TicketRead:
    """Open a ticket. With an `Idempotency-Key`, a retry returns the same ticket (200)."""
    ticket, created = service.create_ticket(
        session, data=data, actor=principal.actor, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_read(ticket, with_events=True)


@router.get("", response_model=TicketPage)
def list_tickets(
    session: SessionDep,
    _principal: CanRead,
    status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
    phone: Annotated[str | None, Query(max_length=30)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> TicketPage:
    """Tickets, newest first, filtered by status or phone."""
    rows, total = service.list_tickets(
        session, status=status_, phone=phone, page=page, page_size=page_size
    )
    return TicketPage(items=[to_read(t) for t in rows], total=total, page=page, page_size=page_size)


@router.get("/{ref}", response_model=TicketRead)
def get_ticket(ref: str, session: SessionDep, _principal: CanRead) -> TicketRead:
    """One ticket by number (SR…) or id, with its history."""
    return to_read(service.get_ticket(session, ref=ref), with_events=True)
