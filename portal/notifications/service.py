"""Writing notifications into the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.notifications.models import Notification


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    template: str,
    payload: dict[str, Any],
) -> Notification:
    """Add a notification to the outbox, once per key (a repeat returns the first)."""
    existing = session.scalars(
        select(Notification).where(Notification.idempotency_key == key)
    ).first()
    if existing is not None:
        return existing
    notification = Notification(
        idempotency_key=key,
        channel=channel,
        recipient=recipient,
        template=template,
        payload=payload,
    )
    session.add(notification)
    session.flush()
    return notification
