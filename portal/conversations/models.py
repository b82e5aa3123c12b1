"""Conversations with customers, every message in them, and what human handoff adds:
internal notes, an append-only event log, and each agent's chat profile (limit, skills)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow

# bot: the bot answers; waiting: queued for an agent; agent: an agent owns it (the bot is
# paused); closed: over. Changes only through `conversations.service.change_state`.
STATES = ("bot", "waiting", "agent", "closed")
HANDOFF_REASONS = ("request", "complaint", "failures", "agent")


class Conversation(Base):
    """One customer's thread on one channel; `public_id` is the sender id Rasa sees."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_channel_sender", "channel", "sender_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Handoff: why, what the bot gathered, and what the routing needs to know.
    language: Mapped[str] = mapped_column(String(8), default="zh")
    # The language the hub writes to the customer in ("zh"/"en"): the page's, when the
    # channel says it, from the first message; then the one the customer writes. Unset, the
    # routing `language` above. Apart from it, so an English page does not, by itself, keep
    # the chat from agents who only list Chinese.
    customer_language: Mapped[str | None] = mapped_column(String(8))
    product_line: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(32))
    handoff_reason: Mapped[str | None] = mapped_column(String(16))
    handoff_summary: Mapped[str] = mapped_column(Text, default="")
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Put back by a disconnected agent or a transfer: served before everyone else.
    queue_front: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The satisfaction question was asked and not yet answered; its answer once given.
    csat_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    csat_score: Mapped[int | None] = mapped_column(Integer)


class Message(Base):
    """One stored message; inbound ones keep the channel's id so retries are dropped."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "channel_message_id", name="uq_messages_channel_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(16))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    image_url: Mapped[str | None] = mapped_column(String(500))
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    # The staff member who wrote an agent message.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationNote(Base):
    """Staff-only text on a conversation (an internal note, or a transfer's note)."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="note")  # note | transfer
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationEvent(Base):
    """An append-only record of a state change or a handoff step, with actor and time."""

    __tablename__ = "conversation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentProfile(Base):
    """How many chats a staff member takes at once and which ones (skills, team).

    Empty `product_lines` means every product; `languages` lists the languages they chat in.
    Supervisors see every agent's status, load and live conversations.
    """

    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    max_chats: Mapped[int] = mapped_column(Integer, default=3)
    product_lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["zh"])
    team: Mapped[str] = mapped_column(String(32), default="")
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConversationAttachment(Base):
    """A file a customer sent in chat (a WeChat photo), kept in our own storage.

    Channels hand over links that expire (WeChat's PicUrl and MediaId last three days), so the
    file is fetched when it arrives. `status` is stored (the file is under the uploads folder
    at `storage_key`) or failed (`error` says why; staff are told, the message keeps the
    channel's own link). One row per channel message id, so a retry never fetches twice.
    """

    __tablename__ = "conversation_attachments"
    __table_args__ = (
        UniqueConstraint(
            "conversation_id", "channel_message_id", name="uq_conversation_attachments_channel_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    source_url: Mapped[str] = mapped_column(String(500), default="")
    media_id: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16))  # stored | failed
    error: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    storage_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
