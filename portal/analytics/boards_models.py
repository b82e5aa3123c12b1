"""Targets the boards colour their figures against: one per KPI, globally and per network."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class KpiTarget(Base):
    """A KPI's target and its amber band, for every network (network_id NULL) or one.

    A figure meets the target: green; misses it by at most `amber` (in the KPI's unit):
    amber; by more: red. A network's own row wins over the global one.
    """

    __tablename__ = "kpi_targets"
    __table_args__ = (Index("ix_kpi_targets_kpi_network", "kpi", "network_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(32))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), index=True)
    target: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amber: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
