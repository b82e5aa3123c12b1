"""Staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class User(Base):
    """A staff member who logs in to the portal."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    # The network a network manager (or engineer) belongs to; scopes what they see.
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an admin's password reset: the next login must choose a new password first.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Carried in every page session and API token; raised when the account is disabled or its
    # password reset or changed, so every session and token issued before stops working.
    auth_version: Mapped[int] = mapped_column(Integer, default=0)
    # 2-step verification (portal/staff/totp.py): the base32 secret once confirmed, the last
    # time step a code was accepted for (a code is good once), and whether an admin requires it.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    totp_required: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    """One staff login attempt; recent failures throttle further tries for that username."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
