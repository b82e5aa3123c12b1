"""The scheduler: warnings, escalation up the ladder, exactly once however many workers race,
state kept only in the database (a new scheduler carries on where the last one stopped)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.notifications.models import Notification
from portal.security import Principal
from portal.sla import service as sla
from portal.sla.flows import Scheduler
from portal.sla.service import SlaDefaults
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent
from tests.portal import factories as f
from tests.sla.support import (
    Crew,
    act,
    act_at,
    dispatch_to,
    escalations,
    make_crew,
    open_ticket,
    race,
    sh,
    staff_notes,
    timers,
)

MONDAY_9 = sh(2026, 3, 9, 9, 0)
STEP = timedelta(minutes=30)


def scheduler(db: Database, name: str = "w1", **kw: object) -> Scheduler:
    """A fresh scheduler, as a newly started worker process would have (its own database,
    wired as the worker wires it)."""
    fresh = wiring.wire(Database(db.url), Settings())
    return Scheduler(db=fresh, defaults=SlaDefaults(**kw), worker=name)  # type: ignore[arg-type]


def user(uid: int) -> str:
    return f"user:{uid}"


def test_a_warning_at_eighty_percent_then_nothing_until_the_deadline(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket_id = open_ticket(s, at=MONDAY_9).id
    # Response (10 min, unassigned): the dispatcher is warned at 09:08.
    assert scheduler(db).run_once(sh(2026, 3, 9, 9, 7)) == Counter()
    assert scheduler(db).run_once(sh(2026, 3, 9, 9, 8)) == Counter(warned=1)
    assert scheduler(db).run_once(sh(2026, 3, 9, 9, 9)) == Counter()
    with db.session() as s:
        assert staff_notes(s, "sla_warning") == [(user(crew.dispatcher), ticket_id)]
        note = s.scalars(select(Notification).where(Notification.template == "sla_warning")).one()
        assert note.status == "sent" and note.payload["due"] == "03-09 09:10"
        t = timers(s, ticket_id)["response"]
        assert t.warned_at == sh(2026, 3, 9, 9, 8) and t.next_check_at == t.due_at
        assert t.state == "pending" and escalations(s, ticket_id) == []


def test_a_missed_response_goes_straight_to_the_first_level_with_anyone_on_it(
    db: Database,
) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket_id = open_ticket(s, at=MONDAY_9).id
    breach = sh(2026, 3, 9, 9, 10)
    # Scheduler was down during the warning: the breach comes without it.
    assert scheduler(db).run_once(breach) == Counter(escalated=1)
    with db.session() as s:
        # No engineer or network yet: the dispatcher is the first rung with someone on it.
        (payload,) = escalations(s, ticket_id)
        assert payload["level"] == 3 and payload["level_name"] == "dispatcher"
        assert payload["timer"] == "response"
        t = timers(s, ticket_id)["response"]
        assert (t.state, t.level, t.fired_at) == ("breached", 3, breach)
        assert t.next_check_at == breach + STEP
        ticket = s.get_one(Ticket, ticket_id)
        assert ticket.escalated and ticket.status == "new"  # escalate keeps the status
        assert staff_notes(s, "sla_breached") == [(user(crew.dispatcher), ticket_id)]


def test_the_ladder_climbs_one_step_at_a_time_and_stops_at_the_top(db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, ticket, crew, MONDAY_9)
        ticket_id = ticket.id
        due = timers(s, ticket_id)["arrival"].due_at
    assert due == sh(2026, 3, 9, 13, 0)
    expected = {
        1: [user(crew.engineer_user)],
        2: [user(crew.manager)],
        3: [user(crew.dispatcher)],
        4: [user(crew.admin)],
    }
    now = due
    for level in range(1, 5):
        # A new scheduler each time: everything it needs is in the database.
        outcome = scheduler(db, name=f"w{level}").run_once(now)
        assert outcome == Counter(escalated=1), level
        with db.session() as s:
            levels = [p["level"] for p in escalations(s, ticket_id) if p["timer"] == "arrival"]
            assert levels == list(range(1, level + 1))
            notes = [r for r, _ in staff_notes(s, "sla_breached") if r in expected[level]]
            assert notes == expected[level]
        # Not before the next step is due …
        assert scheduler(db).run_once(now + STEP - timedelta(seconds=1)) == Counter()
        now += STEP
    # … and after the service platform there is nobody left to tell.
    assert scheduler(db).run_once(now + timedelta(days=1)) == Counter()
    with db.session() as s:
        t = timers(s, ticket_id)["arrival"]
        assert (t.state, t.level, t.next_check_at) == ("breached", 4, None)
        payloads = [p for p in escalations(s, ticket_id) if p["timer"] == "arrival"]
        assert [p["level_name"] for p in payloads] == [
            "engineer",
            "network_manager",
            "dispatcher",
            "platform",
        ]
        events = s.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "escalate"
            )
        ).all()
        assert {e.actor for e in events} == {"system:sla"}
        assert {e.from_status for e in events} == {"dispatched"}


def test_meeting_a_breached_deadline_late_stops_the_ladder(db: Database) -> None:
    with db.session() as s:
        make_crew(s)
        ticket_id = open_ticket(s, at=MONDAY_9).id
    scheduler(db).run_once(sh(2026, 3, 9, 9, 10))
    with db.session() as s:
        act_at(s, s.get_one(Ticket, ticket_id), "accept", sh(2026, 3, 9, 9, 20))
        t = timers(s, ticket_id)["response"]
        assert (t.state, t.met_at, t.next_check_at) == ("met", sh(2026, 3, 9, 9, 20), None)
        assert t.fired_at is not None  # met, but late
    assert scheduler(db).run_once(sh(2026, 3, 9, 12, 0)) == Counter()


def test_an_event_applied_outside_the_ticket_service_still_moves_the_timers(
    db: Database,
) -> None:
    # lifecycle.apply (a script, the demo history) publishes like the service does.
    with db.session() as s:
        make_crew(s)
        ticket = open_ticket(s, at=MONDAY_9)
        lifecycle.apply(s, ticket=ticket, action="accept", actor="x", at=sh(2026, 3, 9, 9, 5))
        cancelled = open_ticket(s, at=MONDAY_9)
        lifecycle.apply(s, ticket=cancelled, action="cancel", actor="x", at=MONDAY_9)
        ids = ticket.id, cancelled.id
        assert timers(s, ids[0])["response"].met_at == sh(2026, 3, 9, 9, 5)
        assert {t.state for t in timers(s, ids[1]).values()} == {"cancelled"}
    assert scheduler(db).run_once(sh(2026, 3, 9, 9, 15)) == Counter()


def _write_event_row(s: Session, ticket: Ticket, action: str, to: str, at: datetime) -> None:
    """What an import that writes rows (not events through the lifecycle) leaves behind."""
    s.add(
        TicketEvent(
            ticket=ticket,
            action=action,
            from_status=ticket.status,
            to_status=to,
            actor="import",
            payload={},
            created_at=at,
        )
    )
    ticket.status = to
    s.flush()


def test_a_ticket_moved_by_rows_alone_is_reconciled_not_escalated(db: Database) -> None:
    with db.session() as s:
        make_crew(s)
        ticket = open_ticket(s, at=MONDAY_9)
        _write_event_row(s, ticket, "accept", "accepted", sh(2026, 3, 9, 9, 5))
        cancelled = open_ticket(s, at=MONDAY_9)
        _write_event_row(s, cancelled, "cancel", "cancelled", MONDAY_9)
        ids = ticket.id, cancelled.id
    outcome = scheduler(db).run_once(sh(2026, 3, 9, 9, 15))
    assert outcome == Counter(met=1, cancelled=1)
    with db.session() as s:
        assert timers(s, ids[0])["response"].met_at == sh(2026, 3, 9, 9, 5)
        assert timers(s, ids[1])["response"].state == "cancelled"
        assert escalations(s, ids[0]) == escalations(s, ids[1]) == []
    # The cancelled ticket's other timers are closed when they come up, without a word.
    scheduler(db).run_once(sh(2026, 3, 20, 9, 0))
    with db.session() as s:
        assert {t.state for t in timers(s, ids[1]).values()} == {"cancelled"}
        assert escalations(s, ids[1]) == []


@pytest.mark.parametrize("rounds", [3])
def test_racing_workers_escalate_each_step_exactly_once(db: Database, rounds: int) -> None:
    with db.session() as s:
        crew = make_crew(s)
        ids = []
        for _ in range(12):
            ticket = open_ticket(s, at=MONDAY_9)
            dispatch_to(s, ticket, crew, MONDAY_9)
            ids.append(ticket.id)
    now = sh(2026, 3, 9, 13, 0)  # every arrival deadline
    for step in range(1, rounds + 1):
        total = race(db, now)
        # 12 arrival timers climb one step; the met response timers are not touched.
        assert total == Counter(escalated=12), step
        with db.session() as s:
            for ticket_id in ids:
                levels = [p["level"] for p in escalations(s, ticket_id)]
                assert levels == list(range(1, step + 1)), (ticket_id, levels)
            sent = s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.template == "sla_breached")
            )
            assert sent == 12 * step
        now += STEP
    assert crew.engineer_user  # the first rung was the assigned engineer


def test_two_workers_on_one_ticket_fire_it_once(db: Database) -> None:
    with db.session() as s:
        make_crew(s)
        ticket_id = open_ticket(s, at=MONDAY_9).id
    for _ in range(5):  # same deadline, five separate races: still one step
        race(db, sh(2026, 3, 9, 9, 10), workers=4)
    with db.session() as s:
        assert [p["level"] for p in escalations(s, ticket_id)] == [3]


def test_a_missed_arrival_with_nobody_else_free_asks_the_dispatchers(db: Database) -> None:
    # The crew's engineer is the only one who could go: dispatch has no one to give it to.
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, ticket, crew, MONDAY_9)
        ticket_id = ticket.id
    scheduler(db, auto_reassign=True).run_once(sh(2026, 3, 9, 13, 0))
    with db.session() as s:
        (payload,) = escalations(s, ticket_id)
        assert payload["reassign"] == "requested" and payload["level"] == 1
        assert staff_notes(s, "sla_reassign_requested") == [(user(crew.dispatcher), ticket_id)]
    # Without the flag nobody is asked.
    with db.session() as s:
        other = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, other, crew, MONDAY_9)
        other_id = other.id
    scheduler(db).run_once(sh(2026, 3, 9, 13, 0))
    with db.session() as s:
        assert "reassign" not in escalations(s, other_id)[0]


def test_urging_raises_urgency_tightens_deadlines_and_tells_assignee_and_dispatch(
    db: Database,
) -> None:
    with db.session() as s:
        crew = make_crew(s)
        sla.create_policy(
            s,
            data={
                "name": "加急",
                "urgency": "high",
                "response_minutes": 10,
                "arrival_minutes": 120,
                "resolution_minutes": 1440,
            },
        )
        customer = f.customer(s)
        ticket = open_ticket(s, customer=customer)
        act(s, ticket, "accept")
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        before = timers(s, ticket.id)["arrival"]
        before_due, started = before.due_at, before.started_at
        me = Principal(kind="customer", role="customer", name="c", customer_id=customer.id)
        act(s, ticket, "urge", principal=me)
        assert ticket.urgency == "high" and ticket.status == "dispatched"
        after = timers(s, ticket.id)["arrival"]
        assert after.policy == "加急" and after.duration_s == 7200
        assert after.due_at < before_due and after.started_at == started
        notes = staff_notes(s, "urged")
        assert notes == [(user(crew.engineer_user), ticket.id), (user(crew.dispatcher), ticket.id)]
        customer_note = s.scalars(
            select(Notification).where(Notification.template == "urge_received")
        ).one()
        assert customer_note.channel == "sms" and customer_note.recipient == customer.phone
        act(s, ticket, "urge", principal=me)
        act(s, ticket, "urge", principal=me)
        assert ticket.urgency == "urgent"  # and no further
        urged = s.scalars(
            select(Notification)
            .where(Notification.template == "urged")
            .order_by(Notification.id.desc())
        ).first()
        assert urged is not None and urged.payload["count"] == 3


def test_the_scheduler_ignores_met_and_future_timers(db: Database) -> None:
    with db.session() as s:
        crew: Crew = make_crew(s)
        ticket = open_ticket(s, at=MONDAY_9)
        dispatch_to(s, ticket, crew, MONDAY_9)
    # Only the arrival (warn 12:12) and resolution timers are pending; response was met.
    assert scheduler(db).run_once(sh(2026, 3, 9, 12, 11)) == Counter()
    assert scheduler(db).run_once(sh(2026, 3, 9, 12, 12)) == Counter(warned=1)
