"""Tables of the WeChat official account: followers, the shared access token, failed sends."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class WeChatAccessToken(Base):
    """The one access token of an app id, shared by every worker.

    WeChat invalidates the previous token whenever a new one is fetched, so exactly one
    process may refresh at a time: it claims the row by setting `lease_until` with a
    conditional UPDATE; the others wait for the new token to appear.
    """

    __tablename__ = "wechat_access_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(String(512), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_holder: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_count: Mapped[int] = mapped_column(Integer, default=0)


class WeChatFollower(Base):
    """One openid that followed the account, with the short-lived state of its chat:
    a phone binding in progress, and a location offered as the visit address."""

    __tablename__ = "wechat_followers"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer-service window (48 h) runs from the customer's last contact.
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Binding: "" (none) -> "phone" (asked for the phone) -> "code" (code sent to bind_phone).
    bind_state: Mapped[str] = mapped_column(String(16), default="")
    bind_phone: Mapped[str] = mapped_column(String(20), default="")
    bind_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A location the customer sent, offered as the visit address until they answer.
    offered_address: Mapped[str] = mapped_column(String(255), default="")
    offered_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    offered_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The address the customer agreed to; filled into their tickets that lack one.
    visit_address: Mapped[str] = mapped_column(String(255), default="")
    visit_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    visit_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeChatDeliveryFailure(Base):
    """A message to a follower that WeChat did not take, kept for staff to follow up.

    reason: api_error (WeChat answered an error code), unreachable (network or HTTP error),
    window_closed (over 48 h since the customer's last contact), unsubscribed,
    not_configured (no app id / secret).
    """

    __tablename__ = "wechat_delivery_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    reason: Mapped[str] = mapped_column(String(32))
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str] = mapped_column(String(64), default="")


class WeChatNonce(Base):
    """A (nonce, timestamp) a plaintext-mode callback came with, kept for the timestamp
    window: its signature does not cover the body, so a second use is a replay."""

    __tablename__ = "wechat_nonces"
    __table_args__ = (UniqueConstraint("nonce", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
