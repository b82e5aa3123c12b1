"""Request and response shapes for assets."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class AssetRead(BaseModel):
    """An installed unit."""

    id: int
    serial_number: str
    model_code: str
    model_name: str
    product_category: str
    customer_id: int
    address_id: int | None
    install_date: date | None
    warranty_end: date | None
    in_warranty: bool


class AssetCreate(BaseModel):
    """Register an installed unit for a customer."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    serial_number: str = Field(min_length=4, max_length=64)
    model_code: str = Field(min_length=1, max_length=32)
    customer_id: int = Field(ge=1, le=2**31 - 1)
    address_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    install_date: date | None = None
