"""Shapes of what the engineer's app sends: a work record and a reported position."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PartUsed(BaseModel):
    """One line of parts fitted: from the van stock (by part code) or from elsewhere."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    part_code: str = Field(default="", max_length=32)
    name: str = Field(default="", max_length=100)
    quantity: int = Field(default=1, ge=1, le=99)
    source: Literal["van", "other"] = "other"


class WorkRecordIn(BaseModel):
    """What the engineer writes down on site."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    diagnosis: str = Field(default="", max_length=2000)
    work_done: str = Field(min_length=1, max_length=2000)
    parts_used: list[PartUsed] = Field(default_factory=list, max_length=20)
    # Ticked from the fault code's quick list (their text is also the work done's first line).
    measures: list[str] = Field(default_factory=list, max_length=12)


class Position(BaseModel):
    """Where the phone says the engineer is (WGS-84), and how sure it is."""

    model_config = ConfigDict(extra="forbid")

    lat: Decimal = Field(ge=Decimal("-90"), le=Decimal("90"))
    lng: Decimal = Field(ge=Decimal("-180"), le=Decimal("180"))
    accuracy_m: float | None = Field(default=None, ge=0, le=1_000_000)

    def payload(self) -> dict[str, float | None]:
        """The position as an event payload records it."""
        return {
            "lat": round(float(self.lat), 6),
            "lng": round(float(self.lng), 6),
            "accuracy_m": round(self.accuracy_m, 1) if self.accuracy_m is not None else None,
        }
