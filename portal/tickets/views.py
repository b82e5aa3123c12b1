"""Ticket JSON routes: thin; every rule lives in service and lifecycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime

from portal.config import Settings
from portal.customers.service import get_customer
from portal.database import SessionDep
from portal.i18n import ACTION_LABELS, STATUS_LABELS, TICKET_TYPE_LABELS, label
from portal.ids import IdPath
from portal.privacy.masking import ticket_phone, ticket_text
from portal.security import Principal
from portal.tickets import lifecycle, service, templates
from portal.tickets.models import Ticket
from portal.tickets.policies import Actor, Creator, Editor, Reader, StaffReader
from portal.tickets.schemas import (
    AttachmentRead,
    CommentCreate,
    CommentRead,
    StageDurations,
    TicketCreate,
    TicketEventRead,
    TicketPage,
    TicketRead,
    TicketUpdate,
    TimelineEntry,
    TransitionRequest,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])
templates_router = APIRouter(tags=["tickets"])


def to_read(
    ticket: Ticket, principal: Principal | None = None, *, with_events: bool = False
) -> TicketRead:
    """The API shape of a ticket, with display labels and what the caller may do next."""
    staff = principal is None or principal.kind != "customer"
    return TicketRead(
        id=ticket.id,
        number=ticket.number,
        type=ticket.type,
        type_label=label(TICKET_TYPE_LABELS, ticket.type),
        status=ticket.status,
        status_label=label(STATUS_LABELS, ticket.status),
        urgency=ticket.urgency,
        product=ticket.product,
        fault_description=ticket_text(principal, ticket, ticket.fault_description),
        phone=ticket_phone(principal, ticket),
        address=ticket.address,
        city=ticket.city,
        district=ticket.district,
        model_code=ticket.model_code,
        serial_number=ticket.serial_number,
        details=ticket.details,
        channel=ticket.channel,
        conversation_id=ticket.conversation_id if staff else None,
        customer_id=ticket.customer_id,
        asset_id=ticket.asset_id,
        network_id=ticket.network_id,
        engineer_id=ticket.engineer_id,
        escalated=ticket.escalated,
        reopen_count=ticket.reopen_count,
        allowed_actions=lifecycle.allowed_actions(ticket, principal.role) if principal else [],
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        events=[TicketEventRead.model_validate(e) for e in ticket.events]
        if with_events and staff
        else [],
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
    principal: Creator,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> TicketRead:
    """Open a ticket. With an `Idempotency-Key`, a retry returns the same ticket (200)."""
    customer = None
    if principal.customer_id is not None:
        customer = get_customer(session, customer_id=principal.customer_id)
    key = f"{principal.actor}:{idempotency_key}" if idempotency_key else None
    ticket, created = service.create_ticket(
        session, data=data, actor=principal.actor, idempotency_key=key, customer=customer
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return to_read(ticket, principal, with_events=True)


@router.get("", response_model=TicketPage)
def list_tickets(
    session: SessionDep,
    principal: Reader,
    status_: Annotated[list[str] | None, Query(alias="status", max_length=20)] = None,
    view: Annotated[str | None, Query(max_length=32)] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=32)] = None,
    phone: Annotated[str | None, Query(max_length=30)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    network_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    engineer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    escalated: bool | None = None,
    # With their zone (as OpenAPI's date-time requires); a naive time cannot be compared.
    created_from: AwareDatetime | None = None,
    created_to: AwareDatetime | None = None,
    sort: Annotated[str, Query(pattern=r"^-?(created_at|updated_at|number|status)$")] = (
        "-created_at"
    ),
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> TicketPage:
    """Tickets the caller may see, filtered (status, saved view, type, text …) and sorted."""
    rows, total = service.list_tickets(
        session,
        principal=principal,
        status=status_,
        view=view,
        type_=type_,
        phone=phone,
        q=q,
        network_id=network_id,
        engineer_id=engineer_id,
        customer_id=customer_id,
        escalated=escalated,
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        page=page,
        page_size=page_size,
    )
    return TicketPage(
        items=[to_read(t, principal) for t in rows], total=total, page=page, page_size=page_size
    )


@router.get("/{ref}", response_model=TicketRead)
def get_ticket(ref: str, session: SessionDep, principal: Reader) -> TicketRead:
    """One ticket by number (SR…) or id, with its history (staff) — 404 if not yours."""
    return to_read(
        service.get_ticket(session, ref=ref, principal=principal), principal, with_events=True
    )


@router.patch("/{ref}", response_model=TicketRead)
def update_ticket(
    ref: str, data: TicketUpdate, session: SessionDep, principal: Editor
) -> TicketRead:
    """Correct or complete the intake fields (desk staff)."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return to_read(
        service.update_ticket(session, ticket=ticket, data=data), principal, with_events=True
    )


@router.post("/{ref}/transitions", response_model=TicketRead)
def transition(
    ref: str,
    req: TransitionRequest,
    request: Request,
    session: SessionDep,
    principal: Actor,
) -> TicketRead:
    """Take one lifecycle action (accept, dispatch, depart, complete, cancel …)."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    service.transition(
        session,
        ticket=ticket,
        req=req,
        principal=principal,
        reopen_window=timedelta(days=settings.reopen_window_days),
    )
    return to_read(ticket, principal, with_events=True)


@router.get("/{ref}/stages", response_model=StageDurations)
def stages(ref: str, session: SessionDep, principal: StaffReader) -> StageDurations:
    """Seconds spent in each EIE stage t1–t9."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return StageDurations(**lifecycle.stage_durations(list(ticket.events)))


@router.get("/{ref}/timeline", response_model=list[TimelineEntry])
def timeline(ref: str, session: SessionDep, principal: Reader) -> list[TimelineEntry]:
    """What happened, in the words shown to customers."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return [
        TimelineEntry(
            at=e.created_at,
            status=e.to_status,
            status_label=label(STATUS_LABELS, e.to_status),
            text=label(ACTION_LABELS, e.action),
        )
        for e in service.timeline(ticket)
    ]


@router.get("/{ref}/comments", response_model=list[CommentRead])
def comments(ref: str, session: SessionDep, principal: Reader) -> list[Any]:
    """The ticket's notes (internal ones only for staff)."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return [
        CommentRead.model_validate(c).model_copy(
            update={"body": ticket_text(principal, ticket, c.body)}
        )
        for c in service.list_comments(session, ticket=ticket, principal=principal)
    ]


@router.post("/{ref}/comments", response_model=CommentRead, status_code=201)
def add_comment(ref: str, data: CommentCreate, session: SessionDep, principal: Reader) -> Any:
    """Add a note; customers' notes are always visible to them."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return service.add_comment(
        session, ticket=ticket, body=data.body, internal=data.internal, principal=principal
    )


@router.get("/{ref}/attachments", response_model=list[AttachmentRead])
def attachments(ref: str, session: SessionDep, principal: Reader) -> list[Any]:
    """The ticket's photos and documents."""
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    return service.list_attachments(session, ticket=ticket)


@router.post("/{ref}/attachments", response_model=AttachmentRead, status_code=201)
async def upload(
    ref: str,
    request: Request,
    session: SessionDep,
    principal: Reader,
    file: Annotated[UploadFile, File()],
) -> Any:
    """Attach a photo (JPG/PNG/GIF/WEBP) or PDF, checked by content and size."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    data = await file.read(settings.upload_max_bytes + 1)
    return service.save_attachment(
        session,
        ticket=ticket,
        filename=file.filename or "upload",
        data=data,
        principal=principal,
        root=settings.uploads_path,
        max_bytes=settings.upload_max_bytes,
    )


@router.get("/{ref}/attachments/{attachment_id}", response_class=FileResponse)
def download(
    ref: str,
    attachment_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: Reader,
) -> FileResponse:
    """The attachment's bytes."""
    settings: Settings = request.app.state.settings
    ticket = service.get_ticket(session, ref=ref, principal=principal)
    attachment = service.get_attachment(session, ticket=ticket, attachment_id=attachment_id)
    return FileResponse(
        settings.uploads_path / attachment.storage_key,
        media_type=attachment.content_type,
        filename=attachment.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


@templates_router.get("/ticket-templates")
def ticket_templates() -> list[dict[str, Any]]:
    """The intake template of each ticket type: fields needed to create and to accept."""
    return templates.describe()
