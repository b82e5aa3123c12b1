"""Staff login with throttling."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import LoginAttempt, User
from portal.database import utcnow
from portal.errors import TooManyRequests
from portal.security import authenticate

MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)


def recent_failures(session: Session, *, username: str) -> int:
    """Failed attempts for this username within the throttling window."""
    since = utcnow() - WINDOW
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.created_at >= since,
            )
        )
        or 0
    )


def login(session: Session, *, username: str, password: str, ip: str) -> User | None:
    """The user for these credentials or None; the 6th failure in 5 minutes is refused (429).

    Every checked attempt is recorded, so the caller must commit even when it answers 401.
    """
    if recent_failures(session, username=username) >= MAX_FAILURES:
        raise TooManyRequests("error.too_many_logins", minutes=int(WINDOW.total_seconds() // 60))
    user = authenticate(session, username=username, password=password)
    session.add(LoginAttempt(username=username, ip=ip, succeeded=user is not None))
    session.flush()
    return user


def display_names(session: Session, *, user_ids: Collection[int]) -> dict[int, str]:
    """The display names of these staff members, by id (for history and comment authors)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(list(user_ids)))
    ).all()
    return {uid: display or username for uid, display, username in rows}
