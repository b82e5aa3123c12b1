"""Reads and writes of the outbox: enqueueing, claiming for delivery, recording the outcome,
and staff members' own in-portal notifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import utcnow
from portal.errors import NotFound
from portal.i18n import Term
from portal.networks.models import Engineer
from portal.notifications.models import Notification
from portal.security import Role

PORTAL = "portal"  # staff notifications: the row is the message
CUSTOMER_CHANNELS = ("wechat", "sms", "widget")


def staff_recipient(user_id: int) -> str:
    """How a staff member is named as a recipient (the same as their actor name)."""
    return f"user:{user_id}"


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
    ticket_id: int | None = None,
    at: datetime | None = None,
) -> Notification:
    """Add a notification to the outbox, once per key (a repeat returns the first).

    Call it inside the transaction that makes the change it reports, so both are stored or
    neither is. Staff (portal) notifications are delivered by being stored.
    """
    existing = session.scalars(
        select(Notification).where(Notification.idempotency_key == key)
    ).first()
    if existing is not None:
        return existing
    now = at or utcnow()
    notification = Notification(
        idempotency_key=key,
        channel=channel,
        recipient=recipient,
        template=template,
        # A word given in both languages (a Term) is kept as such, for the reader's language.
        payload={k: v.to_json() if isinstance(v, Term) else v for k, v in payload.items()},
        ticket_id=ticket_id,
        status="sent" if channel == PORTAL else "pending",
        sent_at=now if channel == PORTAL else None,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(notification)
    session.flush()
    return notification


# ---------------------------------------------------------------- staff lookups


def users_with_role(session: Session, *, role: Role, network_id: int | None = None) -> list[int]:
    """Ids of the active staff with `role` (in that network, when one is given)."""
    stmt = select(User.id).where(User.role == role.value, User.is_active.is_(True))
    if network_id is not None:
        stmt = stmt.where(User.network_id == network_id)
    return list(session.scalars(stmt.order_by(User.id)).all())


def engineer_user(session: Session, *, engineer_id: int | None) -> int | None:
    """The login of an engineer, if they have one."""
    if engineer_id is None:
        return None
    engineer = session.get(Engineer, engineer_id)
    return engineer.user_id if engineer is not None else None


# ---------------------------------------------------------------- delivery


def claim(
    session: Session,
    *,
    channels: frozenset[str] | set[str],
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Notification]:
    """Atomically take up to `limit` due notifications for delivery by `worker`.

    Due: pending and past `next_attempt_at`, or "sending" whose claim has expired (its worker
    died). One UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING: on
    PostgreSQL concurrent workers skip each other's rows; SQLite has no row locks (the clause
    is dropped) but lets one writer at a time run the whole statement, so the second worker
    sees the first one's claims. Commit right after, then deliver outside the transaction.
    """
    due = or_(
        and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        and_(Notification.status == "sending", Notification.lease_until < now),
    )
    picked = (
        select(Notification.id)
        .where(due, Notification.channel.in_(sorted(channels)))
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Notification)
        .where(Notification.id.in_(picked.scalar_subquery()))
        .values(
            status="sending",
            claimed_by=worker,
            lease_until=now + lease,
            attempts=Notification.attempts + 1,
        )
        .returning(Notification)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    rows = list(session.scalars(stmt).all())
    return sorted(rows, key=lambda n: (n.next_attempt_at, n.id))


def mark_sent(session: Session, *, notification_id: int, now: datetime) -> bool:
    """Record a delivery; whoever delivered it, sent is final. False if it already was."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status != "sent")
        .values(status="sent", sent_at=now, lease_until=None, last_error="")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_attempt_failed(
    session: Session,
    *,
    notification_id: int,
    worker: str,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Schedule a retry at `retry_at`, or give up (None); only while `worker` holds the claim."""
    values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values.update(status="pending", next_attempt_at=retry_at)
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "sending",
            Notification.claimed_by == worker,
        )
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def backoff(attempts: int, *, base_s: float, max_s: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base … capped."""
    return timedelta(seconds=min(max_s, base_s * 2 ** max(0, attempts - 1)))


def counts_by_status(session: Session) -> dict[str, int]:
    """How many notifications are in each status (for progress logs)."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status: count for status, count in rows}


# ---------------------------------------------------------------- staff in-portal


def list_mine(
    session: Session,
    *,
    user_id: int,
    unread_only: bool = False,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Notification], int, int]:
    """A staff member's in-portal notifications, newest first; with total and unread counts."""
    mine = and_(Notification.channel == PORTAL, Notification.recipient == staff_recipient(user_id))
    stmt = select(Notification).where(mine)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    unread = (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(mine, Notification.read_at.is_(None))
        )
        or 0
    )
    rows = session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total, unread


def mark_read(session: Session, *, user_id: int, notification_id: int) -> Notification:
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    notification = session.get(Notification, notification_id)
    if (
        notification is None
        or notification.channel != PORTAL
        or notification.recipient != staff_recipient(user_id)
    ):
        raise NotFound("object.notification")
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, *, user_id: int) -> int:
    """Mark every unread notification of the caller read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.channel == PORTAL,
            Notification.recipient == staff_recipient(user_id),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
