"""SLA JSON routes: policies and calendars (admins change them), a ticket's timers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from portal.database import SessionDep
from portal.security import Principal, require_roles
from portal.sla import service
from portal.sla.models import BusinessCalendar, SlaTimer
from portal.sla.schemas import (
    CalendarDayIn,
    CalendarIn,
    CalendarRead,
    PolicyActive,
    PolicyCreate,
    PolicyRead,
    TimerRead,
)
from portal.tickets import service as tickets

router = APIRouter(prefix="/sla", tags=["sla"])

Admin = Annotated[Principal, require_roles("admin")]
Staff = Annotated[
    Principal,
    require_roles("bot", "agent", "dispatcher", "network_manager", "engineer", "finance"),
]
Ops = Annotated[Principal, require_roles("agent", "dispatcher", "network_manager", "finance")]


def calendar_read(row: BusinessCalendar) -> CalendarRead:
    """The API shape of a calendar."""
    return CalendarRead(
        id=row.id,
        network_id=row.network_id,
        name=row.name,
        timezone=row.timezone,
        weekly_hours={str(k): str(v) for k, v in row.weekly_hours.items()},
        days=[CalendarDayIn.model_validate(d) for d in row.days],
    )


@router.get("/policies", response_model=list[PolicyRead])
def policies(session: SessionDep, _p: Ops) -> list[PolicyRead]:
    """Every SLA policy; the most specific active match decides a ticket's deadlines."""
    return [PolicyRead.model_validate(p) for p in service.list_policies(session)]


@router.post("/policies", response_model=PolicyRead, status_code=status.HTTP_201_CREATED)
def create_policy(data: PolicyCreate, session: SessionDep, _p: Admin) -> PolicyRead:
    """Add a policy; it applies to tickets opened from now on."""
    return PolicyRead.model_validate(service.create_policy(session, data=data.model_dump()))


@router.put("/policies/{policy_id}/active", response_model=PolicyRead)
def set_active(
    policy_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: PolicyActive,
    session: SessionDep,
    _p: Admin,
) -> PolicyRead:
    """Switch a policy on or off."""
    return PolicyRead.model_validate(
        service.set_policy_active(session, policy_id=policy_id, active=data.active)
    )


@router.get("/calendars", response_model=list[CalendarRead])
def calendars(session: SessionDep, _p: Ops) -> list[CalendarRead]:
    """The stored business calendars, the default one first."""
    return [calendar_read(c) for c in service.list_calendars(session)]


@router.put("/calendars", response_model=CalendarRead)
def put_calendar(data: CalendarIn, session: SessionDep, _p: Admin) -> CalendarRead:
    """Create or replace a network's calendar (no network_id: the default calendar)."""
    row = service.put_calendar(
        session,
        network_id=data.network_id,
        name=data.name,
        timezone=data.timezone,
        weekly_hours={str(k): v for k, v in data.weekly_hours.items()},
        days=[(d.day, d.working, d.name) for d in data.days],
    )
    return calendar_read(row)


@router.get("/tickets/{ref}/timers", response_model=list[TimerRead])
def timers(ref: str, session: SessionDep, principal: Staff) -> list[TimerRead]:
    """A ticket's deadlines: when each is due, whether it was met, how far it escalated."""
    ticket = tickets.get_ticket(session, ref=ref, principal=principal)
    rows: list[SlaTimer] = service.timers_of(session, ticket_id=ticket.id)
    return [TimerRead.model_validate(t) for t in rows]
