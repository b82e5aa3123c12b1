"""Staff login with throttling: per account and address, per account, per address; atomic."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.accounts.models import LoginAttempt, User
from portal.config import Settings
from portal.database import utcnow
from portal.errors import Conflict, Invalid, TooManyRequests
from portal.i18n import Lang, t
from portal.security import authenticate, hash_password


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Failed staff logins allowed within `window_s` before the next is refused (0: no limit):
    per account from one address, per account from every address, per address overall."""

    window_s: int = 300
    per_account_ip: int = 5
    per_account: int = 20
    per_ip: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        """The limits the settings configure."""
        return cls(
            window_s=settings.login_window_s,
            per_account_ip=settings.login_failures_per_account_ip,
            per_account=settings.login_failures_per_account,
            per_ip=settings.login_failures_per_ip,
        )


def recent_failures(
    session: Session, *, username: str | None = None, ip: str | None = None, window_s: int = 300
) -> int:
    """Failed attempts within the window, for a username, an address, or both."""
    since = utcnow() - timedelta(seconds=window_s)
    query = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= since)
    )
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    if ip is not None:
        query = query.where(LoginAttempt.ip == ip)
    return session.scalar(query) or 0


def _serialise(session: Session, *, username: str, ip: str) -> None:
    # Check-then-insert must be atomic, or parallel guesses all pass the same count. On
    # PostgreSQL, transaction-scoped advisory locks on the account and the address (always
    # in that order, so two logins cannot wait on each other); on SQLite the attempt's insert
    # below takes the database's write lock before anything is counted.
    if session.get_bind().dialect.name == "postgresql":
        for key in (f"login:user:{username}", f"login:ip:{ip}"):
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def login(
    session: Session,
    *,
    username: str,
    password: str,
    ip: str,
    limits: LoginLimits | None = None,
) -> User | None:
    """The user for these credentials or None; refused (429) once the recent failures for
    this account from this address, for this account, or from this address reach their
    limit, whatever the password.

    Every checked attempt is recorded, so the caller must commit even when it answers 401.
    An unknown username costs the same password hash as a known one (`authenticate`).
    """
    attempt = _attempt(session, username=username, ip=ip, limits=limits or LoginLimits())
    user = authenticate(session, username=username, password=password)
    attempt.succeeded = user is not None
    session.flush()
    return user


def login_code(
    session: Session,
    *,
    username: str,
    ip: str,
    verify: Callable[[], bool],
    limits: LoginLimits | None = None,
) -> bool:
    """Whether `verify` accepts the second step of a login (a 2-step verification code);
    recorded and throttled as a password attempt is, so failed codes count toward the same
    limits and a guesser is refused (429) once they are reached."""
    attempt = _attempt(session, username=username, ip=ip, limits=limits or LoginLimits())
    attempt.succeeded = verify()
    session.flush()
    return attempt.succeeded


def _attempt(session: Session, *, username: str, ip: str, limits: LoginLimits) -> LoginAttempt:
    """A new attempt, not yet judged; TooManyRequests once the recent failures are too many."""
    _serialise(session, username=username, ip=ip)
    attempt = LoginAttempt(username=username, ip=ip, succeeded=False)
    session.add(attempt)
    session.flush()  # SQLite: holds the write lock from here to the commit
    counts = (
        (limits.per_account_ip, {"username": username, "ip": ip}),
        (limits.per_account, {"username": username}),
        (limits.per_ip, {"ip": ip}),
    )
    for limit, where in counts:
        # This attempt is in the count already (not yet judged): more than `limit` refuses.
        if limit and recent_failures(session, window_s=limits.window_s, **where) > limit:
            minutes = max(1, limits.window_s // 60)
            raise TooManyRequests(
                "error.too_many_logins", retry_after=limits.window_s, minutes=minutes
            )
    return attempt


def display_names(session: Session, *, user_ids: Collection[int]) -> dict[int, str]:
    """The display names of these staff members, by id (for history and comment authors)."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(list(user_ids)))
    ).all()
    return {uid: display or username for uid, display, username in rows}


# Automatic actors named for what they are: the chat bot, and automatic dispatch (the
# dispatch service, and the demo's history of it). Other services (settlement, parts) and
# timers are the system at work.
_AUTOMATIC = {
    "service:bot": "ui.actor.bot",
    "service:dispatch": "ui.actor.auto_dispatch",
    "system:auto-dispatch": "ui.actor.auto_dispatch",
}


def actor_names(session: Session, actors: Iterable[str], lang: Lang) -> dict[str, str]:
    """How a page names each actor as the records write it: staff (user:12) by display
    name, the bot, automatic dispatch, customers and the system by kind; anything else as
    written."""
    wanted = set(actors)
    ids = {int(a[5:]) for a in wanted if a.startswith("user:") and a[5:].isdigit()}
    names = display_names(session, user_ids=ids)
    out: dict[str, str] = {}
    for actor in wanted:
        kind, _, rest = actor.partition(":")
        if kind == "user" and rest.isdigit() and int(rest) in names:
            out[actor] = names[int(rest)]
        elif actor in _AUTOMATIC:
            out[actor] = t(_AUTOMATIC[actor], lang)
        elif kind == "customer":
            out[actor] = t("ui.actor.customer", lang)
        elif kind in ("service", "system"):
            out[actor] = t("ui.actor.system", lang)
        else:
            out[actor] = actor
    return out


# Refused as passwords for any account (with the username itself); the demo's and the
# usual first guesses.
COMMON_PASSWORDS = frozenset(
    {
        "admin123",
        "password",
        "12345678",
        "123456789",
        "1234567890",
        "qwerty123",
        "admin1234",
        "admin12345",
        "password1",
        "abc123456",
        "11111111",
        "88888888",
        "iloveyou1",
    }
)
MIN_PASSWORD = 10


def check_password(*, username: str, password: str) -> None:
    """Refuse (422, saying why) a password that is short, common or the username."""
    lowered = password.lower()
    if len(password) < MIN_PASSWORD or lowered in COMMON_PASSWORDS or lowered == username.lower():
        raise Invalid("admin.password_weak", field="password", n=MIN_PASSWORD)


def create_staff(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    display_name: str = "",
    network_id: int | None = None,
    must_change_password: bool = False,
) -> User:
    """A new staff account; a taken username or a weak password is refused with why."""
    username = username.strip()
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("admin.exists", username=username)
    check_password(username=username, password=password)
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        network_id=network_id,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user
