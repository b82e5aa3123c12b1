"""Request and response shapes of the standard job library."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ServiceType = Literal["installation", "repair", "maintenance"]
Hours = Annotated[Decimal, Field(ge=Decimal("0"), le=Decimal("999.99"), decimal_places=2)]


class StandardPart(BaseModel):
    """A part the job normally needs."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    part_code: str = Field(min_length=1, max_length=32)
    name: str = Field(default="", max_length=100)
    quantity: int = Field(default=1, ge=1, le=999)


Sentence = Annotated[str, Field(min_length=1, max_length=500)]


class SopCreate(BaseModel):
    """A new standard job: for a model (`model_code`) or a whole product category."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: str = Field(min_length=1, max_length=32, examples=["SOP-WM-REPAIR"])
    title: str = Field(min_length=1, max_length=200)
    service_type: ServiceType
    model_code: str = Field(default="", max_length=32)
    product_category: str = Field(default="", max_length=32)
    steps: list[Sentence] = Field(default_factory=list, max_length=50)
    safety_notes: list[Sentence] = Field(default_factory=list, max_length=30)
    standard_parts: list[StandardPart] = Field(default_factory=list, max_length=30)
    labour_hours: Hours
    active: bool = True

    @model_validator(mode="after")
    def _one_target(self) -> SopCreate:
        if not self.model_code and not self.product_category:
            raise ValueError("model_code or product_category is needed")
        return self


class SopUpdate(BaseModel):
    """Fields to change on a standard job; only those sent change."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    steps: list[Sentence] | None = Field(default=None, max_length=50)
    safety_notes: list[Sentence] | None = Field(default=None, max_length=30)
    standard_parts: list[StandardPart] | None = Field(default=None, max_length=30)
    labour_hours: Hours | None = None
    active: bool | None = None


class SopRead(BaseModel):
    """A standard job."""

    id: int
    code: str
    title: str
    service_type: str
    model_code: str | None
    product_category: str
    steps: list[str]
    safety_notes: list[str]
    standard_parts: list[StandardPart]
    labour_hours: Decimal
    active: bool
    updated_at: datetime


class SopForTicket(BaseModel):
    """The standard job that applies to a ticket, how it matched, and the labour quota."""

    ticket_id: int
    number: str
    service_type: str
    model_code: str | None
    product_category: str
    match: Literal["model", "category", "none"]
    labour_quota_hours: Decimal
    sop: SopRead | None
