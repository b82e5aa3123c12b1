"""SLA JSON routes: policies and calendars (admins change them), a ticket's timers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from portal.database import SessionDep
from portal.i18n import Lang, t
from portal.sla import service
from portal.sla.models import BusinessCalendar, SlaTimer
from portal.sla.policies import Configurer, Promiser, Reader, TimerReader
from portal.sla.schemas import (
    CalendarDayIn,
    CalendarIn,
    CalendarRead,
    PolicyActive,
    PolicyCreate,
    PolicyRead,
    PromiseRead,
    Tier,
    TimerRead,
)
from portal.tickets import service as tickets
from portal.tickets.schemas import TicketType, Urgency

router = APIRouter(prefix="/sla", tags=["sla"])

Admin = Configurer
Staff = TimerReader
Ops = Reader
Desk = Promiser


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


@router.put("/policies/{policy_id}", response_model=PolicyRead)
def update_policy(
    policy_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: PolicyCreate,
    session: SessionDep,
    _p: Admin,
) -> PolicyRead:
    """Replace a policy's match and deadlines; tickets opened from now on get them."""
    return PolicyRead.model_validate(
        service.update_policy(session, policy_id=policy_id, data=data.model_dump())
    )


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


def _duration(minutes: int, lang: Lang) -> str:
    """Minutes in the largest whole unit: 10 分钟, 2 小时, 1 天."""
    for key, size in (("sla.promise.days", 1440), ("sla.promise.hours", 60)):
        if minutes >= size and minutes % size == 0:
            return t(key, lang, n=minutes // size)
    return t("sla.promise.minutes", lang, n=minutes)


def promise_text(minutes: int, business_hours: bool, lang: Lang) -> str:
    """The promise as the bot says it after 客服将在…: 10 分钟内响应（按工作时间计算）."""
    if minutes <= 0:
        return t("sla.promise.none", lang)
    key = "sla.promise.business" if business_hours else "sla.promise.within"
    return t(key, lang, duration=_duration(minutes, lang))


@router.get("/promise", response_model=PromiseRead)
def promise(
    request: Request,
    session: SessionDep,
    _p: Desk,
    ticket_type: Annotated[TicketType, Query(alias="type")] = "repair",
    tier: Annotated[Tier, Query()] = "normal",
    urgency: Annotated[Urgency, Query()] = "normal",
) -> PromiseRead:
    """The response time a new ticket of this type, tier and urgency is promised (the
    policy that would apply, else the settings' default), for the bot to tell customers."""
    defaults = service.SlaDefaults.from_settings(request.app.state.settings)
    terms = service.match_policy(
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
