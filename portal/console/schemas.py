"""Shapes of the console API: the agent's own settings and the customer sidebar."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MeRead(BaseModel):
    """The signed-in agent, their status and the tools the console offers them."""

    user_id: int
    name: str
    role: str
    status: str
    supervisor: bool
    max_chats: int
    team: str
    product_lines: list[str]
    languages: list[str]
    quick_replies: list[str]
    kb_available: bool
    teams: list[str]


class SidebarCustomer(BaseModel):
    """Who the customer is."""

    id: int
    name: str
    phone: str
    tier: str
    addresses: list[str]


class SidebarAsset(BaseModel):
    """A product the customer owns."""

    id: int
    serial_number: str
    model_code: str
    model_name: str
    install_date: date | None
    warranty_end: date | None
    in_warranty: bool


class SidebarTicket(BaseModel):
    """One of the customer's tickets."""

    number: str
    type: str
    status: str
    status_label: str
    product: str
    fault_description: str
    created_at: datetime
    conversation_id: str | None


class SidebarConversation(BaseModel):
    """One of the customer's other conversations."""

    public_id: str
    channel: str
    state: str
    last_message_at: datetime
    csat_score: int | None


class CustomerContext(BaseModel):
    """Everything the sidebar shows about the customer behind a conversation."""

    customer: SidebarCustomer | None
    assets: list[SidebarAsset]
    open_tickets: list[SidebarTicket]
    past_tickets: list[SidebarTicket]
    conversations: list[SidebarConversation]


class KbHit(BaseModel):
    """A knowledge-base answer an agent may insert."""

    id: str
    question: str
    answer: str = Field(description="Markdown, as the editors wrote it")
    answer_html: str = Field(description="The answer as safe HTML (the help centre's rendering)")
    answer_text: str = Field(description="The answer as plain text, for the composer")
    score: float


class KbResult(BaseModel):
    """Search results, or `available: false` when no knowledge base is loaded."""

    available: bool
    items: list[KbHit]
