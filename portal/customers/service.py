"""Reads and writes of customers, and proving a phone with a one-time code."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, desc, func, or_, select
from sqlalchemy.orm import Session

from portal.customers.models import (
    ChannelIdentity,
    CodeAttempt,
    Customer,
    CustomerPhone,
    OneTimeCode,
)
from portal.database import utcnow
from portal.errors import Invalid, NotFound, TooManyRequests
from portal.notifications.service import PORTAL, enqueue, staff_recipient, users_with_role
from portal.observability.metrics import OTP_REFUSED
from portal.security import Role

if TYPE_CHECKING:
    from portal.config import Settings

log = logging.getLogger(__name__)

CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_ATTEMPTS = 5
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


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


def ip_requester(address: str) -> str:
    """How a code request from a client address is counted."""
    return f"ip:{address}"


def chat_requester(channel: str, sender_id: str) -> str:
    """How a code request the bot makes for a chat is counted."""
    return f"chat:{channel}:{sender_id}"[:160]


@dataclass(frozen=True)
class CodeLimits:
    """The caps on one-time codes (0 switches one off): texts and wrong codes per phone a
    day, per requester (client address or chat) an hour, and texts a day in all."""

    codes_per_phone_per_day: int = 10
    failures_per_phone_per_day: int = 10
    codes_per_requester_per_hour: int = 20
    failures_per_requester_per_hour: int = 30
    sms_daily_budget: int = 2000

    @classmethod
    def from_settings(cls, settings: Settings) -> CodeLimits:
        """The caps as configured."""
        return cls(
            codes_per_phone_per_day=settings.otp_codes_per_phone_per_day,
            failures_per_phone_per_day=settings.otp_failures_per_phone_per_day,
            codes_per_requester_per_hour=settings.otp_codes_per_requester_per_hour,
            failures_per_requester_per_hour=settings.otp_failures_per_requester_per_hour,
            sms_daily_budget=settings.otp_sms_daily_budget,
        )


def _refuse(limit: str, key: str, *, oldest: datetime | None, window: timedelta) -> None:
    """Count the refusal and raise it, with Retry-After when the window's oldest ages out."""
    OTP_REFUSED.labels(limit=limit).inc()
    now = utcnow()
    start = oldest if oldest is not None else now
    wait = (start + window - now).total_seconds()
    raise TooManyRequests(key, retry_after=int(wait) + 1)


def _over(session: Session, stmt: Select[Any], cap: int) -> tuple[bool, datetime | None]:
    """Whether the rows `stmt` selects (their created_at) reach `cap`; and the oldest one
    that must age out for the count to drop below it."""
    if cap <= 0:
        return False, None
    times = session.scalars(stmt.order_by(desc(stmt.selected_columns[0])).limit(cap)).all()
    return len(times) >= cap, (times[-1] if len(times) >= cap else None)


def _check_failures(session: Session, *, phone: str, requester: str, limits: CodeLimits) -> None:
    """TooManyRequests once the phone (a day) or the requester (an hour) has too many misses."""
    now = utcnow()
    failed = select(CodeAttempt.created_at).where(CodeAttempt.ok.is_(False))
    over, oldest = _over(
        session,
        failed.where(CodeAttempt.phone == phone, CodeAttempt.created_at > now - DAY),
        limits.failures_per_phone_per_day,
    )
    if over:
        _refuse("failures_cap", "error.code_failures_cap", oldest=oldest, window=DAY)
    if requester:
        over, oldest = _over(
            session,
            failed.where(CodeAttempt.requester == requester, CodeAttempt.created_at > now - HOUR),
            limits.failures_per_requester_per_hour,
        )
        if over:
            _refuse("requester_failures", "error.code_requester_cap", oldest=oldest, window=HOUR)


def _sms_budget_reached(session: Session, *, budget: int, now: datetime) -> None:
    """The alarm: logged as an error, counted, and told to the admins once a day."""
    OTP_REFUSED.labels(limit="budget").inc()
    log.error("one-time code SMS budget of %d a day is used up; code requests refused", budget)
    day = now.strftime("%Y-%m-%d")
    for user_id in users_with_role(session, role=Role.ADMIN):
        recipient = staff_recipient(user_id)
        enqueue(
            session,
            key=f"alarm:sms_budget:{day}:{recipient}",
            channel=PORTAL,
            recipient=recipient,
            template="sms_budget_reached",
            payload={"budget": budget},
            at=now,
        )


def code_wait(session: Session, *, phone: str, purpose: str, now: datetime | None = None) -> int:
    """Seconds until another code may be sent to the phone for this purpose (the
    one-a-minute rule of `request_code`); 0 when one may be sent now."""
    latest = session.scalars(
        select(OneTimeCode.created_at)
        .where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return 0
    left = (latest + CODE_RESEND_AFTER - (now or utcnow())).total_seconds()
    return max(0, int(left + 0.999))


def request_code(
    session: Session,
    *,
    secret: str,
    phone: str,
    purpose: str,
    ttl_s: int,
    demo_mode: bool,
    requester: str = "",
    limits: CodeLimits | None = None,
) -> OneTimeCode:
    """Send a 6-digit code to the phone through the outbox: at most one a minute, and
    within the caps of `limits` (TooManyRequests with a Retry-After otherwise). The caller
    commits a refusal by the SMS budget (it enqueues the admins' alarm)."""
    limits = limits or CodeLimits()
    now = utcnow()
    latest = session.scalars(
        select(OneTimeCode)
        .where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
    ).first()
    if latest is not None and now - latest.created_at < CODE_RESEND_AFTER:
        _refuse(
            "too_soon", "error.code_too_soon", oldest=latest.created_at, window=CODE_RESEND_AFTER
        )
    sent = select(OneTimeCode.created_at)
    over, oldest = _over(
        session,
        sent.where(OneTimeCode.phone == phone, OneTimeCode.created_at > now - DAY),
        limits.codes_per_phone_per_day,
    )
    if over:
        _refuse("phone_cap", "error.code_phone_cap", oldest=oldest, window=DAY)
    if requester:
        over, oldest = _over(
            session,
            sent.where(OneTimeCode.requester == requester, OneTimeCode.created_at > now - HOUR),
            limits.codes_per_requester_per_hour,
        )
        if over:
            _refuse("requester_cap", "error.code_requester_cap", oldest=oldest, window=HOUR)
    _check_failures(session, phone=phone, requester=requester, limits=limits)
    if limits.sms_daily_budget > 0:
        today = session.scalar(
            select(func.count()).select_from(OneTimeCode).where(OneTimeCode.created_at > now - DAY)
        )
        if (today or 0) >= limits.sms_daily_budget:
            _sms_budget_reached(session, budget=limits.sms_daily_budget, now=now)
            raise BudgetReached(limits.sms_daily_budget)
    code = f"{secrets.randbelow(10**6):06d}"
    record = OneTimeCode(
        phone=phone,
        purpose=purpose,
        code_hash=_digest(secret, phone, code),
        requester=requester,
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


class BudgetReached(TooManyRequests):
    """The daily SMS budget is used up; the alarm is enqueued, so the caller commits."""

    def __init__(self, budget: int) -> None:
        super().__init__("error.code_budget", retry_after=3600)
        self.budget = budget


def verify_code(
    session: Session,
    *,
    secret: str,
    phone: str,
    code: str,
    purpose: str,
    requester: str = "",
    limits: CodeLimits | None = None,
) -> Customer:
    """Check the code; on success return the customer (created if new). Every check is
    counted (the caller commits a miss: answer Invalid, do not raise it); too many misses for
    the phone or the requester refuse further checks (TooManyRequests)."""
    limits = limits or CodeLimits()
    now = utcnow()
    _check_failures(session, phone=phone, requester=requester, limits=limits)
    record = session.scalars(
        select(OneTimeCode)
        .where(
            OneTimeCode.phone == phone,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
        )
        .order_by(OneTimeCode.id.desc())
    ).first()
    usable = record is not None and record.expires_at >= now
    usable = usable and record is not None and record.attempts < CODE_MAX_ATTEMPTS
    right = (
        usable
        and record is not None
        and hmac.compare_digest(record.code_hash, _digest(secret, phone, code))
    )
    session.add(CodeAttempt(phone=phone, requester=requester, ok=right, created_at=now))
    if record is not None and usable:
        record.attempts += 1
    if not right or record is None:
        session.flush()
        raise Invalid("error.code_invalid")
    record.used_at = now
    return find_or_create_by_phone(session, phone=phone)


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
