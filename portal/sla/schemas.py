"""Request and response shapes of SLA policies, calendars and ticket timers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal.tickets.schemas import TicketType, Urgency

Tier = Literal["normal", "vip"]
Minutes = Field(ge=0, le=60 * 24 * 365)
HOURS_PATTERN = r"^(\d{2}:\d{2}-\d{2}:\d{2})(,\d{2}:\d{2}-\d{2}:\d{2})*$|^$"


class PolicyCreate(BaseModel):
    """A policy: deadlines in minutes (0: no such deadline) for matching tickets."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["VIP 加急"])
    ticket_type: TicketType | None = None
    urgency: Urgency | None = None
    customer_tier: Tier | None = None
    response_minutes: int = Minutes
    arrival_minutes: int = Minutes
    resolution_minutes: int = Minutes
    business_hours: bool = True
    auto_reassign: bool | None = Field(
        default=None,
        description="A missed arrival deadline reassigns by itself; null: the portal's setting.",
    )


class PolicyRead(PolicyCreate):
    """A stored policy."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    active: bool
    created_at: datetime


class PolicyActive(BaseModel):
    """Switch a policy on or off."""

    model_config = ConfigDict(extra="forbid")

    active: bool


class CalendarDayIn(BaseModel):
    """A holiday (working false) or a make-up working day (working true)."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    day: date
    working: bool = False
    name: str = Field(default="", max_length=64)


class CalendarIn(BaseModel):
    """A network's calendar (network_id null: the default calendar)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    network_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    name: str = Field(default="", max_length=100)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    # ISO weekday "1" (Monday) … "7" (Sunday) -> "09:00-12:00,13:00-18:00"; missing: closed.
    weekly_hours: dict[Literal["1", "2", "3", "4", "5", "6", "7"], str] = Field(
        examples=[{"1": "09:00-18:00", "6": "09:00-12:00"}]
    )
    days: list[CalendarDayIn] = Field(default_factory=list, max_length=400)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError("unknown time zone")
        return value

    @field_validator("weekly_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            if len(text) > 200:
                raise ValueError("too many spans")
        return value


class CalendarRead(BaseModel):
    """A stored calendar."""

    id: int
    network_id: int | None
    name: str
    timezone: str
    weekly_hours: dict[str, str]
    days: list[CalendarDayIn]


class TimerRead(BaseModel):
    """One deadline of a ticket and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    policy: str
    state: str
    level: int
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    next_check_at: datetime | None
    warned_at: datetime | None
    fired_at: datetime | None
    met_at: datetime | None


class PromiseRead(BaseModel):
    """The response time promised for a new ticket of a type and tier, in minutes and words."""

    ticket_type: str
    tier: str
    urgency: str
    policy: str
    response_minutes: int
    business_hours: bool
    text_zh: str = Field(examples=["10 分钟内响应（按工作时间计算）"])
    text_en: str = Field(examples=["a response within 10 minutes (business hours)"])
