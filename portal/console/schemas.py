"""Shapes of the console API: the agent's own settings and the customer sidebar."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from portal.conversations.schemas import NoteRead


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
    """One of the customer's tickets, with the visit details an agent may correct."""

    number: str
    type: str
    status: str
    status_label: str
    product: str
    fault_description: str
    created_at: datetime
    conversation_id: str | None
    address: str = ""
    preferred_time: str = Field(default="", description="As stored (2026-11-24 13:00-18:00)")
    visit_label: str = Field(default="", description="The visit window in the reader's words")
    phone: str = Field(default="", description="The contact number, as the reader may see it")
    contact_name: str = ""
    editable: bool = Field(default=False, description="Whether its visit details may change")


class TicketVisitEdit(BaseModel):
    """What an agent corrects on a ticket from the chat; only the fields sent change.

    The address is read as intake reads it (official names of city and district), the visit
    window as the bot reads it (明天下午, 周六上午, 2026-11-24 13:00-18:00)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    address: str | None = Field(default=None, max_length=255)
    preferred_time: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=30)
    customer_name: str | None = Field(default=None, max_length=100)


class TicketVisitEdited(BaseModel):
    """The ticket as it now stands, and the note the change left in the conversation."""

    ticket: SidebarTicket
    note: NoteRead | None


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
