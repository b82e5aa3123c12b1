"""Tickets, their append-only events, daily number sequences and idempotency records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.customers.models import Customer
from portal.database import Base, UTCDateTime, utcnow


class Ticket(Base):
    """One service request; its status changes only through `tickets.lifecycle`."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(64), default="")
    fault_description: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(255), default="")
    city: Mapped[str] = mapped_column(String(32), default="", index=True)
    district: Mapped[str] = mapped_column(String(32), default="")
    # The address in official names (portal.places: 上海市 / 上海市 / 浦东新区), which dispatch
    # compares with network coverage; city and district above keep what was typed.
    place_province: Mapped[str] = mapped_column(String(32), default="")
    place_city: Mapped[str] = mapped_column(String(32), default="", index=True)
    place_district: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(32), default="portal")
    conversation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    model_code: Mapped[str] = mapped_column(String(32), default="")
    serial_number: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # template fields
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # The customer's proof, with the number and the phone, that a ticket is theirs (numbers
    # are sequential, phones are no secret): random, told only to the customer (chat
    # confirmation, notifications, /my). Wrong guesses lock it for a while.
    check_code: Mapped[str] = mapped_column(String(12), default="")
    check_failures: Mapped[int] = mapped_column(Integer, default=0)
    check_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(lazy="joined")
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", lazy="selectin"
    )


class TicketEvent(Base):
    """An append-only record of one thing that happened to a ticket."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketComment(Base):
    """A note on a ticket; internal ones are never shown to the customer."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketAttachment(Base):
    """A photo or document on a ticket, stored on disk under var/ (or a configured folder)."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketSequence(Base):
    """The last ticket number handed out on one day (UTC+8 calendar day)."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(Base):
    """A client's Idempotency-Key, the hash of the body it came with, and what it made."""

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
