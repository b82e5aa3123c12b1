"""The demo data: staff-only and full seeds, lifecycle-true histories, and reproducibility."""

from __future__ import annotations

import inspect
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import wiring
from portal.accounts.models import User
from portal.assets.models import Asset, Product, ProductModel
from portal.complaints.models import Complaint
from portal.config import Settings
from portal.customers.models import Customer, CustomerAddress
from portal.database import Database
from portal.demo import intake, places, world
from portal.demo.complaints import SETTLED_AFTER
from portal.demo.script import UNTAKEN_HOURS
from portal.demo.seed import DEMO_STAFF, seed
from portal.demo.world import add_months
from portal.dispatch.parts import NoParts
from portal.migrate import upgrade
from portal.models import Base
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.security import ROLES, verify_password
from portal.tickets.lifecycle import TRANSITIONS
from portal.tickets.models import Ticket, TicketEvent
from tests.demo_fixtures import DEMO_NOW, DEMO_TICKETS

# A fixed "now", so both the history and the day-based ticket numbers repeat exactly.
NOW = DEMO_NOW
# Fewer tickets than the real 2,000 keep the test quick on PostgreSQL; the other counts are real.
TICKETS = DEMO_TICKETS
CATEGORIES = {"洗衣机", "空调", "冰箱", "热水器", "油烟机", "燃气灶"}
IN_PROGRESS = {
    "accepted",
    "dispatched",
    "engineer_accepted",
    "departed",
    "arrived",
    "waiting_parts",
}
RARE_ACTIONS = ("engineer_reject", "reassign", "reopen", "escalate", "urge", "wait_parts", "resume")
SKILL_FOR = {
    "installation": "installation",
    "repair": "repair",
    "maintenance": "maintenance",
    "consultation": "repair",
    "complaint": "repair",
}


def _count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _table_counts(session: Session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
    }


def test_real_defaults() -> None:
    assert world.CUSTOMERS == 300
    assert world.ENGINEERS == 40
    assert len(places.NETWORKS) == 6
    assert set(places.CITIES) == {"上海", "杭州", "南京"}
    assert {n.city for n in places.NETWORKS} == set(places.CITIES)
    assert intake.TICKETS == 2000
    assert inspect.signature(seed).parameters["tickets"].default == 2000
    assert inspect.signature(seed).parameters["size"].default == "full"


def test_minimal_seed_creates_only_staff(db: Database) -> None:
    with db.session() as session:
        assert seed(session, size="minimal") is True
    with db.session() as session:
        users = session.scalars(select(User)).all()
        assert sorted(u.username for u in users) == sorted(row[0] for row in DEMO_STAFF)
        by_name = {u.username: u for u in users}
        for username, password, name, role in DEMO_STAFF:
            assert by_name[username].role == role
            assert by_name[username].display_name == name
            assert verify_password(password, by_name[username].password_hash)
        assert {role for *_, role in DEMO_STAFF} == set(ROLES)
        counts = _table_counts(session)
        assert {name for name, n in counts.items() if n} == {"users"}


def test_second_seed_returns_false_and_writes_nothing(db: Database) -> None:
    with db.session() as session:
        assert seed(session, size="minimal") is True
    with db.session() as session:
        before = _table_counts(session)
    with db.session() as session:
        assert seed(session) is False
        assert seed(session, size="minimal") is False
    with db.session() as session:
        assert _table_counts(session) == before


def test_unknown_size_is_refused(db: Database) -> None:
    with db.session() as session, pytest.raises(ValueError):
        seed(session, size="huge")


def _events_by_ticket(session: Session) -> dict[int, list[TicketEvent]]:
    out: dict[int, list[TicketEvent]] = defaultdict(list)
    for event in session.scalars(select(TicketEvent).order_by(TicketEvent.id)):
        out[event.ticket_id].append(event)
    return out


def _check_replay(ticket: Ticket, events: list[TicketEvent]) -> None:
    first, *rest = events
    assert (first.action, first.from_status, first.to_status) == ("create", None, "new")
    assert first.created_at == ticket.created_at
    previous = first
    for event in rest:
        rule = TRANSITIONS[event.action]
        assert event.from_status == previous.to_status, (ticket.number, event.action)
        assert event.from_status in rule.sources, (ticket.number, event.action)
        assert event.to_status == (rule.target or event.from_status)
        assert event.created_at > previous.created_at, (ticket.number, event.action)
        previous = event
    assert previous.to_status == ticket.status
    assert ticket.updated_at == previous.created_at


def test_full_seed(demo_db: Database) -> None:
    db = demo_db  # seeded once per run with TICKETS at NOW (tests/demo_fixtures.py)
    with db.session() as session:
        assert seed(session, tickets=TICKETS, now=NOW, progress=False) is False  # already there

    with db.session() as session:
        # Low ratings opened complaint cases; the desk worked the older ones to the end.
        cases = session.scalars(select(Complaint)).all()
        assert cases, "the history's low ratings open complaint cases"
        settled = [c for c in cases if NOW - c.created_at >= SETTLED_AFTER]
        assert settled and all(c.status == "closed" and c.outcome for c in settled)
        assert all(c.closed_at is not None and c.closed_at <= NOW for c in settled)
        # Closed once the customer accepted the outcome, confirmed it on a call, or never
        # answered (tests/complaints/test_confirmation.py).
        assert {c.confirmation for c in settled} <= {"accepted", "phone", "no_reply"}
        assert all(c.events[-1].action in ("close", "confirm_phone", "lapse") for c in settled)
        assert not [c for c in cases if c.status == "open" and c.deadline_at < NOW - SETTLED_AFTER]

    with db.session() as session:
        networks = session.scalars(select(ServiceNetwork)).all()
        # Two networks per city, and 川沙伞下店, an outlet under 上海浦东 (issue 23).
        assert len(networks) == 7
        assert Counter(n.city for n in networks) == {"上海": 3, "杭州": 2, "南京": 2}
        (outlet,) = [n for n in networks if n.kind == "sub"]
        assert outlet.parent_id == next(n.id for n in networks if n.code == "SH-PD")
        assert Counter(n.city for n in networks if n.auto_dispatch) == {
            "上海": 1,
            "杭州": 1,
            "南京": 1,
        }
        assert all(n.coverage and n.stock_location and n.lat and n.lng for n in networks)
        managers = session.scalars(select(User).where(User.role == "network_manager")).all()
        assert {m.network_id for m in managers} == {n.id for n in networks}

        engineers = session.scalars(select(Engineer)).all()
        assert len(engineers) == 42  # 40, and the outlet's two
        users = {u.id: u for u in session.scalars(select(User))}
        for e in engineers:
            user = users[e.user_id]  # type: ignore[index]
            assert user.role == "engineer" and user.network_id == e.network_id
            assert 4 <= e.daily_capacity <= 8 and e.work_start < e.work_end
            assert e.home_lat is not None and e.home_lng is not None
        assert 0 < sum(not e.on_duty for e in engineers) < 10
        demo_engineer = next(u for u in users.values() if u.username == "engineer")
        assert any(e.user_id == demo_engineer.id for e in engineers)
        assert next(u for u in users.values() if u.username == "manager").network_id

        skills: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for s in session.scalars(select(EngineerSkill)):
            assert 1 <= s.level <= 3
            skills[s.engineer_id].add((s.product_category, s.service_type))
        assert {c for pairs in skills.values() for c, _ in pairs} == CATEGORIES

        assert set(session.scalars(select(Product.category))) == CATEGORIES
        models = session.scalars(select(ProductModel)).all()
        assert {"WM-100", "WM-200", "WM-300"} <= {m.code for m in models}
        assert all(12 <= m.warranty_months <= 72 for m in models)  # 空调: 6 years
        months = {m.id: m.warranty_months for m in models}

        customers = session.scalars(select(Customer)).all()
        assert len(customers) == 300
        assert len({c.phone for c in customers}) == 300
        assert 15 <= sum(c.tier == "vip" for c in customers) <= 45
        addresses = session.scalars(select(CustomerAddress)).all()
        per_customer = Counter(a.customer_id for a in addresses)
        assert set(per_customer.values()) <= {1, 2} and len(per_customer) == 300
        for address in addresses:
            assert address.lat is not None and address.lng is not None
            assert any(n.covers(address.city, address.district) for n in networks)
        assets = session.scalars(select(Asset)).all()
        assert set(Counter(a.customer_id for a in assets).values()) <= {1, 2, 3}
        assert len({a.serial_number for a in assets}) == len(assets)
        for asset in assets:
            assert asset.install_date and asset.install_date <= NOW.date()
            assert asset.warranty_end == add_months(asset.install_date, months[asset.model_id])

        tickets = session.scalars(select(Ticket)).all()
        assert len(tickets) == TICKETS
        events = _events_by_ticket(session)
        by_asset = {a.id: a for a in assets}
        engineer_by_id = {e.id: e for e in engineers}
        network_by_id = {n.id: n for n in networks}

        def check_assignment(ticket: Ticket, engineer_id: int, network_id: int) -> None:
            engineer = engineer_by_id[engineer_id]
            assert engineer.network_id == network_id
            assert network_by_id[network_id].covers(ticket.city, ticket.district)
            assert (ticket.product, SKILL_FOR[ticket.type]) in skills[engineer.id]

        for ticket in tickets:
            asset = by_asset[ticket.asset_id]  # type: ignore[index]
            assert asset.customer_id == ticket.customer_id
            assert ticket.serial_number == asset.serial_number and ticket.model_code
            assert ticket.city and ticket.district and ticket.address.startswith(ticket.city)
            assert ticket.product in CATEGORIES
            _check_replay(ticket, events[ticket.id])
            for event in events[ticket.id]:
                if event.action in ("dispatch", "reassign"):
                    check_assignment(
                        ticket, event.payload["engineer_id"], event.payload["network_id"]
                    )
                if event.action == "evaluate":
                    assert event.payload["score"] in {1, 2, 3, 4, 5}
            if ticket.engineer_id is not None:
                assert ticket.network_id is not None
                check_assignment(ticket, ticket.engineer_id, ticket.network_id)

        created = [t.created_at for t in tickets]
        assert min(created) >= NOW - timedelta(days=90) and max(created) < NOW
        statuses = Counter(t.status for t in tickets)
        assert statuses.most_common(1)[0][0] == "closed"
        assert {"cancelled", "new", "completed", "pending_settlement"} <= set(statuses)
        # The desk answers within minutes: only the last hours' tickets still wait for it.
        waiting = [t.created_at for t in tickets if t.status == "new"]
        assert min(waiting) >= NOW - timedelta(hours=UNTAKEN_HOURS), waiting
        assert len(set(statuses) & IN_PROGRESS) >= 4
        every = [e for evs in events.values() for e in evs]
        actions = Counter(e.action for e in every)
        for action in RARE_ACTIONS:
            assert actions[action] > 0, action
        assert 0.03 < actions["resolve_remotely"] / TICKETS < 0.15
        assert 0.01 < actions["cancel"] / TICKETS < 0.08
        scores = Counter(e.payload["score"] for e in every if e.action == "evaluate")
        assert scores[4] + scores[5] > 0.75 * sum(scores.values())
        assert Counter(t.type for t in tickets).most_common(1)[0][0] == "repair"
        assert any("repeat_of" in t.details for t in tickets)
        # Tickets are numbered per day in the order they came in.
        ordered = sorted(tickets, key=lambda t: t.created_at)
        assert [t.number for t in ordered] == sorted(t.number for t in tickets)


def _fingerprint(db: Database) -> list[tuple[str, str, str, tuple[str, ...]]]:
    with db.session() as session:
        events = _events_by_ticket(session)
        return [
            (t.number, t.status, t.serial_number, tuple(e.action for e in events[t.id]))
            for t in session.scalars(select(Ticket).order_by(Ticket.number))
        ]


def test_two_fresh_databases_get_the_same_data(db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        seed(session, tickets=60, now=NOW, progress=False)
    first = _fingerprint(db)

    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(url)
    other = wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture
    try:
        with other.session() as session:
            seed(session, tickets=60, now=NOW, progress=False)
        second = _fingerprint(other)
    finally:
        other.dispose()
    assert len(first) >= 60
    assert first == second
