"""Request and response shapes for customers and customer sign-in."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal.tickets.schemas import normalize_phone


class CodeRequest(BaseModel):
    """Ask for a one-time code on a phone (to sign in).

    `channel` and `external_id` are refused when given: a channel identity (an openid, a
    widget visitor) is bound only from inside its own channel, never named from outside."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    phone: str = Field(max_length=30, examples=["13800138000"])
    channel: str = Field(default="", max_length=32, description="Not accepted; leave empty.")
    external_id: str = Field(default="", max_length=128, description="Not accepted; leave empty.")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class CodeVerify(CodeRequest):
    """The code the customer received."""

    code: str = Field(pattern=r"^\d{6}$", examples=["123456"])


class CodeSent(BaseModel):
    """A code is on its way."""

    sent: bool = True
    expires_in: int


class CustomerToken(BaseModel):
    """A customer's bearer token after a successful code check."""

    access_token: str
    token_type: str = "bearer"
    customer_id: int


class AddressRead(BaseModel):
    """A customer's address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    city: str
    district: str
    detail: str
    lat: Decimal | None
    lng: Decimal | None
    is_default: bool


class CustomerRead(BaseModel):
    """A customer as staff see them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    phone: str
    tier: str
    wechat_openid: str | None
    created_at: datetime
    phones: list[str] = []
    addresses: list[AddressRead] = []


class CustomerPage(BaseModel):
    """One page of customers."""

    items: list[CustomerRead]
    total: int
    page: int
    page_size: int


class CustomerUpdate(BaseModel):
    """Fields staff may change on a customer."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    tier: str | None = Field(default=None, pattern=r"^(normal|vip)$")
