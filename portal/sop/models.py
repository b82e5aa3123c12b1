"""Standard jobs (标准作业): how one kind of job is done, and how long it should take."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class StandardJob(Base):
    """The SOP of a service type for one product model, or for a whole product category.

    A ticket is matched on its model first and falls back to its category (see
    `sop.service.for_ticket`); `labour_hours` is the labour quota settlement pays against.
    """

    __tablename__ = "sop_jobs"
    __table_args__ = (Index("ix_sop_jobs_lookup", "service_type", "model_id", "product_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(32))  # installation | repair | maintenance
    model_id: Mapped[int | None] = mapped_column(ForeignKey("product_models.id"))
    product_category: Mapped[str] = mapped_column(String(32), default="")
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ordered sentences
    safety_notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [{"part_code": "...", "name": "...", "quantity": 1}]
    standard_parts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    labour_hours: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
