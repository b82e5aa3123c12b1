"""A small fixed world whose every measure was worked out by hand (see HAND below).

Ten tickets over two networks, two engineers, two product models and seven units, made
through the ticket service and moved by `lifecycle.apply` at fixed times. The SLA timers
the service starts are removed, so the deadlines are the defaults (10 min / 4 h / 24 h,
wall clock) and can be checked by hand. NOW is 2026-11-22 09:00 in Shanghai.

    ticket  net eng  product/model  unit  story
    A       N1  E1   洗衣机 WM-A    a1    full life: t1..t9 = 300 1500 1800 1800 3600 77400
                                          7200 165600 172800; score 5; parts used, none waited
    B       —   —    空调 AC-B      —     consultation resolved by the bot after 20 min
    C       N1  E1   洗衣机 WM-A    a2    accepted after 12 min, dispatched, cancelled
    D       N2  E2   空调 AC-B      a3    scored 2, reopened, done again, scored 4
    E       N2  E2   空调 AC-B      a4    waited for parts between two visits; done after 27 h
    F       N1  E1   洗衣机 WM-A    a5    open for 100 h, engineer accepted, never arrived
    G       —   —    空调 AC-B      a6    VIP customer, open for 30 h, never accepted
    H       N1  E1   洗衣机 WM-A    a1    the same fault on A's unit 10 days later (a repeat)
    I       —   —    洗衣机         —     complaint, escalated, resolved remotely
    J       N2  E2   洗衣机 WM-A    a7    waiting for parts now; unit installed 12 days ago
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from portal.analytics.filters import Filters
from portal.analytics.refresh import refresh
from portal.assets.models import Asset, Product, ProductModel
from portal.customers.models import Customer
from portal.database import Database
from portal.networks.models import Engineer
from portal.sla.models import SlaTimer
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.portal import factories as fx

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # Sunday 09:00 in Shanghai
PERIOD = Filters(start=date(2026, 11, 1), end=date(2026, 11, 22), period=None, grain="week")
M = 60  # seconds in a minute


@dataclass
class World:
    """What the tests look things up by."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    networks: dict[str, int] = field(default_factory=dict)
    engineers: dict[str, int] = field(default_factory=dict)
    assets: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)

    def number(self, key: str) -> str:
        """A ticket's number by its letter."""
        return self.numbers[key]


def _model(s: Session, category: str, code: str, months: int) -> ProductModel:
    product = Product(category=category, name=f"{category}{code}")
    s.add(product)
    s.flush()
    row = ProductModel(product_id=product.id, code=code, name=f"型号{code}", warranty_months=months)
    s.add(row)
    s.flush()
    return row


def _unit(
    s: Session, customer: Customer, model: ProductModel, installed: date, warranty_end: date
) -> Asset:
    row = Asset(
        serial_number=f"SN-{model.code}-{installed.isoformat()}-{customer.id}",
        model_id=model.id,
        customer_id=customer.id,
        address_id=customer.addresses[0].id,
        install_date=installed,
        warranty_end=warranty_end,
    )
    s.add(row)
    s.flush()
    return row


def _customer(s: Session, city: str, *, tier: str = "normal") -> Customer:
    row = fx.customer(s, with_asset=False, tier=tier)
    home = row.addresses[0]
    home.city = city
    home.district = "浦东新区" if city == "上海" else "西湖区"
    s.flush()
    s.refresh(row)
    return row


Step = tuple[str, float, dict[str, Any]]


def _ticket(
    s: Session,
    *,
    customer: Customer,
    created: datetime,
    steps: list[Step],
    engineer: Engineer | None = None,
    asset: Asset | None = None,
    model: ProductModel | None = None,
    category: str,
    fault: str,
    type_: str = "repair",
    channel: str = "portal",
    bot_steps: tuple[str, ...] = (),
) -> Ticket:
    ticket = fx.ticket(
        s,
        customer=customer,
        at=created,
        product=category,
        fault_description=fault,
        type=type_,
        channel=channel,
    )
    ticket.asset_id = asset.id if asset else None
    ticket.model_code = model.code if model else ""
    for action, minutes, payload in steps:
        actor, role = ("service:bot", "bot") if action in bot_steps else ("system:test", "system")
        if action == "dispatch":
            assert engineer is not None
            ticket.network_id, ticket.engineer_id = engineer.network_id, engineer.id
            payload = {"network_id": engineer.network_id, "engineer_id": engineer.id}
        lifecycle.apply(
            s,
            ticket=ticket,
            action=action,
            actor=actor,
            role=role,
            payload=payload,
            at=created + timedelta(minutes=minutes),
        )
    s.flush()
    return ticket


def build(db: Database) -> World:
    """Write the world described above; returns what the tests look up."""
    w = World()
    with db.session() as s:
        n1 = fx.network(s, city="上海", name="上海一网点")
        n2 = fx.network(s, city="杭州", name="杭州二网点")
        e1 = fx.engineer(s, network=n1, name="工程师甲")
        e2 = fx.engineer(s, network=n2, name="工程师乙")
        wm = _model(s, "洗衣机", "WM-A", 12)
        ac = _model(s, "空调", "AC-B", 36)
        sh, sh2, sh3, sh4 = (_customer(s, "上海") for _ in range(4))
        vip = _customer(s, "上海", tier="vip")
        hz, hz2, hz3 = (_customer(s, "杭州") for _ in range(3))
        old = date(2025, 6, 1)
        a1 = _unit(s, sh, wm, date(2025, 11, 20), date(2026, 11, 20))
        a2 = _unit(s, sh2, wm, old, date(2026, 6, 1))
        a3 = _unit(s, hz, ac, old, date(2028, 6, 1))
        a4 = _unit(s, hz2, ac, old, date(2028, 6, 1))
        a5 = _unit(s, sh3, wm, old, date(2026, 6, 1))
        a6 = _unit(s, vip, ac, old, date(2028, 6, 1))
        a7 = _unit(s, hz3, wm, date(2026, 11, 10), date(2027, 11, 10))

        def ok(action: str, minutes: float) -> Step:
            return (action, minutes, {})

        t = w.tickets
        t["A"] = _ticket(
            s, customer=sh, created=T0, engineer=e1, asset=a1, model=wm, category="洗衣机",
            fault="滚筒不转，显示E21", channel="web",
            steps=[ok("accept", 5), ok("dispatch", 10), ok("engineer_accept", 30),
                   ok("depart", 60), ok("arrive", 90), ("complete", 150, {"parts": ["皮带"]}),
                   ok("request_evaluation", 1440), ("evaluate", 1560, {"score": 5}),
                   ok("request_settlement", 4320), ok("settle", 7200), ok("close", 7260)],
        )  # fmt: skip
        t["B"] = _ticket(
            s, customer=sh4, created=T0 + timedelta(minutes=60), category="空调",
            fault="遥控器怎么设置定时", type_="consultation", channel="wechat",
            steps=[ok("resolve_remotely", 20)], bot_steps=("resolve_remotely",),
        )  # fmt: skip
        t["C"] = _ticket(
            s, customer=sh2, created=T0 + timedelta(minutes=120), engineer=e1, asset=a2,
            model=wm, category="洗衣机", fault="进水慢", channel="phone",
            steps=[ok("accept", 12), ok("dispatch", 20), ok("cancel", 40)],
        )  # fmt: skip
        t["D"] = _ticket(
            s, customer=hz, created=T0 + timedelta(days=1), engineer=e2, asset=a3, model=ac,
            category="空调", fault="空调不制冷 F3", channel="phone",
            steps=[ok("accept", 2), ok("dispatch", 5), ok("engineer_accept", 15),
                   ok("depart", 30), ok("arrive", 60), ok("complete", 120),
                   ("evaluate", 180, {"score": 2}), ok("reopen", 240), ok("dispatch", 250),
                   ok("engineer_accept", 260), ok("depart", 270), ok("arrive", 300),
                   ok("complete", 360), ok("request_evaluation", 420),
                   ("evaluate", 480, {"score": 4})],
        )  # fmt: skip
        t["E"] = _ticket(
            s, customer=hz2, created=T0 + timedelta(days=2), engineer=e2, asset=a4, model=ac,
            category="空调", fault="外机异响", channel="phone",
            steps=[ok("accept", 3), ok("dispatch", 5), ok("engineer_accept", 10),
                   ok("depart", 20), ok("arrive", 50), ok("wait_parts", 60),
                   ok("resume", 1500), ok("dispatch", 1510), ok("engineer_accept", 1520),
                   ok("depart", 1530), ok("arrive", 1560),
                   ("complete", 1620, {"parts": ["压缩机电容"]})],
        )  # fmt: skip
        t["F"] = _ticket(
            s, customer=sh3, created=NOW - timedelta(hours=100), engineer=e1, asset=a5,
            model=wm, category="洗衣机", fault="显示e5，不排水", channel="web",
            steps=[ok("accept", 4), ok("dispatch", 30), ok("engineer_accept", 60)],
        )  # fmt: skip
        t["G"] = _ticket(
            s, customer=vip, created=NOW - timedelta(hours=30), asset=a6, model=ac,
            category="空调", fault="型号AC-150不制热", channel="phone", steps=[],
        )  # fmt: skip
        t["H"] = _ticket(
            s, customer=sh, created=T0 + timedelta(days=10), engineer=e1, asset=a1, model=wm,
            category="洗衣机", fault="又显示E21了", channel="web",
            steps=[ok("accept", 6), ok("dispatch", 10), ok("engineer_accept", 20),
                   ok("depart", 40), ok("arrive", 70), ok("complete", 100),
                   ok("request_evaluation", 200), ("evaluate", 260, {"score": 3})],
        )  # fmt: skip
        t["I"] = _ticket(
            s, customer=hz, created=T0 + timedelta(days=3), category="洗衣机",
            fault="工程师态度不好", type_="complaint", channel="phone",
            steps=[ok("accept", 8), ok("escalate", 10), ok("resolve_remotely", 60)],
        )  # fmt: skip
        t["J"] = _ticket(
            s, customer=hz3, created=NOW - timedelta(hours=8), engineer=e2, asset=a7,
            model=wm, category="洗衣机", fault="门锁坏了", channel="wechat",
            steps=[ok("accept", 5), ok("dispatch", 10), ok("engineer_accept", 20),
                   ok("depart", 30), ok("arrive", 60), ok("wait_parts", 90)],
        )  # fmt: skip
        # Hand-checkable deadlines: the defaults, not the business-hours timers.
        s.execute(delete(SlaTimer))
        for e in (e1, e2):
            e.work_start, e.work_end = time(8, 30), time(18, 0)
        w.networks = {"N1": n1.id, "N2": n2.id}
        w.engineers = {"E1": e1.id, "E2": e2.id}
        w.assets = {k: a.id for k, a in zip(("a1", "a2", "a3", "a4", "a5", "a6", "a7"),
                                            (a1, a2, a3, a4, a5, a6, a7), strict=True)}  # fmt: skip
        w.numbers = {k: v.number for k, v in t.items()}
    return w


@pytest.fixture
def world(db: Database) -> World:
    """The fixed world, written and folded into the facts as of NOW."""
    w = build(db)
    with db.session() as s:
        refresh(s, now=NOW)
    return w
