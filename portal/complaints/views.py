"""Complaint JSON routes: the list, one case, a case recorded by hand, an action on a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from portal.complaints import flows, policies, service
from portal.complaints.models import Complaint
from portal.complaints.policies import Handler, Reader
from portal.complaints.schemas import (
    ComplaintActionRequest,
    ComplaintCreate,
    ComplaintEventRead,
    ComplaintPage,
    ComplaintRead,
)
from portal.database import SessionDep, utcnow
from portal.ids import IdPath

router = APIRouter(prefix="/complaints", tags=["complaints"])


def to_read(complaint: Complaint) -> ComplaintRead:
    """The API shape of a case."""
    return ComplaintRead(
        id=complaint.id,
        ticket_id=complaint.ticket_id,
        ticket_number=complaint.ticket.number,
        customer_id=complaint.customer_id,
        network_id=complaint.network_id,
        source=complaint.source,
        reason=complaint.reason,
        description=complaint.description,
        score=complaint.score,
        status=complaint.status,
        owner_id=complaint.owner_id,
        deadline_at=complaint.deadline_at,
        overdue=complaint.status in service.ACTIVE and complaint.deadline_at < utcnow(),
        outcome=complaint.outcome,
        opened_by=complaint.opened_by,
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
        resolved_at=complaint.resolved_at,
        closed_at=complaint.closed_at,
        confirmation=complaint.confirmation,
        confirm_due_at=complaint.confirm_due_at,
        follow_up_ticket_number=complaint.follow_up.number if complaint.follow_up else None,
        events=[ComplaintEventRead.model_validate(e) for e in complaint.events],
    )


@router.get("", response_model=ComplaintPage)
def list_complaints(
    session: SessionDep,
    principal: Reader,
    status_: Annotated[
        str, Query(alias="status", pattern=r"^(|active|open|in_progress|resolved|closed)$")
    ] = "",
    reason: Annotated[str, Query(pattern=r"^(|" + "|".join(service.REASONS) + ")$")] = "",
    source: Annotated[str, Query(pattern=r"^(|" + "|".join(service.SOURCES) + ")$")] = "",
    ticket: Annotated[str, Query(max_length=32)] = "",
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ComplaintPage:
    """Complaint cases the caller sees (a network manager: their network's), due first."""
    rows, total = service.list_cases(
        session,
        scope=policies.READ.scope(principal),
        filters=service.CaseFilters(
            status=status_, reason=reason, source=source, number=ticket, overdue=overdue
        ),
        now=utcnow(),
        limit=limit,
        offset=offset,
    )
    return ComplaintPage(items=[to_read(c) for c in rows], total=total)


@router.get("/{complaint_id}", response_model=ComplaintRead)
def get_complaint(complaint_id: IdPath, session: SessionDep, principal: Reader) -> ComplaintRead:
    """One case with its history."""
    return to_read(
        service.get_case(session, complaint_id=complaint_id, scope=policies.READ.scope(principal))
    )


@router.post("", response_model=ComplaintRead, status_code=status.HTTP_201_CREATED)
def create_complaint(
    data: ComplaintCreate, request: Request, session: SessionDep, principal: Handler
) -> ComplaintRead:
    """Record a complaint about a ticket (by phone, in a chat …); due on the ticket's SLA
    clock."""
    complaint = flows.open_by_hand(
        session,
        ticket_number=data.ticket_number,
        source=data.source,
        reason=data.reason,
        description=data.description,
        principal=principal,
        settings=request.app.state.settings,
    )
    return to_read(complaint)


@router.post("/{complaint_id}/actions", response_model=ComplaintRead)
def act_on_complaint(
    complaint_id: IdPath,
    data: ComplaintActionRequest,
    request: Request,
    session: SessionDep,
    principal: Handler,
) -> ComplaintRead:
    """Take, note, reclassify, resolve (the customer is asked to accept the outcome;
    `follow_up` opens the repair visit it promises), reopen, close once the customer
    accepted, or close on a confirmation by phone (`confirm_phone`, with a note)."""
    complaint = service.get_case(
        session, complaint_id=complaint_id, scope=policies.HANDLE.scope(principal)
    )
    flows.act(
        session,
        complaint=complaint,
        action=data.action,
        principal=principal,
        note=data.note,
        reason=data.reason,
        follow_up=data.follow_up,
        settings=request.app.state.settings,
    )
    return to_read(complaint)
