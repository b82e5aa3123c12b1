"""Request and response shapes of the bot's routes: they exist only for the bot."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from portal.tickets.schemas import TicketType, Urgency, normalize_phone

# How a ticket was proven to be the chat's customer's: the chat is bound to its customer (or
# filed it), or number + phone + check code. Number + phone alone proves nothing (issue 19).
ProvenBy = Literal["conversation", "check_code"]


class BotAddress(BaseModel):
    """A saved address, as a button the bot can offer."""

    id: int
    label: str
    text: str
    is_default: bool


class BotAsset(BaseModel):
    """An installed unit, as a button the bot can offer."""

    id: int
    serial_number: str
    product: str
    model_code: str
    model_name: str
    address_id: int | None
    in_warranty: bool


class BoundCustomer(BaseModel):
    """The customer a conversation's channel identity is bound to."""

    customer_id: int
    name: str
    phone: str
    tier: str
    addresses: list[BotAddress]
    assets: list[BotAsset]


class BotTicket(BaseModel):
    """A ticket in the words the bot says to its customer, once the chat or the check code
    proved it theirs."""

    number: str
    type: str
    type_label: str
    product: str
    model_code: str
    status: str
    status_label: str
    engineer_name: str
    engineer_phone: str
    eta: datetime | None
    eta_text: str
    eta_text_en: str = ""
    preferred_time: str
    # The visit in the one sentence /my, the field app and the desk say (tickets/flows.py).
    visit_text: str
    visit_text_en: str
    next_step: str
    can_urge: bool
    can_cancel: bool
    can_reschedule: bool
    can_evaluate: bool
    created_at: datetime
    proven_by: ProvenBy


class BotTickets(BaseModel):
    """Tickets of the bound customer."""

    items: list[BotTicket]


class BotTicketCreate(BaseModel):
    """A ticket the bot files for its chat; the channel and the chat come from the route."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

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

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class BotFiled(BaseModel):
    """The ticket just filed, with the check code the customer is told in the chat."""

    id: int
    number: str
    type: str
    status: str
    status_label: str
    check_code: str


class Proof(BaseModel):
    """What the customer typed to prove a ticket is theirs, besides the chat itself."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    phone: str = Field(default="", max_length=30, examples=["13800138000"])
    check_code: str = Field(default="", pattern=r"^(\d{6})?$", examples=["482913"])

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value) if value else ""


class TicketLookup(Proof):
    """A ticket number and the proof that it is the caller's."""

    number: str = Field(min_length=1, max_length=32, examples=["SR20261123-0007"])


class CustomerAction(Proof):
    """Something the customer asks the bot to do on their ticket."""

    action: Literal["urge", "cancel", "reschedule", "evaluate"]
    reason: str = Field(default="", max_length=500)
    preferred_time: str = Field(default="", max_length=64)
    score: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class BindPhone(BaseModel):
    """The phone a customer gives in the chat to be sent a one-time code."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    phone: str = Field(max_length=30, examples=["13800138000"])

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class BindCode(BindPhone):
    """The code the customer received, typed into the chat."""

    code: str = Field(pattern=r"^\d{6}$", examples=["123456"])


class BotKbFeedback(BaseModel):
    """Whether an answer helped the chat's customer."""

    model_config = ConfigDict(extra="forbid")

    entry_id: str = Field(min_length=1, max_length=128)
    helpful: bool
    query: str = Field(default="", max_length=500)
