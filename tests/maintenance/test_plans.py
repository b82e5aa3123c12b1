"""Preventive maintenance on both databases: calendar (days, months) and usage plans, tickets
made ahead of time through the ticket service, one per occurrence however often it runs."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.assets.models import Asset, ProductModel
from portal.database import Database
from portal.errors import Invalid
from portal.maintenance import service
from portal.maintenance.flows import create_due_tickets
from portal.maintenance.models import MaintenanceOccurrence, MaintenancePlan
from portal.maintenance.schemas import PlanCreate
from portal.tickets.models import Ticket
from tests.portal import factories as f

# 10:00 in Shanghai on 25 June 2026.
NOW = datetime.fromisoformat("2026-06-25T02:00:00+00:00")


def at(day: str, hour: int = 10) -> datetime:
    """An aware moment on a Shanghai calendar day."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


def _unit(s: Session, *, model: ProductModel | None = None, installed: date) -> Asset:
    customer = f.customer(s, with_asset=False)
    return f.asset(
        s, customer=customer, address_=customer.addresses[0], model=model, install_date=installed
    )


def _plan(s: Session, **fields: object) -> MaintenancePlan:
    data = PlanCreate.model_validate({"name": "滤网清洗", **fields})
    return service.create_plan(s, data=data, actor="user:1", now=NOW)


def _maintenance_tickets(s: Session) -> list[Ticket]:
    return list(s.scalars(select(Ticket).where(Ticket.type == "maintenance").order_by(Ticket.id)))


def _days(*days: str) -> list[date]:
    return [date.fromisoformat(d) for d in days]


def test_calendar_arithmetic() -> None:
    def dues(anchor: str, kind: str, every: int, start: str, end: str, today: str) -> list[date]:
        return [
            d.day
            for d in service.calendar_dues(
                anchor=date.fromisoformat(anchor),
                kind=kind,
                every=every,
                start=date.fromisoformat(start),
                end=date.fromisoformat(end),
                today=date.fromisoformat(today),
            )
        ]

    assert dues("2026-01-01", "days", 30, "2026-01-01", "2026-03-15", "2026-01-01") == _days(
        "2026-01-31", "2026-03-02"
    )
    # Months count from the anchor each time: the 31st stays the month's last day.
    assert dues("2026-01-31", "months", 1, "2026-01-01", "2026-04-30", "2026-01-01") == _days(
        "2026-02-28", "2026-03-31", "2026-04-30"
    )
    # A missed run leaves one overdue occurrence, not one per missed interval.
    assert dues("2026-01-01", "days", 7, "2026-01-01", "2026-02-15", "2026-02-01") == _days(
        "2026-01-29", "2026-02-05", "2026-02-12"
    )
    # An old anchor is jumped to, not walked from.
    assert dues("2000-01-15", "months", 12, "2026-01-01", "2026-12-31", "2026-01-01") == _days(
        "2026-01-15"
    )
    assert dues("2026-01-01", "days", 1, "2026-03-01", "2026-02-01", "2026-01-01") == []


def test_a_days_plan_makes_one_ticket_per_occurrence(db: Database) -> None:
    with db.session() as s:
        unit = _unit(s, installed=date(2025, 1, 1))
        plan = _plan(
            s,
            asset_id=unit.id,
            interval_kind="days",
            interval_value=90,
            starts_on="2026-04-01",
            effective_from="2026-04-01",
            description="清洗进水滤网并检查排水泵",
        )
        made = create_due_tickets(s, now=NOW, horizon_days=14)
        assert len(made) == 1
        ticket = made[0]
        assert (ticket.type, ticket.status, ticket.channel) == ("maintenance", "new", "portal")
        assert ticket.asset_id == unit.id and ticket.serial_number == unit.serial_number
        assert ticket.customer_id == unit.customer_id
        assert ticket.details["preferred_time"] == "6月30日前"
        assert (
            "清洗进水滤网" in ticket.fault_description and "2026-06-30" in ticket.fault_description
        )
        assert [e.action for e in ticket.events] == ["create"]
        assert ticket.events[0].actor == "system:maintenance"
        assert ticket.created_at == NOW
        plan_id = plan.id

    with db.session() as s:
        assert create_due_tickets(s, now=NOW, horizon_days=14) == []
        assert create_due_tickets(s, now=NOW + timedelta(days=1), horizon_days=14) == []
        later = create_due_tickets(s, now=at("2026-09-20"), horizon_days=14)
        assert [t.details["preferred_time"] for t in later] == ["9月28日前"]
        rows = service.occurrences(s, plan_id=plan_id)
        assert [(o.due_key, o.due_date) for o in rows] == [
            ("2026-06-30", date(2026, 6, 30)),
            ("2026-09-28", date(2026, 9, 28)),
        ]
        assert all(o.ticket_id is not None for o in rows)
        assert len(_maintenance_tickets(s)) == 2


def test_a_months_plan_for_a_model_covers_each_of_its_assets(db: Database) -> None:
    with db.session() as s:
        model = f.product_model(s, product_=f.product(s, category="空调"))
        first = _unit(s, model=model, installed=date(2025, 1, 1))
        second = _unit(s, model=model, installed=date(2025, 3, 15))
        _unit(s, installed=date(2025, 1, 1))  # another model: not covered
        _plan(
            s,
            model_code=model.code,
            interval_kind="months",
            interval_value=6,
            effective_from="2026-06-01",
        )
        made = create_due_tickets(s, now=NOW, horizon_days=14)
        assert [(t.asset_id, t.details["preferred_time"]) for t in made] == [(first.id, "7月1日前")]
        assert made[0].product == "空调" and made[0].model_code == model.code
        made = create_due_tickets(s, now=at("2026-09-10"), horizon_days=14)
        assert [(t.asset_id, t.details["preferred_time"]) for t in made] == [
            (second.id, "9月15日前")
        ]
        assert create_due_tickets(s, now=at("2026-09-10"), horizon_days=14) == []


def test_a_missed_run_makes_only_the_latest_overdue_ticket(db: Database) -> None:
    with db.session() as s:
        unit = _unit(s, installed=date(2025, 1, 1))
        _plan(
            s,
            asset_id=unit.id,
            interval_kind="days",
            interval_value=7,
            starts_on="2026-06-01",
            effective_from="2026-06-01",
        )
        made = create_due_tickets(s, now=NOW, horizon_days=0)
        assert [t.details["preferred_time"] for t in made] == ["6月22日前"]


def test_a_new_plan_does_not_backfill_history_and_inactive_plans_rest(db: Database) -> None:
    with db.session() as s:
        unit = _unit(s, installed=date(2020, 1, 1))
        plan = _plan(s, asset_id=unit.id, interval_kind="months", interval_value=3)
        assert plan.effective_from == date(2026, 6, 25)  # by default: the day it was made
        # Every 3 months from 1 January 2020: next on 1 July 2026, none of the 25 before.
        assert [
            t.details["preferred_time"] for t in create_due_tickets(s, now=NOW, horizon_days=14)
        ] == ["7月1日前"]
        service.deactivate_plan(s, plan=plan)
        assert create_due_tickets(s, now=at("2026-09-25"), horizon_days=14) == []


def test_a_usage_plan_falls_due_on_the_counter_and_ahead_of_it(db: Database) -> None:
    with db.session() as s:
        unit = _unit(s, installed=date(2025, 1, 1))
        _plan(
            s,
            asset_id=unit.id,
            interval_kind="usage",
            interval_value=500,
            usage_unit="小时",
            effective_from="2026-06-01",
        )

        def read(value: str, day: str) -> None:
            service.add_reading(
                s, asset=unit, value=Decimal(value), read_at=at(day), actor="user:1", now=at(day)
            )

        assert create_due_tickets(s, now=at("2026-06-11"), horizon_days=14) == []  # no readings
        # Before the plan took effect the counter stood at 1200: its first mark is 1500.
        read("1200", "2026-05-20")
        read("1400", "2026-06-10")
        # About 9.5 hours a day: 1500 is reached around 21 June.
        assert create_due_tickets(s, now=at("2026-06-11"), horizon_days=7) == []
        ahead = create_due_tickets(s, now=at("2026-06-11"), horizon_days=14)
        assert [t.details["preferred_time"] for t in ahead] == ["6月21日前"]
        assert create_due_tickets(s, now=at("2026-06-12"), horizon_days=14) == []
        read("1520", "2026-06-22")  # reached: the ticket made ahead covers it
        assert create_due_tickets(s, now=at("2026-06-22"), horizon_days=0) == []
        read("2010", "2026-07-15")
        due = create_due_tickets(s, now=at("2026-07-15"), horizon_days=0)
        assert [t.details["preferred_time"] for t in due] == ["7月15日前"]
        keys = s.scalars(select(MaintenanceOccurrence.due_key).order_by(MaintenanceOccurrence.id))
        assert list(keys) == ["usage:1500", "usage:2000"]

        with pytest.raises(Invalid):
            read("1999", "2026-07-16")  # a cumulative counter does not go down
        with pytest.raises(Invalid):
            service.add_reading(
                s, asset=unit, value=Decimal("3000"), read_at=at("2026-08-01"),
                actor="user:1", now=at("2026-07-16"),
            )  # fmt: skip


def test_two_schedulers_at_once_make_each_ticket_once(db: Database) -> None:
    if db.url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row locks")
    with db.session() as s:
        unit = _unit(s, installed=date(2025, 1, 1))
        _plan(
            s,
            asset_id=unit.id,
            interval_kind="days",
            interval_value=90,
            starts_on="2026-04-01",
            effective_from="2026-04-01",
        )
    barrier = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with db.session() as s:
                barrier.wait(timeout=10)
                made.append(len(create_due_tickets(s, now=NOW, horizon_days=14)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(made) == [0, 1]
    with db.session() as s:
        assert s.scalar(select(func.count(MaintenanceOccurrence.id))) == 1
        assert len(_maintenance_tickets(s)) == 1
