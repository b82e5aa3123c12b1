"""Maintenance JSON routes: plans (dispatchers), usage readings, and a manual scheduler run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, ProductModel
from portal.database import SessionDep, utcnow
from portal.errors import NotFound
from portal.ids import IdPath
from portal.maintenance import flows, policies, service
from portal.maintenance.models import MaintenanceOccurrence, MaintenancePlan, UsageReading
from portal.maintenance.policies import Planner, UsageReporter
from portal.maintenance.schemas import (
    DueRunRead,
    OccurrenceRead,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    UsageCreate,
    UsageRead,
)
from portal.security import Principal
from portal.tickets.models import Ticket

router = APIRouter(prefix="/maintenance", tags=["maintenance"])

Planners = Planner
# Who may report a counter: the desk and dispatch, an engineer on site (its own jobs' units).
Readers = UsageReporter
Id = IdPath


def to_read(session: Session, plan: MaintenancePlan) -> PlanRead:
    """The API shape of a plan."""
    model = session.get(ProductModel, plan.model_id) if plan.model_id is not None else None
    return PlanRead(
        id=plan.id,
        name=plan.name,
        description=plan.description,
        asset_id=plan.asset_id,
        model_id=plan.model_id,
        model_code=model.code if model else None,
        interval_kind=plan.interval_kind,
        interval_value=plan.interval_value,
        usage_unit=plan.usage_unit,
        starts_on=plan.starts_on,
        effective_from=plan.effective_from,
        active=plan.active,
        created_by=plan.created_by,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def _occurrence(session: Session, row: MaintenanceOccurrence) -> OccurrenceRead:
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id is not None else None
    return OccurrenceRead(
        id=row.id,
        plan_id=row.plan_id,
        asset_id=row.asset_id,
        due_key=row.due_key,
        due_date=row.due_date,
        ticket_id=row.ticket_id,
        ticket_number=ticket.number if ticket else None,
        created_at=row.created_at,
    )


def _reading(row: UsageReading) -> UsageRead:
    return UsageRead(
        id=row.id, asset_id=row.asset_id, value=row.value, read_at=row.read_at, actor=row.actor
    )


@router.get("/plans", response_model=list[PlanRead])
def list_plans(
    session: SessionDep,
    _principal: Planners,
    asset_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    model_code: Annotated[str | None, Query(max_length=32)] = None,
    active: bool | None = None,
) -> list[PlanRead]:
    """Maintenance plans, by asset, model or whether they run."""
    model_id = None
    if model_code:
        model_id = session.scalar(select(ProductModel.id).where(ProductModel.code == model_code))
        if model_id is None:
            return []
    rows = service.list_plans(session, asset_id=asset_id, model_id=model_id, active=active)
    return [to_read(session, p) for p in rows]


@router.post("/plans", response_model=PlanRead, status_code=status.HTTP_201_CREATED)
def create_plan(body: PlanCreate, session: SessionDep, principal: Planners) -> PlanRead:
    """Add a plan: every N days or months (from `starts_on`, else the installation day), or
    every N units of the asset's usage counter; for one asset or every asset of a model."""
    plan = service.create_plan(session, data=body, actor=principal.actor)
    return to_read(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanRead)
def get_plan(plan_id: Id, session: SessionDep, _principal: Planners) -> PlanRead:
    """One plan."""
    return to_read(session, service.get_plan(session, plan_id=plan_id))


@router.patch("/plans/{plan_id}", response_model=PlanRead)
def update_plan(
    plan_id: Id, body: PlanUpdate, session: SessionDep, _principal: Planners
) -> PlanRead:
    """Change a plan; occurrences it already made keep their tickets."""
    plan = service.get_plan(session, plan_id=plan_id)
    return to_read(session, service.update_plan(session, plan=plan, data=body))


@router.delete("/plans/{plan_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_plan(plan_id: Id, session: SessionDep, _principal: Planners) -> Response:
    """Stop a plan (it stays on record with the tickets it made, as inactive)."""
    service.deactivate_plan(session, plan=service.get_plan(session, plan_id=plan_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/plans/{plan_id}/occurrences", response_model=list[OccurrenceRead])
def plan_occurrences(
    plan_id: Id, session: SessionDep, _principal: Planners
) -> list[OccurrenceRead]:
    """The occurrences the plan has made tickets for."""
    plan = service.get_plan(session, plan_id=plan_id)
    return [_occurrence(session, o) for o in service.occurrences(session, plan_id=plan.id)]


@router.post("/run", response_model=DueRunRead)
def run_now(
    session: SessionDep,
    _principal: Planners,
    horizon_days: Annotated[int, Query(ge=0, le=366)] = 14,
) -> DueRunRead:
    """Make the tickets due within the horizon now, as the scheduler does on each pass."""
    made = flows.create_due_tickets(session, now=utcnow(), horizon_days=horizon_days)
    ids = [t.id for t in made]
    rows: list[MaintenanceOccurrence] = []
    if ids:
        rows = list(
            session.scalars(
                select(MaintenanceOccurrence)
                .where(MaintenanceOccurrence.ticket_id.in_(ids))
                .order_by(MaintenanceOccurrence.id)
            )
        )
    return DueRunRead(horizon_days=horizon_days, created=[_occurrence(session, o) for o in rows])


def _reachable_asset(session: Session, asset_id: int, principal: Principal) -> Asset:
    """The asset; an engineer reaches only assets of tickets assigned to them (else 404)."""
    asset = service.get_asset(session, asset_id=asset_id)
    scope = policies.USAGE.scope(principal)
    if not scope.everything:
        mine = session.scalar(
            select(Ticket.id)
            .where(Ticket.asset_id == asset.id, Ticket.engineer_id == scope.engineer_id)
            .limit(1)
        )
        if mine is None or scope.engineer_id is None:
            raise NotFound("object.asset")
    return asset


@router.post(
    "/assets/{asset_id}/usage", response_model=UsageRead, status_code=status.HTTP_201_CREATED
)
def add_usage(
    asset_id: Id, body: UsageCreate, session: SessionDep, principal: Readers
) -> UsageRead:
    """Report the asset's usage counter (cumulative: running hours, cycles…); usage plans
    fall due on it."""
    asset = _reachable_asset(session, asset_id, principal)
    row = service.add_reading(
        session, asset=asset, value=body.value, read_at=body.read_at, actor=principal.actor
    )
    return _reading(row)


@router.get("/assets/{asset_id}/usage", response_model=list[UsageRead])
def list_usage(
    asset_id: Id,
    session: SessionDep,
    principal: Readers,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UsageRead]:
    """The asset's latest counter readings, newest first."""
    asset = _reachable_asset(session, asset_id, principal)
    return [_reading(r) for r in service.readings(session, asset_id=asset.id, limit=limit)]
