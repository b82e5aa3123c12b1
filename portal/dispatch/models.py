"""Dispatch's own tables: where engineers are now, and the planned visit of each ticket."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class EngineerPosition(Base):
    """The last position an engineer's app reported; travel is measured from here when fresh."""

    __tablename__ = "engineer_positions"

    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineers.id"), primary_key=True)
    lat: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DispatchVisit(Base):
    """The day (and, once planned, the order and ETA) an assigned engineer visits a ticket.

    One row per ticket; it follows the ticket's current engineer and is dropped when the
    engineer rejects. A day's load of an engineer is counted from these rows.
    """

    __tablename__ = "dispatch_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineers.id"), index=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    sequence: Mapped[int | None] = mapped_column(Integer)
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | auto | plan
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
