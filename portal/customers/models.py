"""Customers, their phones, addresses and channel identities, and one-time codes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow

# What an erased customer's (unique) phone column holds instead of a number: portal.privacy.
ERASED_PREFIX = "erased:"


class Customer(Base):
    """A person who owns products and asks for service; found by any of their phones."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    tier: Mapped[str] = mapped_column(String(16), default="normal")
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", lazy="selectin", order_by="CustomerPhone.id"
    )
    addresses: Mapped[list[CustomerAddress]] = relationship(
        back_populates="customer", lazy="selectin", order_by="CustomerAddress.id"
    )

    @property
    def is_erased(self) -> bool:
        """Whether the customer was anonymised at their request or by retention."""
        return self.phone.startswith(ERASED_PREFIX)


class CustomerPhone(Base):
    """Another number a customer can be reached and recognised at."""

    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(32), default="")

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerAddress(Base):
    """A place where a customer's products are installed and engineers visit."""

    __tablename__ = "customer_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    label: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(32), default="")
    district: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="addresses")

    @property
    def full(self) -> str:
        """The address as one line."""
        return f"{self.city}{self.district}{self.detail}"


class ChannelIdentity(Base):
    """Who a customer is on a channel (WeChat openid, widget visitor), bound after a code check."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_ext"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OneTimeCode(Base):
    """A code sent to a phone to prove the person holds it; only its hash is kept."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32), default="")
    external_id: Mapped[str] = mapped_column(String(128), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Who asked: "ip:<address>" on the public routes, "chat:<channel>:<sender>" from the bot;
    # the per-requester limits count these.
    requester: Mapped[str] = mapped_column(String(160), default="", index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CodeAttempt(Base):
    """One check of a one-time code, right or wrong: the daily failure caps count these."""

    __tablename__ = "code_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    requester: Mapped[str] = mapped_column(String(160), default="", index=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
