"""One cost case per in-warranty ticket: the fault cause the engineer recorded with its
evidence, the cost centre it puts the costs on, and the factory's appraisal (鉴定)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class CostCase(Base):
    """The cause of an in-warranty job's fault and whose cost it is.

    recorded (by the engineer on site) -> confirmed | reclassified (by factory quality, for a
    quality cause). A reclassification moves the cause to the other class, and with it the
    ticket's cost lines to the other centre, by reversal in the ledger."""

    __tablename__ = "cost_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    cause: Mapped[str] = mapped_column(String(32))
    cause_class: Mapped[str] = mapped_column(String(16), index=True)  # quality | non_quality
    centre: Mapped[str] = mapped_column(String(16), index=True)  # factory | sales
    # What the engineer first said, kept when the factory reclassifies.
    recorded_cause: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(500), default="")
    evidence_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ticket attachments
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stamped on completion: the model and the parts fitted, for repeated problems.
    model_code: Mapped[str] = mapped_column(String(64), default="", index=True)
    parts: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"code", "name"}]
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="recorded", index=True)
    appraised_by: Mapped[str | None] = mapped_column(String(64))
    appraised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appraisal_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
