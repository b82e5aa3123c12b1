"""Versioned rate cards with their lines and distance bands; quotes and receipts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow

MONEY = Numeric(12, 2)
ANY = "*"


class RateCard(Base):
    """One version of a price list, in force from `effective_from` until `effective_to`
    (exclusive; none: open-ended). A later version of the same code wins where both apply."""

    __tablename__ = "rate_cards"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_rate_card_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(100))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[RateLine]] = relationship(
        back_populates="card", lazy="selectin", order_by="RateLine.id"
    )
    bands: Mapped[list[DistanceBand]] = relationship(
        back_populates="card", lazy="selectin", order_by="DistanceBand.min_km"
    )


class RateLine(Base):
    """The fee for a service type, product category ("*": any) and warranty ("in"/"out").

    `service_fee` pays for the visit including `included_minutes` on site; every started
    half hour beyond costs half the `hour_rate`. The engineer's piece rate works alike."""

    __tablename__ = "rate_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_card_id: Mapped[int] = mapped_column(ForeignKey("rate_cards.id"), index=True)
    service_type: Mapped[str] = mapped_column(String(32), default=ANY)
    product_category: Mapped[str] = mapped_column(String(32), default=ANY)
    warranty: Mapped[str] = mapped_column(String(8))  # in | out
    service_fee: Mapped[Decimal] = mapped_column(MONEY)
    included_minutes: Mapped[int] = mapped_column(Integer, default=60)
    hour_rate: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    engineer_pay: Mapped[Decimal] = mapped_column(MONEY)
    engineer_hour_rate: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))

    card: Mapped[RateCard] = relationship(back_populates="lines")


class DistanceBand(Base):
    """Mileage: a visit whose distance falls in [min_km, max_km) earns this fee."""

    __tablename__ = "distance_bands"

    id: Mapped[int] = mapped_column(primary_key=True)
    rate_card_id: Mapped[int] = mapped_column(ForeignKey("rate_cards.id"), index=True)
    min_km: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    max_km: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    fee: Mapped[Decimal] = mapped_column(MONEY)
    engineer_pay: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))

    card: Mapped[RateCard] = relationship(back_populates="bands")


class Quote(Base):
    """What an out-of-warranty job will cost; the customer accepts it before paid work.

    sent -> accepted | rejected | superseded | withdrawn (the engineer took it back).
    `parts_ordered_at`: when the parts it marks "to order" were ordered for the job."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    warranty: Mapped[str] = mapped_column(String(8))
    payer: Mapped[str] = mapped_column(String(16))  # manufacturer | customer
    total: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parts_ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", lazy="selectin", order_by="QuoteLine.id"
    )


class QuoteLine(Base):
    """One priced line of a quote: labour, mileage or a part."""

    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # labour | mileage | part
    description: Mapped[str] = mapped_column(String(200))
    # What the description means (portal.settlement.memos segments), read in the reader's
    # language; a line written before 0010i has only its sentence.
    description_parts: Mapped[list[Any] | None] = mapped_column(JSON)
    part_id: Mapped[int | None] = mapped_column(ForeignKey("parts.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # A catalogue part the van does not carry: ordered once the customer accepts, fitted on
    # a second visit.
    to_order: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    quote: Mapped[Quote] = relationship(back_populates="lines")


class Receipt(Base):
    """A customer's payment for an out-of-warranty job, kept with the ticket."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[str] = mapped_column(String(16))  # cash | wechat | alipay | card
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
