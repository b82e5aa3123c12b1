"""Complaint cases, what happened to each, and the staff's revisit calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow
from portal.tickets.models import Ticket


class Complaint(Base):
    """One complaint about a ticket's service, handled to an outcome.

    status: open -> in_progress (someone took it) -> resolved (outcome told to the customer,
    who is asked whether they accept it) -> closed; resolved -> in_progress when the outcome
    did not hold (the customer said no, or the desk reopened it). `network_id` is the
    ticket's network when it was opened: a network manager sees their network's cases.

    confirmation: the customer's answer to the last outcome: "" (not asked yet) | awaiting
    (asked, until `confirm_due_at`) | accepted | rejected | phone (the desk called and noted
    it) | no_reply (nobody answered in time: closed so). A case closes only after accepted,
    phone or no_reply. `follow_up_ticket_id`: the repair visit the outcome promised (上门复修).
    """

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_deadline", "status", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # chat | wechat | phone | revisit
    reason: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[int | None] = mapped_column(Integer)  # the rating that opened it, if one did
    status: Mapped[str] = mapped_column(String(16), default="open")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmation: Mapped[str] = mapped_column(String(16), default="")
    confirm_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    follow_up_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)

    ticket: Mapped[Ticket] = relationship(lazy="joined", foreign_keys=[ticket_id])
    follow_up: Mapped[Ticket | None] = relationship(
        lazy="joined", foreign_keys=[follow_up_ticket_id]
    )
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", lazy="selectin"
    )


class ComplaintEvent(Base):
    """An append-only line of a complaint's history: opened, taken, a note, resolved …"""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class RevisitCall(Base):
    """A staff member's call to a customer who did not answer the revisit invitation.

    outcome: answered (the rating was recorded on the ticket) | declined (no rating, only a
    comment) | unreachable.
    """

    __tablename__ = "revisit_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
