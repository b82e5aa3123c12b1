"""What an engineer records on site: one work record per visit (per arrival on the ticket)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class WorkRecord(Base):
    """Diagnosis, work done, parts used, photos and the customer's signature of one visit.

    Keyed by the visit's `arrive` event, so a reopened ticket's second visit gets a record
    of its own and the first one stays as it was signed.
    """

    __tablename__ = "field_work_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    arrival_event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"), unique=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    diagnosis: Mapped[str] = mapped_column(Text, default="")
    work_done: Mapped[str] = mapped_column(Text, default="")
    # [{"part_code": "...", "name": "...", "quantity": 1, "source": "van" | "other"}]
    parts_used: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The measures ticked from the fault code's quick list (also written into work_done):
    # counted per fault code, they become the next engineer's quick list.
    measures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    photo_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ticket attachment ids
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_attachments.id"))
    signed_by: Mapped[str] = mapped_column(String(100), default="")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # No signature (the customer was not there): why, and a photo of the door instead.
    signature_skip_reason: Mapped[str] = mapped_column(String(200), default="")
    door_photo_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_attachments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
