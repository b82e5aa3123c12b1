"""Request and response shapes of the ticket API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

TicketType = Literal["installation", "repair", "maintenance", "consultation", "complaint"]

# Mainland mobile numbers, or a landline with its area code (0xx-xxxxxxx).
_PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def normalize_phone(value: str) -> str:
    """Strip spaces, dashes in mobiles and a +86 prefix; raise a named error if invalid."""
    raw = re.sub(r"[\s()]", "", value)
    raw = re.sub(r"^(\+?86)(?=1)", "", raw)
    if re.fullmatch(r"1[\d-]{10,13}", raw):
        raw = raw.replace("-", "")
    if not _PHONE.fullmatch(raw):
        raise PydanticCustomError("phone_invalid", "invalid phone number")
    return raw


class TicketCreate(BaseModel):
    """What it takes to open a ticket."""

    model_config = ConfigDict(str_strip_whitespace=True)

    type: TicketType = "repair"
    product: str = Field(min_length=1, max_length=64, examples=["洗衣机"])
    fault_description: str = Field(min_length=1, max_length=2000, examples=["滚筒不转了"])
    phone: str = Field(max_length=30, examples=["13800138000"])
    customer_name: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=255)
    urgency: Literal["low", "normal", "high", "urgent"] = "normal"
    channel: Literal["web", "wechat", "rest", "portal", "phone"] = "portal"
    conversation_id: str | None = Field(default=None, max_length=64)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class TicketEventRead(BaseModel):
    """One entry of a ticket's history."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str
    actor: str
    payload: dict[str, Any]
    created_at: datetime


class TicketRead(BaseModel):
    """A ticket as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    type: str
    type_label: str
    status: str
    status_label: str
    urgency: str
    product: str
    fault_description: str
    phone: str
    address: str
    channel: str
    conversation_id: str | None
    customer_id: int
    created_at: datetime
    updated_at: datetime
    events: list[TicketEventRead] = []


class TicketPage(BaseModel):
    """One page of tickets."""

    items: list[TicketRead]
    total: int
    page: int
    page_size: int
