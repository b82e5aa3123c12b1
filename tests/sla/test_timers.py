"""Timers are stored per ticket when it is opened, counted on business hours, and met,
cancelled, paused or restarted by the lifecycle events (through the real ticket service)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from sqlalchemy import select

from portal.database import Database
from portal.sla import service as sla
from portal.sla.models import SlaTimer
from tests.portal import factories as f
from tests.sla.support import act, act_at, dispatch_to, make_crew, open_ticket, sh, timers

FRIDAY_1750 = sh(2026, 3, 6, 17, 50)


def test_a_friday_evening_ticket_gets_its_deadlines_on_business_hours(db: Database) -> None:
    with db.session() as s:
        ticket = open_ticket(s, at=FRIDAY_1750)
        t = timers(s, ticket.id)
        assert set(t) == {"response", "arrival", "resolution"}
        # 10 minutes: exactly at Friday's closing time.
        assert t["response"].due_at == sh(2026, 3, 6, 18, 0)
        # 4 hours: 10 minutes on Friday, 3h50 on Monday.
        assert t["arrival"].due_at == sh(2026, 3, 9, 12, 50)
        # 24 hours: 10 min Friday, 9 h Monday, 9 h Tuesday, 5h50 Wednesday.
        assert t["resolution"].due_at == sh(2026, 3, 11, 14, 50)
        # Warned at 80% of the working time: 3h12 after the report.
        assert t["arrival"].warn_at == sh(2026, 3, 9, 12, 2)
        for timer in t.values():
            assert timer.state == "pending" and timer.level == 0
            assert timer.started_at == FRIDAY_1750
            assert timer.next_check_at == timer.warn_at
            assert timer.due_at.tzinfo is UTC
        assert t["arrival"].duration_s == 4 * 3600 and t["arrival"].policy == "default"


def test_the_default_calendar_row_and_its_holidays_replace_the_settings(db: Database) -> None:
    with db.session() as s:
        sla.put_calendar(
            s,
            network_id=None,
            name="全国",
            timezone="Asia/Shanghai",
            weekly_hours={str(d): "09:00-18:00" for d in range(1, 6)},
            days=[(date(2026, 3, 9), False, "停业")],
        )
        ticket = open_ticket(s, at=FRIDAY_1750)
        assert timers(s, ticket.id)["arrival"].due_at == sh(2026, 3, 10, 12, 50)


def test_after_dispatch_the_networks_own_calendar_counts(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        # This network also works Saturday mornings.
        sla.put_calendar(
            s,
            network_id=crew.network_id,
            name="浦东网点",
            timezone="Asia/Shanghai",
            weekly_hours={**{str(d): "09:00-18:00" for d in range(1, 6)}, "6": "09:00-12:00"},
            days=[],
        )
        ticket = open_ticket(s, at=FRIDAY_1750)
        assert timers(s, ticket.id)["arrival"].due_at == sh(2026, 3, 9, 12, 50)
        dispatch_to(s, ticket, crew, FRIDAY_1750 + timedelta(minutes=5))
        # 10 min Friday + 3 h Saturday + 50 min Monday.
        assert timers(s, ticket.id)["arrival"].due_at == sh(2026, 3, 9, 9, 50)


def test_the_most_specific_policy_wins(db: Database) -> None:
    with db.session() as s:
        sla.create_policy(
            s,
            data={
                "name": "维修",
                "ticket_type": "repair",
                "response_minutes": 30,
                "arrival_minutes": 480,
                "resolution_minutes": 2880,
            },
        )
        sla.create_policy(
            s,
            data={
                "name": "VIP 加急",
                "ticket_type": "repair",
                "urgency": "urgent",
                "customer_tier": "vip",
                "response_minutes": 5,
                "arrival_minutes": 120,
                "resolution_minutes": 0,  # no resolution deadline
                "business_hours": False,  # around the clock
            },
        )
        vip = f.customer(s, tier="vip")
        urgent = open_ticket(s, customer=vip, at=FRIDAY_1750, urgency="urgent")
        t = timers(s, urgent.id)
        assert set(t) == {"response", "arrival"}
        assert t["arrival"].policy == "VIP 加急" and not t["arrival"].business_hours
        assert t["arrival"].due_at == FRIDAY_1750 + timedelta(hours=2)
        plain = open_ticket(s, at=FRIDAY_1750)
        assert timers(s, plain.id)["response"].policy == "维修"
        assert timers(s, plain.id)["response"].due_at == sh(2026, 3, 9, 9, 20)


def test_a_consultation_needs_no_visit(db: Database) -> None:
    with db.session() as s:
        ticket = open_ticket(s, at=FRIDAY_1750, type="consultation")
        assert set(timers(s, ticket.id)) == {"response", "resolution"}


def test_the_lifecycle_meets_each_deadline(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s)
        act(s, ticket, "accept")
        t = timers(s, ticket.id)
        assert t["response"].state == "met" and t["response"].met_at is not None
        assert t["response"].next_check_at is None
        assert t["arrival"].state == "pending"
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        for action in ("engineer_accept", "depart"):
            act(s, ticket, action)
        assert timers(s, ticket.id)["arrival"].state == "pending"
        act(s, ticket, "arrive")
        assert timers(s, ticket.id)["arrival"].state == "met"
        assert timers(s, ticket.id)["resolution"].state == "pending"
        act(s, ticket, "complete")
        t = timers(s, ticket.id)
        assert {k: v.state for k, v in t.items()} == dict.fromkeys(t, "met")
        assert all(v.fired_at is None for v in t.values())


def test_cancelling_cancels_and_remote_resolution_needs_no_visit(db: Database) -> None:
    with db.session() as s:
        cancelled = open_ticket(s)
        act(s, cancelled, "cancel")
        assert {t.state for t in timers(s, cancelled.id).values()} == {"cancelled"}
        remote = open_ticket(s)
        act(s, remote, "accept")
        act(s, remote, "resolve_remotely")
        states = {k: t.state for k, t in timers(s, remote.id).items()}
        assert states == {"response": "met", "arrival": "cancelled", "resolution": "met"}


def test_reopening_starts_new_visit_and_resolution_deadlines(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s, at=FRIDAY_1750)
        dispatch_to(s, ticket, crew, FRIDAY_1750)
        for action in ("engineer_accept", "depart", "arrive", "complete"):
            act_at(s, ticket, action, sh(2026, 3, 9, 10, 0))
        reopened_at = sh(2026, 3, 10, 17, 0)
        act_at(s, ticket, "reopen", reopened_at)
        rows = s.scalars(
            select(SlaTimer).where(SlaTimer.ticket_id == ticket.id).order_by(SlaTimer.id)
        ).all()
        assert [(r.kind, r.state) for r in rows] == [
            ("response", "met"),
            ("arrival", "met"),
            ("resolution", "met"),
            ("arrival", "pending"),
            ("resolution", "pending"),
        ]
        assert rows[3].started_at == reopened_at
        assert rows[3].due_at == sh(2026, 3, 11, 12, 0)


def test_waiting_for_parts_stops_the_clock(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        monday_9 = sh(2026, 3, 9, 9, 0)
        ticket = open_ticket(s, at=monday_9)
        dispatch_to(s, ticket, crew, monday_9)
        assert timers(s, ticket.id)["arrival"].due_at == sh(2026, 3, 9, 13, 0)
        # One working hour in, parts are missing; they come on Wednesday at 15:00.
        act_at(s, ticket, "wait_parts", sh(2026, 3, 9, 10, 0))
        t = timers(s, ticket.id)["arrival"]
        assert (t.state, t.remaining_s, t.next_check_at) == ("paused", 3 * 3600, None)
        act_at(s, ticket, "resume", sh(2026, 3, 11, 15, 0))
        t = timers(s, ticket.id)["arrival"]
        assert t.state == "pending" and t.remaining_s is None
        # Three hours left: 15:00-18:00 Wednesday.
        assert t.due_at == sh(2026, 3, 11, 18, 0)
        # Warned once 80% of the four hours is used: 2h12 after resuming.
        assert t.warn_at == sh(2026, 3, 11, 17, 12) and t.next_check_at == t.warn_at


def test_accepting_a_ticket_without_timers_starts_them_from_its_report(db: Database) -> None:
    with db.session() as s:
        ticket = open_ticket(s, at=FRIDAY_1750)
        for timer in timers(s, ticket.id).values():
            s.delete(timer)
        s.flush()
        act_at(s, ticket, "accept", sh(2026, 3, 9, 9, 30))
        t = timers(s, ticket.id)
        assert t["response"].state == "met" and t["response"].started_at == FRIDAY_1750
        assert t["arrival"].due_at == sh(2026, 3, 9, 12, 50)
