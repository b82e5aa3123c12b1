"""SLA policies, business calendars (weekly hours and dated exceptions) and per-ticket timers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow


class SlaPolicy(Base):
    """Deadlines for tickets matching a type, urgency and customer tier (empty: any).

    The most specific active policy wins; minutes of 0 mean "no timer of that kind".
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    ticket_type: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str | None] = mapped_column(String(16))
    customer_tier: Mapped[str | None] = mapped_column(String(16))
    response_minutes: Mapped[int] = mapped_column(Integer)
    arrival_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # False: the clock runs around the clock (e.g. a 24/7 promise to VIP customers).
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    # A missed arrival deadline hands the ticket to another engineer (改派) by itself;
    # None: as the settings say (SLA_AUTO_REASSIGN).
    auto_reassign: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BusinessCalendar(Base):
    """Working hours per weekday of one network, or the default one (no network)."""

    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # ISO weekday ("1" Monday … "7" Sunday) -> "09:00-12:00,13:00-18:00"; missing: closed.
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    days: Mapped[list[CalendarDay]] = relationship(
        back_populates="calendar",
        lazy="selectin",
        order_by="CalendarDay.day",
        cascade="all, delete-orphan",
    )


class CalendarDay(Base):
    """A dated exception: a holiday (not working) or a make-up working day (调休补班)."""

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_calendar_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(64), default="")

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="days")


class SlaTimer(Base):
    """One deadline of one ticket; the scheduler acts on it when `next_check_at` passes.

    state: pending -> met | breached | paused | cancelled; breached -> met (late).
    `level` is the last escalation step taken (0: none yet).
    """

    __tablename__ = "sla_timers"
    __table_args__ = (Index("ix_sla_timers_due", "state", "next_check_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # response | arrival | resolution
    policy: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_s: Mapped[int] = mapped_column(Integer)
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    level: Mapped[int] = mapped_column(Integer, default=0)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remaining_s: Mapped[int | None] = mapped_column(Integer)  # business seconds left, paused
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
