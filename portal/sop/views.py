"""Standard job JSON routes: the library, and the job that applies to a ticket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from portal.assets.models import ProductModel
from portal.database import SessionDep
from portal.ids import IdPath
from portal.sop import service
from portal.sop.models import StandardJob
from portal.sop.policies import Editor, Reader
from portal.sop.schemas import SopCreate, SopForTicket, SopRead, SopUpdate, StandardPart
from portal.tickets import service as tickets

router = APIRouter(prefix="/sop", tags=["sop"])

# Everyone who works tickets may read the library; the ticket's own scoping still applies.
Readers = Reader
Editors = Editor
JobId = IdPath


def to_read(session: Session, job: StandardJob) -> SopRead:
    """The API shape of a standard job."""
    model = session.get(ProductModel, job.model_id) if job.model_id is not None else None
    return SopRead(
        id=job.id,
        code=job.code,
        title=job.title,
        service_type=job.service_type,
        model_code=model.code if model else None,
        product_category=job.product_category,
        steps=[str(s) for s in job.steps],
        safety_notes=[str(s) for s in job.safety_notes],
        standard_parts=[StandardPart.model_validate(p) for p in job.standard_parts],
        labour_hours=job.labour_hours,
        active=job.active,
        updated_at=job.updated_at,
    )


@router.get("/for-ticket/{ref}", response_model=SopForTicket)
def for_ticket(
    ref: Annotated[str, Path(max_length=32)], session: SessionDep, principal: Readers
) -> SopForTicket:
    """The standard job for a ticket (its model's, else its product category's) and the
    labour quota settlement uses; `sop` is null and the quota the service type's default when
    the library has nothing for it. An engineer gets only their own tickets (others: 404)."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    found = service.for_ticket(session, ticket=ticket)
    return SopForTicket(
        ticket_id=ticket.id,
        number=ticket.number,
        service_type=found.product.service_type,
        model_code=found.product.model.code if found.product.model else None,
        product_category=found.product.category,
        match=found.match,
        labour_quota_hours=service.labour_quota(session, ticket=ticket),
        sop=to_read(session, found.job) if found.job is not None else None,
    )


@router.get("/jobs", response_model=list[SopRead])
def list_jobs(
    session: SessionDep,
    _principal: Readers,
    service_type: Annotated[str | None, Query(max_length=32)] = None,
    product_category: Annotated[str | None, Query(max_length=32)] = None,
    model_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    active: bool | None = None,
) -> list[SopRead]:
    """The library, by service type, product category or model."""
    rows = service.list_jobs(
        session,
        service_type=service_type,
        product_category=product_category,
        model_id=model_id,
        active=active,
    )
    return [to_read(session, job) for job in rows]


@router.get("/jobs/{job_id}", response_model=SopRead)
def get_job(job_id: JobId, session: SessionDep, _principal: Readers) -> SopRead:
    """One standard job."""
    return to_read(session, service.get_job(session, job_id=job_id))


@router.post("/jobs", response_model=SopRead, status_code=status.HTTP_201_CREATED)
def create_job(body: SopCreate, session: SessionDep, _principal: Editors) -> SopRead:
    """Add a standard job for a model (`model_code`) or a product category."""
    return to_read(session, service.create_job(session, data=body))


@router.patch("/jobs/{job_id}", response_model=SopRead)
def update_job(job_id: JobId, body: SopUpdate, session: SessionDep, _principal: Editors) -> SopRead:
    """Change a standard job's text, parts, labour time or whether it is in use."""
    job = service.get_job(session, job_id=job_id)
    return to_read(session, service.update_job(session, job=job, data=body))
