"""What a company still lacks before real customers arrive (`python -m portal check`).

The same list is shown on the admin's home page. Each check reads the database or the
settings and says, in Chinese and English, what is missing and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets.models import Product
from portal.config import Settings
from portal.customers.models import CustomerAddress
from portal.i18n import both
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.security import Role

# At most this many names are listed under one check; the rest are counted.
SHOWN = 10


@dataclass(frozen=True)
class Check:
    """One line of the go-live checklist."""

    key: str
    ok: bool
    zh: str
    en: str
    details: tuple[str, ...] = field(default_factory=tuple)


def _check(key: str, ok: bool, details: Iterable[str] = (), **params: object) -> Check:
    listed = sorted(set(details))
    shown = listed[:SHOWN]
    if len(listed) > SHOWN:
        shown.append(both("golive.more", n=len(listed) - SHOWN)[0])
    zh, en = both(f"golive.{key}.{'ok' if ok else 'missing'}", **params)
    return Check(key=key, ok=ok, zh=zh, en=en, details=tuple(shown))


def checklist(session: Session, settings: Settings) -> list[Check]:
    """Every check, in the order a new company works through them."""
    return [
        _secrets(settings),
        _demo(settings),
        _admins(session),
        _desk(session),
        _networks(session),
        _coverage(session),
        _products(session),
        _skills(session),
        _wechat(settings),
        _sms(settings),
    ]


def ready(checks: Iterable[Check]) -> bool:
    return all(check.ok for check in checks)


def _secrets(settings: Settings) -> Check:
    weak = [name for name, _ in settings.insecure_secrets()]
    return _check("secrets", not weak, weak)


def _demo(settings: Settings) -> Check:
    return _check("demo", not settings.demo_mode)


def _admins(session: Session) -> Check:
    count = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True))
    )
    return _check("admins", bool(count), n=count or 0)


# Who takes a new ticket or a chat: without one of them nothing a customer sends is handled.
DESK_ROLES = (Role.AGENT.value, Role.DISPATCHER.value)


def _desk(session: Session) -> Check:
    """Active agents or dispatchers (made on the /staff page)."""
    count = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role.in_(DESK_ROLES), User.is_active.is_(True))
    )
    return _check("desk", bool(count), n=count or 0)


def _networks(session: Session) -> Check:
    count = session.scalar(select(func.count()).select_from(ServiceNetwork)) or 0
    return _check("networks", count > 0, n=count)


def _coverage(session: Session) -> Check:
    """Cities where customers live (or networks are) that no network covers."""
    networks = session.scalars(select(ServiceNetwork)).all()
    places = session.execute(
        select(CustomerAddress.city, CustomerAddress.district)
        .where(CustomerAddress.city != "")
        .distinct()
    ).all()
    uncovered = {
        f"{city}{district}"
        for city, district in places
        if not any(network.covers(city, district) for network in networks)
    }
    empty = {network.name for network in networks if not network.city}
    return _check("coverage", not uncovered and not empty, uncovered | empty)


def _products(session: Session) -> Check:
    count = session.scalar(select(func.count()).select_from(Product)) or 0
    return _check("products", count > 0, n=count)


def _skills(session: Session) -> Check:
    """Product categories that no engineer on duty is skilled in."""
    categories = set(session.scalars(select(Product.category).distinct()))
    skilled = set(
        session.scalars(
            select(EngineerSkill.product_category)
            .join(Engineer, Engineer.id == EngineerSkill.engineer_id)
            .where(Engineer.on_duty.is_(True))
            .distinct()
        )
    )
    engineers = session.scalar(select(func.count()).select_from(Engineer)) or 0
    if not engineers:
        return _check("engineers", False)
    missing = categories - skilled
    return _check("skills", not missing, missing, n=engineers)


def _wechat(settings: Settings) -> Check:
    configured = bool(
        settings.wechat_app_id and settings.wechat_app_secret and settings.wechat_token
    )
    return _check("wechat", configured)


def _sms(settings: Settings) -> Check:
    return _check("sms", bool(settings.sms_url))
