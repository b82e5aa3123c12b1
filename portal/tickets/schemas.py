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


Urgency = Literal["low", "normal", "high", "urgent"]
Channel = Literal["web", "wechat", "rest", "portal", "phone"]


class TicketCreate(BaseModel):
    """What it takes to open a ticket; the type's intake template says which fields are needed."""

    model_config = ConfigDict(str_strip_whitespace=True)

    type: TicketType = "repair"
    product: str = Field(default="", max_length=64, examples=["洗衣机"])
    model_code: str = Field(default="", max_length=32, examples=["WM-100"])
    serial_number: str = Field(default="", max_length=64)
    fault_description: str = Field(default="", max_length=2000, examples=["滚筒不转了"])
    fault_started: str = Field(default="", max_length=64, examples=["昨天晚上"])
    phone: str = Field(max_length=30, examples=["13800138000"])
    customer_name: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=255)
    city: str = Field(default="", max_length=32)
    district: str = Field(default="", max_length=32)
    preferred_time: str = Field(default="", max_length=64)
    urgency: Urgency = "normal"
    channel: Channel = "portal"
    conversation_id: str | None = Field(default=None, max_length=64)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class TicketUpdate(BaseModel):
    """Intake fields the desk may correct or complete; only the fields sent change."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    product: str | None = Field(default=None, max_length=64)
    model_code: str | None = Field(default=None, max_length=32)
    serial_number: str | None = Field(default=None, max_length=64)
    fault_description: str | None = Field(default=None, max_length=2000)
    fault_started: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    preferred_time: str | None = Field(default=None, max_length=64)
    urgency: Urgency | None = None
    phone: str | None = Field(default=None, max_length=30, description="The contact number")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)


class TransitionRequest(BaseModel):
    """One lifecycle action on a ticket."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    action: str = Field(min_length=1, max_length=32, examples=["accept"])
    reason: str = Field(default="", max_length=500)
    engineer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    network_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    score: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class CommentCreate(BaseModel):
    """A note on a ticket."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    body: str = Field(min_length=1, max_length=4000)
    internal: bool = True


class CommentRead(BaseModel):
    """A stored note."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    body: str
    internal: bool
    created_at: datetime


class AttachmentRead(BaseModel):
    """A stored attachment's description."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    uploaded_by: str
    created_at: datetime


class TimelineEntry(BaseModel):
    """One step of a ticket as the customer sees it."""

    at: datetime
    status: str
    status_label: str
    text: str


class StageDurations(BaseModel):
    """Seconds spent in each EIE stage; null where not reached or skipped."""

    t1: float | None
    t2: float | None
    t3: float | None
    t4: float | None
    t5: float | None
    t6: float | None
    t7: float | None
    t8: float | None
    t9: float | None


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
    city: str
    district: str
    model_code: str
    serial_number: str
    details: dict[str, Any]
    channel: str
    conversation_id: str | None
    customer_id: int
    asset_id: int | None
    network_id: int | None
    engineer_id: int | None
    escalated: bool
    reopen_count: int
    allowed_actions: list[str] = []
    created_at: datetime
    updated_at: datetime
    events: list[TicketEventRead] = []


class TicketPage(BaseModel):
    """One page of tickets."""

    items: list[TicketRead]
    total: int
    page: int
    page_size: int
