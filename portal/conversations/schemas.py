"""Shapes of the conversation API and of the console's real-time frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HandoffReason = Literal["request", "complaint", "failures"]
PresenceStatus = Literal["online", "away", "offline"]


class HandoffRequest(BaseModel):
    """What the bot sends when it hands a conversation to a human."""

    model_config = ConfigDict(str_strip_whitespace=True)

    reason: HandoffReason = Field(examples=["request"])
    summary: str = Field(default="", max_length=4000, examples=["客户的洗衣机显示E21，要求人工"])
    # Optional routing hints; agents with the matching skills get it first.
    product_line: str | None = Field(default=None, max_length=64, examples=["洗衣机"])
    language: str | None = Field(default=None, max_length=8, examples=["zh"])


class HandoffResult(BaseModel):
    """What became of a handoff request."""

    public_id: str
    state: str
    queued: bool
    on_duty: bool
    position: int | None = None


class MessageRead(BaseModel):
    """One stored message."""

    id: int
    direction: str
    author: str
    text: str
    # Bot and system messages (FAQ answers are Markdown) as safe HTML, the help centre's
    # rendering; None for what a person typed, which is shown as text.
    html: str | None = None
    buttons: list[dict[str, str]]
    image_url: str | None = None
    agent_id: int | None = None
    created_at: datetime


class NoteRead(BaseModel):
    """A staff-only note."""

    id: int
    kind: str
    body: str
    author_id: int | None
    author_name: str = ""
    created_at: datetime


class EventRead(BaseModel):
    """One step in a conversation's handoff history."""

    kind: str
    from_state: str | None
    to_state: str
    actor: str
    payload: dict[str, Any]
    created_at: datetime


class ConversationRead(BaseModel):
    """A conversation with its transcript."""

    public_id: str
    channel: str
    state: str
    messages: list[MessageRead]


class QueueItem(BaseModel):
    """A waiting conversation as the console's queue lists it."""

    public_id: str
    channel: str
    customer_name: str
    vip: bool
    reason: str | None
    summary: str
    product_line: str | None
    language: str
    team: str | None
    waiting_since: datetime | None
    escalated: bool
    queue_front: bool
    offered_to: int | None = None
    preview: str = ""


class ChatItem(BaseModel):
    """A conversation an agent owns, as their chat list shows it."""

    public_id: str
    channel: str
    customer_name: str
    vip: bool
    reason: str | None
    agent_id: int | None
    accepted_at: datetime | None
    preview: str = ""
    last_message_at: datetime


class LiveItem(BaseModel):
    """A conversation with the bot that an agent may pick up."""

    public_id: str
    channel: str
    customer_name: str
    preview: str
    last_message_at: datetime


class AgentStatus(BaseModel):
    """An agent as supervisors see them."""

    user_id: int
    name: str
    role: str
    status: PresenceStatus
    load: int
    max_chats: int
    team: str
    product_lines: list[str]
    languages: list[str]
    supervisor: bool
    chats: list[str] = []
    offers: list[str] = Field(
        default=[], description="Waiting conversations offered to this agent now (public ids)"
    )


class TicketDraft(BaseModel):
    """The console's ticket form as far as the customer's words in the chat fill it."""

    product: str = ""
    fault_description: str = ""
    phone: str = ""
    address: str = ""
    city: str = ""


class ConversationDetail(BaseModel):
    """Everything the console shows about one conversation."""

    public_id: str
    channel: str
    state: str
    customer_name: str
    vip: bool
    customer_id: int | None
    agent_id: int | None
    agent_name: str = ""
    handoff_reason: str | None
    handoff_summary: str
    product_line: str | None
    language: str
    team: str | None
    waiting_since: datetime | None
    escalated: bool
    csat_score: int | None
    messages: list[MessageRead]
    notes: list[NoteRead]
    events: list[EventRead]
    ticket_draft: TicketDraft = Field(default_factory=TicketDraft)


class SendRequest(BaseModel):
    """An agent's message to the customer."""

    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2000)


class NoteCreate(BaseModel):
    """An internal note."""

    model_config = ConfigDict(str_strip_whitespace=True)

    body: str = Field(min_length=1, max_length=4000)


class TypingRequest(BaseModel):
    """The agent started or stopped typing."""

    on: bool


class TransferRequest(BaseModel):
    """Hand the chat to another agent, or back to the queue of a team, with a note."""

    model_config = ConfigDict(str_strip_whitespace=True)

    to_agent_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    to_team: str | None = Field(default=None, min_length=1, max_length=32)
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> TransferRequest:
        if (self.to_agent_id is None) == (self.to_team is None):
            raise ValueError("name exactly one of to_agent_id and to_team")
        return self


class PresenceRequest(BaseModel):
    """The agent's chosen status (also a heartbeat)."""

    status: PresenceStatus


class ProfileUpdate(BaseModel):
    """An agent's chat profile."""

    model_config = ConfigDict(str_strip_whitespace=True)

    max_chats: int = Field(default=3, ge=1, le=50)
    product_lines: list[str] = Field(default_factory=list, max_length=50)
    languages: list[str] = Field(default_factory=lambda: ["zh"], max_length=10)
    team: str = Field(default="", max_length=32)
    is_supervisor: bool = False


class TicketCreated(BaseModel):
    """The ticket an agent created from a conversation."""

    id: int
    number: str
    status: str
    conversation_id: str | None
