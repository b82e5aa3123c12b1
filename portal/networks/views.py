"""Service networks and engineers, read-only JSON."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, WithJsonSchema
from sqlalchemy import select

from portal.database import SessionDep
from portal.networks.models import Engineer, ServiceNetwork
from portal.networks.policies import READ, Reader

router = APIRouter(tags=["networks"])

# Working hours are local times of day with no zone ("08:30:00"); JSON Schema's "time"
# format, which pydantic would publish, demands an offset, so the schema says what is sent.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "Local time of day, HH:MM:SS",
            "examples": ["08:30:00"],
        }
    ),
]

Ops = Reader


class NetworkRead(BaseModel):
    """A service network."""

    id: int
    code: str
    name: str
    city: str
    coverage: list[Any]
    auto_dispatch: bool


class SkillRead(BaseModel):
    """One skill of an engineer."""

    product_category: str
    service_type: str
    level: int


class EngineerRead(BaseModel):
    """An engineer."""

    id: int
    name: str
    phone: str
    network_id: int
    home_lat: Decimal | None
    home_lng: Decimal | None
    work_start: LocalTime
    work_end: LocalTime
    daily_capacity: int
    on_duty: bool
    skills: list[SkillRead]


@router.get("/networks", response_model=list[NetworkRead])
def networks(session: SessionDep, principal: Ops) -> list[NetworkRead]:
    """Service networks (a network manager sees their own)."""
    stmt = select(ServiceNetwork).order_by(ServiceNetwork.id)
    scope = READ.scope(principal)
    if not scope.everything:
        stmt = stmt.where(ServiceNetwork.id == scope.network_id)
    return [
        NetworkRead(
            id=n.id,
            code=n.code,
            name=n.name,
            city=n.city,
            coverage=n.coverage,
            auto_dispatch=n.auto_dispatch,
        )
        for n in session.scalars(stmt)
    ]


@router.get("/engineers", response_model=list[EngineerRead])
def engineers(
    session: SessionDep,
    principal: Ops,
    network_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    on_duty: bool | None = None,
) -> list[EngineerRead]:
    """Engineers with their skills (a network manager sees their network's)."""
    stmt = select(Engineer).order_by(Engineer.id)
    scope = READ.scope(principal)
    if not scope.everything:
        network_id = scope.network_id if scope.network_id is not None else -1
    if network_id is not None:
        stmt = stmt.where(Engineer.network_id == network_id)
    if on_duty is not None:
        stmt = stmt.where(Engineer.on_duty.is_(on_duty))
    return [
        EngineerRead(
            id=e.id,
            name=e.name,
            phone=e.phone,
            network_id=e.network_id,
            home_lat=e.home_lat,
            home_lng=e.home_lng,
            work_start=e.work_start,
            work_end=e.work_end,
            daily_capacity=e.daily_capacity,
            on_duty=e.on_duty,
            skills=[
                SkillRead(
                    product_category=s.product_category, service_type=s.service_type, level=s.level
                )
                for s in e.skills
            ],
        )
        for e in session.scalars(stmt)
    ]
