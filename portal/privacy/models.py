"""A customer's request to have their personal data erased, and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow

# pending: asked, waiting for staff; done: anonymised; rejected: staff said why not.
ERASURE_STATES = ("pending", "done", "rejected")


class ErasureRequest(Base):
    """One request to erase a customer (from /my, or the retention purge of a closed customer).

    The row outlives the erasure: it is the record that the customer was anonymised, when and
    on whose confirmation, and it holds no personal data itself.
    """

    __tablename__ = "erasure_requests"
    __table_args__ = (Index("ix_erasure_requests_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # "my" (the customer asked on /my) or "retention" (a closed customer past the period).
    source: Mapped[str] = mapped_column(String(16), default="my")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
