"""Small builders for dispatch tests: a part of Shanghai with networks, engineers, customers
at known coordinates, and tickets opened and moved through the real ticket service."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.config import Settings
from portal.customers.models import Customer, CustomerAddress
from portal.database import utcnow
from portal.dispatch.scoring import DispatchSettings
from portal.dispatch.service import local_day
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.security import Principal, issue_token
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketCreate

# Cheap hashes: tests make many users.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
SETTINGS = DispatchSettings()
DAY = date(2026, 11, 24)
# 09:00 in Shanghai on DAY: tickets are fresh, the SLA pressure is the urgency's floor.
NOW = datetime.fromisoformat("2026-11-24T01:00:00+00:00")
# A customer in Lujiazui, and points at known distances from there.
HOME = (31.2400, 121.5000)
NEAR = (31.2450, 121.5050)  # ~0.7 km
MID = (31.2700, 121.5300)  # ~4.4 km
FAR = (31.3400, 121.6200)  # ~15.7 km
NEAR_DEC = (Decimal("31.245000"), Decimal("121.505000"))

_seq = itertools.count(1)


def n() -> int:
    """A fresh number for unique names."""
    return next(_seq)


def today() -> date:
    """Today where the service happens (tickets dispatched without a visit count on it)."""
    return local_day(utcnow(), SETTINGS)


def network(
    s: Session,
    *,
    coverage: tuple[str, ...] = ("浦东新区",),
    city: str = "上海",
    auto: bool = False,
    at: tuple[float, float] | None = None,
) -> ServiceNetwork:
    """A service network."""
    k = n()
    row = ServiceNetwork(
        code=f"DN{k:05d}",
        name=f"{city}{k}号网点",
        city=city,
        coverage=list(coverage),
        auto_dispatch=auto,
        lat=Decimal(str(at[0])) if at else None,
        lng=Decimal(str(at[1])) if at else None,
    )
    s.add(row)
    s.flush()
    return row


def user(s: Session, *, role: str, network_: ServiceNetwork | None = None) -> User:
    """A staff member."""
    k = n()
    row = User(
        username=f"{role}{k}",
        display_name=f"{role} {k}",
        password_hash=PASSWORD_HASH,
        role=role,
        network_id=network_.id if network_ else None,
    )
    s.add(row)
    s.flush()
    return row


def engineer(
    s: Session,
    net: ServiceNetwork,
    *,
    at: tuple[float, float] | None = NEAR,
    skills: dict[tuple[str, str], int] | None = None,
    name: str | None = None,
    **fields: Any,
) -> Engineer:
    """An engineer with a login, living at `at`, with skills {(category, type): level}."""
    login = user(s, role="engineer", network_=net)
    row = Engineer(
        user_id=login.id,
        network_id=net.id,
        name=name or f"工程师{login.id}",
        phone=f"137{n():08d}",
        home_lat=Decimal(str(at[0])) if at else None,
        home_lng=Decimal(str(at[1])) if at else None,
        **fields,
    )
    s.add(row)
    s.flush()
    for (category, service_type), level in (skills or {("洗衣机", "repair"): 1}).items():
        s.add(
            EngineerSkill(
                engineer_id=row.id,
                product_category=category,
                service_type=service_type,
                level=level,
            )
        )
    s.flush()
    s.refresh(row)
    return row


def customer(
    s: Session,
    *,
    at: tuple[float, float] = HOME,
    district: str = "浦东新区",
    tier: str = "normal",
) -> Customer:
    """A customer with one address at `at`."""
    k = n()
    row = Customer(phone=f"139{k:08d}", name=f"客户{k}", tier=tier)
    s.add(row)
    s.flush()
    s.add(
        CustomerAddress(
            customer_id=row.id,
            label="家",
            city="上海",
            district=district,
            detail=f"世纪大道{k}号",
            lat=Decimal(str(at[0])),
            lng=Decimal(str(at[1])),
            is_default=True,
        )
    )
    s.flush()
    s.refresh(row)
    return row


def ticket(
    s: Session,
    who: Customer,
    *,
    actions: tuple[str, ...] = ("accept",),
    engineer_: Engineer | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Ticket:
    """A ticket of the customer at their address, moved by `actions`."""
    home = who.addresses[0]
    data = TicketCreate(
        **{
            "product": "洗衣机",
            "fault_description": "滚筒不转了",
            "fault_started": "昨天",
            # DAY, the day the tests plan: a customer's day is the day dispatch books.
            "preferred_time": f"{DAY} 08:00-20:00",
            "phone": who.phone,
            "address": home.full,
            "city": home.city,
            "district": home.district,
            **fields,
        }
    )
    at = at or NOW - timedelta(minutes=30)
    row, _ = tickets.create_ticket(s, data=data, actor="service:test", customer=who, at=at)
    for action in actions:
        payload: dict[str, Any] = {}
        if action in ("dispatch", "reassign"):
            assert engineer_ is not None
            payload = {"network_id": engineer_.network_id, "engineer_id": engineer_.id}
        lifecycle.apply(s, ticket=row, action=action, actor="service:test", payload=payload, at=at)
        if action in ("dispatch", "reassign"):
            row.network_id, row.engineer_id = engineer_.network_id, engineer_.id  # type: ignore[union-attr]
    s.flush()
    return row


def bearer(settings: Settings, who: User) -> dict[str, str]:
    """Authorization headers for a staff member."""
    return {"Authorization": f"Bearer {issue_token(settings, who)}"}


def principal_of(u: User) -> Principal:
    """The service-level caller for a staff member."""
    return Principal(
        kind="staff", role=u.role, name=u.username, user_id=u.id, network_id=u.network_id
    )


DISPATCHER = Principal(kind="staff", role="dispatcher", name="dispatcher")


def plan_form(page: str) -> dict[str, list[str]]:
    """The day plan's form as the page hands it out: every stop under its engineer, in order
    (what the dispatcher publishes when they change nothing)."""
    form: dict[str, list[str]] = {"stop": [], "engineer": [], "order": [], "version": []}
    for block in page.split('data-testid="plan-route" data-engineer-id="')[1:]:
        engineer = block[: block.index('"')]
        stops = re.findall(
            r'name="stop" value="(\d+)">\s*<input type="hidden" name="version" value="(\d*)"',
            block[: block.index("</section>")],
        )
        for i, (tid, version) in enumerate(stops, start=1):
            form["stop"].append(tid)
            form["engineer"].append(engineer)
            form["order"].append(str(i))
            form["version"].append(version)
    return form
