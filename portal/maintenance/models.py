"""Maintenance plans, the usage readings they may count on, and the occurrences they made."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow

# A usage counter: running hours, wash cycles, litres... (cumulative, never decreasing).
COUNTER = Numeric(14, 2)


class MaintenancePlan(Base):
    """保养计划: every N days or months, or every N units of usage, for one asset or for every
    asset of one product model."""

    __tablename__ = "maintenance_plans"
    __table_args__ = (
        CheckConstraint("(asset_id IS NULL) <> (model_id IS NULL)", name="one_target"),
        CheckConstraint("interval_value > 0", name="interval_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")  # the job, as the ticket says it
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("product_models.id"), index=True)
    interval_kind: Mapped[str] = mapped_column(String(8))  # days | months | usage
    interval_value: Mapped[int] = mapped_column(Integer)
    usage_unit: Mapped[str] = mapped_column(String(16), default="")
    # Calendar plans count from here (else the asset's installation day, else effective_from).
    starts_on: Mapped[date | None] = mapped_column(Date)
    # Nothing due before this day is made: a new plan does not backfill years of history.
    effective_from: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class UsageReading(Base):
    """A reading of an asset's usage counter (from an engineer, the customer or a device)."""

    __tablename__ = "maintenance_usage_readings"
    __table_args__ = (CheckConstraint("value >= 0", name="value_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    value: Mapped[Decimal] = mapped_column(COUNTER)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MaintenanceOccurrence(Base):
    """One due maintenance of a plan on one asset, and the ticket made for it.

    The unique key is what makes `create_due_tickets` idempotent: a second run (or a second
    scheduler at the same moment) finds the row and makes no second ticket.
    """

    __tablename__ = "maintenance_occurrences"
    __table_args__ = (
        UniqueConstraint("plan_id", "asset_id", "due_key", name="uq_maintenance_occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("maintenance_plans.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    due_key: Mapped[str] = mapped_column(String(32))  # "2026-07-01" or "usage:3000"
    due_date: Mapped[date] = mapped_column(Date)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
