"""Reads and writes of customers, and proving a phone with a one-time code."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.customers.models import ChannelIdentity, Customer, CustomerPhone, OneTimeCode
from portal.database import utcnow
from portal.errors import Invalid, NotFound, TooManyRequests
from portal.notifications.service import enqueue

log = logging.getLogger(__name__)

CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_ATTEMPTS = 5


def find_by_phone(session: Session, *, phone: str) -> Customer | None:
    """The customer whose main or extra phone this is."""
    return session.scalars(
        select(Customer)
        .outerjoin(CustomerPhone)
        .where(or_(Customer.phone == phone, CustomerPhone.phone == phone))
    ).first()


def find_or_create_by_phone(session: Session, *, phone: str, name: str = "") -> Customer:
    """The customer with this phone, created on first contact."""
    customer = find_by_phone(session, phone=phone)
    if customer is None:
        customer = Customer(phone=phone, name=name)
        session.add(customer)
        session.flush()
    elif name and not customer.name:
        customer.name = name
    return customer


def get_customer(session: Session, *, customer_id: int) -> Customer:
    """A customer by id."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("object.customer")
    return customer


def list_customers(
    session: Session,
    *,
    q: str | None = None,
    tier: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Customer], int]:
    """Customers filtered by name/phone text and tier, with the total."""
    stmt = select(Customer)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Customer.name.like(like), Customer.phone.like(like)))
    if tier:
        stmt = stmt.where(Customer.tier == tier)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Customer.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), total


def _digest(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def request_code(
    session: Session,
    *,
    secret: str,
    phone: str,
    purpose: str,
    ttl_s: int,
    demo_mode: bool,
    channel: str = "",
    external_id: str = "",
) -> OneTimeCode:
    """Send a 6-digit code to the phone through the outbox; at most one a minute."""
    now = utcnow()
    latest = session.scalars(
        select(OneTimeCode)
        .where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
    ).first()
    if latest is not None and now - latest.created_at < CODE_RESEND_AFTER:
        raise TooManyRequests("error.code_too_soon")
    code = f"{secrets.randbelow(10**6):06d}"
    record = OneTimeCode(
        phone=phone,
        purpose=purpose,
        code_hash=_digest(secret, phone, code),
        channel=channel,
        external_id=external_id,
        expires_at=now + timedelta(seconds=ttl_s),
        created_at=now,
    )
    session.add(record)
    session.flush()
    enqueue(
        session,
        key=f"otp:{record.id}",
        channel="sms",
        recipient=phone,
        template="one_time_code",
        payload={"code": code, "minutes": ttl_s // 60},
    )
    if demo_mode:
        # Demo installs have no SMS provider; the log is where the code can be read.
        log.warning("demo mode: one-time code for %s is %s", phone, code)
    return record


def verify_code(
    session: Session,
    *,
    secret: str,
    phone: str,
    code: str,
    purpose: str,
    channel: str = "",
    external_id: str = "",
) -> Customer:
    """Check the code; on success return the customer (created if new) and bind the identity."""
    now = utcnow()
    record = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.phone == phone,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
        )
        .order_by(OneTimeCode.id.desc())
    ).first()
    if record is None or record.expires_at < now or record.attempts >= CODE_MAX_ATTEMPTS:
        raise Invalid("error.code_invalid")
    record.attempts += 1
    # Bind only the identity the code was sent for: a verify call naming another openid must
    # not take that identity over; it counts as a failed attempt.
    wrong_identity = (channel, external_id) not in (
        ("", ""),
        (record.channel, record.external_id),
    )
    if wrong_identity or not hmac.compare_digest(record.code_hash, _digest(secret, phone, code)):
        session.flush()
        raise Invalid("error.code_invalid")
    record.used_at = now
    customer = find_or_create_by_phone(session, phone=phone)
    if record.channel and record.external_id:
        bind_identity(
            session, customer=customer, channel=record.channel, external_id=record.external_id
        )
    return customer


def bind_identity(
    session: Session, *, customer: Customer, channel: str, external_id: str
) -> ChannelIdentity:
    """Tie a channel identity (openid, widget visitor) to the customer."""
    identity = session.scalars(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    ).first()
    if identity is None:
        identity = ChannelIdentity(channel=channel, external_id=external_id)
        session.add(identity)
    identity.customer_id = customer.id
    identity.bound_at = utcnow()
    if channel == "wechat":
        customer.wechat_openid = external_id
    session.flush()
    return identity


def customer_for_identity(session: Session, *, channel: str, external_id: str) -> Customer | None:
    """The customer a channel identity is bound to, if any."""
    customer_id = session.scalar(
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    )
    return session.get(Customer, customer_id) if customer_id else None
