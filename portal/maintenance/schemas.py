"""Request and response shapes of maintenance plans and usage readings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

IntervalKind = Literal["days", "months", "usage"]
# Calendar arithmetic stays well inside what dates can hold.
PlanDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Counter = Annotated[
    Decimal, Field(ge=Decimal("0"), le=Decimal("999999999999.99"), decimal_places=2)
]
# The longest interval of each kind a plan may have.
MAX_INTERVAL: dict[str, int] = {"days": 3660, "months": 120, "usage": 1_000_000_000}


def _check_interval(kind: str | None, value: int | None) -> None:
    if kind is not None and value is not None and value > MAX_INTERVAL[kind]:
        raise ValueError(f"interval_value is at most {MAX_INTERVAL[kind]} for {kind}")


class PlanCreate(BaseModel):
    """A new plan, for one asset (`asset_id`) or for every asset of a model (`model_code`)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["空调年度清洗"])
    description: str = Field(default="", max_length=2000)
    asset_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    model_code: str = Field(default="", max_length=32)
    interval_kind: IntervalKind
    interval_value: int = Field(ge=1, le=1_000_000_000, examples=[6])
    usage_unit: str = Field(default="", max_length=16, examples=["小时"])
    starts_on: PlanDate | None = None
    effective_from: PlanDate | None = None
    active: bool = True

    @model_validator(mode="after")
    def _target_and_interval(self) -> PlanCreate:
        if (self.asset_id is None) == (not self.model_code):
            raise ValueError("give exactly one of asset_id and model_code")
        _check_interval(self.interval_kind, self.interval_value)
        return self


class PlanUpdate(BaseModel):
    """Fields of a plan to change; only those sent change."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    interval_kind: IntervalKind | None = None
    interval_value: int | None = Field(default=None, ge=1, le=1_000_000_000)
    usage_unit: str | None = Field(default=None, max_length=16)
    starts_on: PlanDate | None = None
    effective_from: PlanDate | None = None
    active: bool | None = None


class PlanRead(BaseModel):
    """A maintenance plan."""

    id: int
    name: str
    description: str
    asset_id: int | None
    model_id: int | None
    model_code: str | None
    interval_kind: str
    interval_value: int
    usage_unit: str
    starts_on: date | None
    effective_from: date
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class UsageCreate(BaseModel):
    """A reading of the asset's cumulative usage counter."""

    model_config = ConfigDict(extra="forbid")

    value: Counter
    read_at: AwareDatetime | None = None

    @field_validator("read_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError("read_at must be between the years 2000 and 2100")
        return value


class UsageRead(BaseModel):
    """A stored reading."""

    id: int
    asset_id: int
    value: Decimal
    read_at: datetime
    actor: str


class OccurrenceRead(BaseModel):
    """One due maintenance a plan made a ticket for."""

    id: int
    plan_id: int
    asset_id: int
    due_key: str
    due_date: date
    ticket_id: int | None
    ticket_number: str | None
    created_at: datetime


class DueRunRead(BaseModel):
    """What one run of the maintenance scheduler made."""

    horizon_days: int
    created: list[OccurrenceRead]
