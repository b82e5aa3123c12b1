"""Parts, stock locations, per-location balances and the append-only movement ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow

MONEY = Numeric(12, 2)


class Part(Base):
    """A catalogue entry: part number, name, the models it fits, cost and price."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The name on pages read in English; empty: the Chinese name stands.
    name_en: Mapped[str] = mapped_column(String(100), default="", server_default="")
    category: Mapped[str] = mapped_column(String(32), default="", index=True)
    compatible_models: Mapped[list[Any]] = mapped_column(JSON, default=list)  # model codes
    unit_cost: Mapped[Decimal] = mapped_column(MONEY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    # 周转件: the old unit goes back for repair, so a consumed one is awaited in return.
    returnable: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def label(self, lang: str) -> str:
        """The part's name in the reader's language (the Chinese one when it has no other)."""
        return self.name_en if lang == "en" and self.name_en else self.name

    def fits(self, model_code: str) -> bool:
        """Whether the part fits that model (an empty list fits every model of its category)."""
        return not self.compatible_models or model_code in self.compatible_models


class StockLocation(Base):
    """Where stock lies: the central warehouse, a network's store or an engineer's van."""

    __tablename__ = "stock_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # central | network | van
    name: Mapped[str] = mapped_column(String(100))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockBalance(Base):
    """The running total of the movements of one part at one location.

    The movement ledger is the truth; this row is what a movement locks and updates in the
    same transaction, so two reservations cannot both take the last unit. The CHECKs are
    the database's own guard: no bucket below zero, nothing reserved that is not on hand.
    """

    __tablename__ = "stock_balances"
    __table_args__ = (
        UniqueConstraint("location_id", "part_id", name="uq_stock_balance"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
        CheckConstraint("defective >= 0", name="defective_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    defective: Mapped[int] = mapped_column(Integer, default=0)  # old parts awaiting repair
    min_level: Mapped[int] = mapped_column(Integer, default=0)  # low-stock alert threshold
    # When the free stock last fell under `min_level` (None: not low). A movement that takes
    # it under sets this and raises one alert; it stays set, silently, until stock recovers.
    low_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    location: Mapped[StockLocation] = relationship(lazy="joined")
    part: Mapped[Part] = relationship(lazy="joined")

    @property
    def available(self) -> int:
        """On hand and not held for a ticket."""
        return self.on_hand - self.reserved

    @property
    def low(self) -> bool:
        """Whether the free stock is under the location's threshold for this part."""
        return self.min_level > 0 and self.available < self.min_level


class StockMovement(Base):
    """One effect of a stock operation on one location: append-only.

    A transfer writes two rows (out of one location, into another) sharing a `batch`.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_loc_part", "location_id", "part_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    counter_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    defective_delta: Mapped[int] = mapped_column(Integer, default=0)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    part: Mapped[Part] = relationship(lazy="joined")
    location: Mapped[StockLocation] = relationship(lazy="joined", foreign_keys=[location_id])


class PartReservation(Base):
    """Parts held for a ticket: held -> issued (to the van) -> consumed | released."""

    __tablename__ = "part_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    part: Mapped[Part] = relationship(lazy="joined")
    location: Mapped[StockLocation] = relationship(lazy="joined")


class ShortageOrder(Base):
    """缺件订单: a part a ticket waits for at a location; open -> fulfilled | cancelled."""

    __tablename__ = "shortage_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")
    location: Mapped[StockLocation] = relationship(lazy="joined")


# Days an engineer has to ship a defective part back after fitting its replacement.
RETURN_DAYS = 7


class DefectiveReturn(Base):
    """旧件返还: the old unit of a consumed returnable part, tracked until it arrives and
    is repaired or scrapped. awaiting -> shipped -> received -> repaired | scrapped.
    It is due back RETURN_DAYS after it was raised; one not shipped by then is overdue."""

    __tablename__ = "defective_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="awaiting", index=True)
    tracking: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    part: Mapped[Part] = relationship(lazy="joined")

    @property
    def due_at(self) -> datetime:
        """When the old part should have been shipped back."""
        return self.created_at + timedelta(days=RETURN_DAYS)

    @property
    def overdue(self) -> bool:
        """Still with the engineer after its due time."""
        return self.status == "awaiting" and utcnow() > self.due_at

    def days_overdue(self, now: datetime) -> int:
        """Whole days past the due time at `now` (0 within the first day, or when not late)."""
        return max(0, (now - self.due_at).days)


def _append_only(session: Session, _context: object, _instances: object) -> None:
    """The movement ledger is never edited or deleted: a mistake is undone by a new movement."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, StockMovement) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("stock movements are append-only")


event.listen(Session, "before_flush", _append_only)
