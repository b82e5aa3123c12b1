"""Reads and writes of standard jobs, the lookup for a ticket, and the labour quota."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.assets.models import Asset, Product, ProductModel
from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.sop.models import StandardJob
from portal.sop.schemas import SopCreate, SopUpdate
from portal.tickets.models import Ticket

# The job a ticket type is done as on site; a complaint or consultation that ends up needing a
# visit is a repair visit.
SERVICE_TYPE_FOR_TICKET: dict[str, str] = {
    "installation": "installation",
    "repair": "repair",
    "maintenance": "maintenance",
    "consultation": "repair",
    "complaint": "repair",
}
# The labour quota when no standard job matches: the platform's flat rate per service type.
DEFAULT_LABOUR_HOURS: dict[str, Decimal] = {
    "installation": Decimal("1.50"),
    "repair": Decimal("1.00"),
    "maintenance": Decimal("1.00"),
}
HOURS = Decimal("0.01")

Match = Literal["model", "category", "none"]


@dataclass(frozen=True, slots=True)
class TicketProduct:
    """What a ticket is about, as the SOP lookup needs it."""

    service_type: str
    model: ProductModel | None
    category: str


@dataclass(frozen=True, slots=True)
class SopMatch:
    """The standard job for a ticket (None when nothing matched) and how it matched."""

    product: TicketProduct
    job: StandardJob | None
    match: Match


def get_job(session: Session, *, job_id: int) -> StandardJob:
    """A standard job by id."""
    job = session.get(StandardJob, job_id)
    if job is None:
        raise NotFound("object.sop")
    return job


def list_jobs(
    session: Session,
    *,
    service_type: str | None = None,
    product_category: str | None = None,
    model_id: int | None = None,
    active: bool | None = None,
) -> list[StandardJob]:
    """Standard jobs, by service type, category or model."""
    stmt = select(StandardJob).order_by(StandardJob.code)
    if service_type:
        stmt = stmt.where(StandardJob.service_type == service_type)
    if product_category:
        stmt = stmt.where(StandardJob.product_category == product_category)
    if model_id is not None:
        stmt = stmt.where(StandardJob.model_id == model_id)
    if active is not None:
        stmt = stmt.where(StandardJob.active.is_(active))
    return list(session.scalars(stmt))


def _model_by_code(session: Session, code: str) -> ProductModel:
    model = session.scalars(select(ProductModel).where(ProductModel.code == code)).first()
    if model is None:
        raise Invalid("error.unknown_model", field="model_code")
    return model


def create_job(session: Session, *, data: SopCreate) -> StandardJob:
    """Add a standard job; the code must be new."""
    model = _model_by_code(session, data.model_code) if data.model_code else None
    category = data.product_category or (model.product.category if model else "")
    now = utcnow()
    job = StandardJob(
        code=data.code,
        title=data.title,
        service_type=data.service_type,
        model_id=model.id if model else None,
        product_category=category,
        steps=list(data.steps),
        safety_notes=list(data.safety_notes),
        standard_parts=[p.model_dump() for p in data.standard_parts],
        labour_hours=data.labour_hours.quantize(HOURS),
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        raise Conflict("sop.code_taken", code=data.code) from None
    return job


def update_job(session: Session, *, job: StandardJob, data: SopUpdate) -> StandardJob:
    """Change the fields sent."""
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            continue
        if key == "labour_hours":
            value = Decimal(value).quantize(HOURS)
        setattr(job, key, value)
    job.updated_at = utcnow()
    session.flush()
    return job


def ticket_product(session: Session, *, ticket: Ticket) -> TicketProduct:
    """The ticket's service type, model (its asset's, else its model code) and category."""
    model: ProductModel | None = None
    if ticket.asset_id is not None:
        asset = session.get(Asset, ticket.asset_id)
        model = asset.model if asset is not None else None
    if model is None and ticket.model_code:
        model = session.scalars(
            select(ProductModel).where(ProductModel.code == ticket.model_code)
        ).first()
    if model is not None:
        category = model.product.category
    else:
        # "滚筒洗衣机" names a product line; "洗衣机" is already a category.
        product = session.scalars(select(Product).where(Product.name == ticket.product)).first()
        category = product.category if product is not None else ticket.product
    service_type = SERVICE_TYPE_FOR_TICKET.get(ticket.type, ticket.type)
    return TicketProduct(service_type=service_type, model=model, category=category)


def for_ticket(session: Session, *, ticket: Ticket) -> SopMatch:
    """The active standard job of the ticket's service type: its model's, else its category's."""
    product = ticket_product(session, ticket=ticket)
    base = (
        select(StandardJob)
        .where(StandardJob.service_type == product.service_type, StandardJob.active.is_(True))
        .order_by(StandardJob.updated_at.desc(), StandardJob.id.desc())
    )
    if product.model is not None:
        job = session.scalars(base.where(StandardJob.model_id == product.model.id)).first()
        if job is not None:
            return SopMatch(product, job, "model")
    if product.category:
        job = session.scalars(
            base.where(
                StandardJob.model_id.is_(None),
                StandardJob.product_category == product.category,
            )
        ).first()
        if job is not None:
            return SopMatch(product, job, "category")
    return SopMatch(product, None, "none")


def labour_quota(session: Session, *, ticket: Ticket) -> Decimal:
    """The standard labour hours of the ticket's job: its SOP's (model, else category), else the
    flat default of its service type, else zero (a job with no site work)."""
    found = for_ticket(session, ticket=ticket)
    if found.job is not None:
        return Decimal(found.job.labour_hours).quantize(HOURS)
    return DEFAULT_LABOUR_HOURS.get(found.product.service_type, Decimal("0")).quantize(HOURS)
