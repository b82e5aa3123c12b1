"""Request and response shapes of complaint cases."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["chat", "wechat", "phone", "revisit"]
Reason = Literal[
    "attitude",
    "no_show",
    "late",
    "not_fixed",
    "repeat_repair",
    "charges",
    "parts",
    "product",
    "communication",
    "other",
]
Status = Literal["open", "in_progress", "resolved", "closed"]
Action = Literal["take", "note", "classify", "resolve", "reopen", "close", "confirm_phone"]


class ComplaintCreate(BaseModel):
    """A complaint staff record by hand, about one ticket."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    ticket_number: str = Field(min_length=1, max_length=32, examples=["SR20261207-0001"])
    source: Source
    reason: Reason
    description: str = Field(min_length=1, max_length=2000)


class ComplaintActionRequest(BaseModel):
    """One action on a case: `note` is the outcome of a resolution, the text of a note, what
    the customer said on the phone (`confirm_phone`); `follow_up` (with `resolve`) opens the
    repair visit the outcome promises."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    action: Action
    note: str = Field(default="", max_length=2000)
    reason: Reason | Literal[""] = ""
    follow_up: bool = False


class ComplaintEventRead(BaseModel):
    """A line of a case's history."""

    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    note: str
    created_at: datetime


class ComplaintRead(BaseModel):
    """A case as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    ticket_number: str
    customer_id: int
    network_id: int | None
    source: str
    reason: str
    description: str
    score: int | None
    status: str
    owner_id: int | None
    deadline_at: datetime
    overdue: bool
    outcome: str
    opened_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    confirmation: str  # "", awaiting, accepted, rejected, phone, no_reply
    confirm_due_at: datetime | None
    follow_up_ticket_number: str | None
    events: list[ComplaintEventRead] = []


class ComplaintPage(BaseModel):
    """One page of the list."""

    items: list[ComplaintRead]
    total: int
