"""The per-ticket facts match `lifecycle.stage_durations` and the hand-worked values, and the
refresh folds in only what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from portal.analytics.models import TicketStageFact
from portal.analytics.refresh import Deadlines, refresh
from portal.database import Database
from portal.sla.models import SlaTimer
from portal.tickets import lifecycle
from portal.tickets.lifecycle import stage_durations
from portal.tickets.models import Ticket
from tests.analytics.conftest import NOW, T0, M, World, build
from tests.portal import factories as fx

STAGES = ("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9")
# Worked out by hand from the steps in conftest (seconds; None: skipped or not reached).
HAND: dict[str, tuple[float | None, ...]] = {
    "A": (300, 1500, 1800, 1800, 3600, 77400, 7200, 165600, 172800),
    "B": (None,) * 9,  # remote resolution skips every stage
    "C": (720, None, None, None, None, None, None, None, None),  # cancelled after dispatch
    # Reopened: each stage ends at its first closing event; t7 never opened before the first
    # evaluation, so it stays empty even though a later evaluation had a request.
    "D": (120, 780, 900, 1800, 3600, 3600, None, None, None),
    # Waiting for parts: t5 runs from the second arrival (the last before completion).
    "E": (180, 420, 600, 1800, 3600, None, None, None, None),
    "F": (240, 3360, None, None, None, None, None, None, None),
    "G": (None,) * 9,
    "H": (360, 840, 1200, 1800, 1800, 6000, 3600, None, None),
    "I": (480, None, None, None, None, None, None, None, None),
    "J": (300, 900, 600, 1800, None, None, None, None, None),
}


def facts(db: Database) -> dict[int, TicketStageFact]:
    with db.session() as s:
        return {f.ticket_id: f for f in s.scalars(select(TicketStageFact))}


def test_stage_durations_match_the_hand_worked_values(db: Database, world: World) -> None:
    rows = facts(db)
    for key, expected in HAND.items():
        row = rows[world.tickets[key].id]
        got = tuple(getattr(row, s) for s in STAGES)
        assert got == pytest.approx(expected), key


def test_stage_durations_match_the_lifecycle_definition(db: Database, world: World) -> None:
    rows = facts(db)
    with db.session() as s:
        for ticket in s.scalars(select(Ticket)):
            python = stage_durations(ticket.events)
            row = rows[ticket.id]
            assert {k: getattr(row, k) for k in STAGES} == pytest.approx(python), ticket.number


def test_milestones_deadlines_and_outcomes(db: Database, world: World) -> None:
    rows = {k: facts(db)[t.id] for k, t in world.tickets.items()}
    created = {k: r.created_ts for k, r in rows.items()}
    a, b, d, e, j = rows["A"], rows["B"], rows["D"], rows["E"], rows["J"]
    assert created["A"] == T0.timestamp()
    assert a.responded_ts - a.created_ts == 300
    assert a.response_due_ts - a.created_ts == 10 * M  # no timers: the defaults
    assert a.arrival_due_ts - a.created_ts == 240 * M
    assert a.resolution_due_ts - a.created_ts == 1440 * M
    assert b.arrival_due_ts is None  # a consultation needs no visit
    assert b.remote and b.bot_intake and b.responded_ts - b.created_ts == 20 * M
    assert d.score == 4 and d.reopen_count == 1  # the last evaluation counts
    assert d.completed_ts - d.created_ts == 120 * M and d.resolved_ts - d.created_ts == 360 * M
    assert e.parts_needed and e.parts_waited and a.parts_needed and not a.parts_waited
    assert j.status == "waiting_parts" and j.waiting_parts_ts - j.created_ts == 90 * M
    assert (a.day, a.week, a.month, a.visit_day) == (
        "2026-11-02",
        "2026-11-02",
        "2026-11",
        "2026-11-02",
    )
    assert (a.fault_code, rows["H"].fault_code, d.fault_code) == ("E21", "E21", "F3")
    assert (rows["F"].fault_code, rows["G"].fault_code, e.fault_code) == ("E5", "", "")
    assert (a.age_days, a.warranty_days_left) == (347, 18)
    assert (j.age_days, rows["C"].warranty_days_left) == (12, -154)
    assert e.dispatches == 2 and d.dispatches == 2 and a.dispatches == 1


def test_repeat_flags_follow_the_unit(db: Database, world: World) -> None:
    rows = {k: facts(db)[t.id] for k, t in world.tickets.items()}
    assert rows["A"].repeated and not rows["A"].is_repeat
    assert rows["H"].is_repeat and not rows["H"].repeated
    assert not any(rows[k].repeated or rows[k].is_repeat for k in "BCDEFGIJ")


def test_timers_give_the_deadlines_when_a_ticket_has_them(db: Database, world: World) -> None:
    a = world.tickets["A"]
    with db.session() as s:
        for kind, minutes in (("response", 30), ("arrival", 60), ("resolution", 600)):
            due = T0 + timedelta(minutes=minutes)
            s.add(SlaTimer(ticket_id=a.id, kind=kind, started_at=T0, duration_s=minutes * 60,
                           due_at=due, warn_at=due, state="pending"))  # fmt: skip
        s.flush()
        refresh(s, now=NOW, full=True)
    row = facts(db)[a.id]
    assert row.response_due_ts - row.created_ts == 30 * M
    assert row.arrival_due_ts - row.created_ts == 60 * M
    assert row.resolution_due_ts - row.created_ts == 600 * M
    with db.session() as s:  # a ticket with timers but none of a kind has no such deadline
        s.execute(delete(SlaTimer).where(SlaTimer.kind == "arrival"))
        refresh(s, now=NOW, full=True)
    assert facts(db)[a.id].arrival_due_ts is None


def test_settings_change_the_default_deadlines(db: Database, world: World) -> None:
    with db.session() as s:
        refresh(s, now=NOW, full=True, deadlines=Deadlines(5, 120, 0))
    row = facts(db)[world.tickets["A"].id]
    assert row.response_due_ts - row.created_ts == 5 * M
    assert row.arrival_due_ts - row.created_ts == 120 * M
    assert row.resolution_due_ts is None


def test_refresh_folds_in_only_what_changed(db: Database, world: World) -> None:
    j = world.tickets["J"]
    with db.session() as s:
        again = refresh(s, now=NOW + timedelta(minutes=1))
    # Only the tickets whose events fall in the overlap window are looked at again.
    assert not again.full and again.tickets <= len(world.tickets)
    with db.session() as s:
        ticket = s.get_one(Ticket, j.id)
        lifecycle.apply(s, ticket=ticket, action="resume", actor="system:test",
                        at=NOW + timedelta(minutes=5))  # fmt: skip
        skipped = refresh(s, now=NOW + timedelta(minutes=6), max_age=timedelta(hours=1))
        assert skipped.skipped
        done = refresh(s, now=NOW + timedelta(minutes=6))
        assert done.tickets >= 1 and not done.full
    row = facts(db)[j.id]
    assert row.status == "accepted" and row.waiting_parts_ts is None
    assert row.last_event_id == max(e.id for e in _events(db, j.id))


def test_a_new_repair_flags_the_earlier_one_on_the_same_unit(db: Database, world: World) -> None:
    e = world.tickets["E"]  # completed on day 3; a new repair on its unit within 30 days
    with db.session() as s:
        customer = s.get_one(Ticket, e.id).customer
        new = fx.ticket(s, customer=customer, at=NOW - timedelta(hours=1))
        new.asset_id = world.assets["a4"]
        s.flush()
        refresh(s, now=NOW)
    rows = facts(db)
    assert rows[e.id].repeated and rows[new.id].is_repeat


def test_a_start_at_the_same_moment_counts_only_when_it_came_first(db: Database) -> None:
    with db.session() as s:
        customer = fx.customer(s)
        ticket = fx.ticket(s, customer=customer, at=T0)
        x, y = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
        lifecycle.apply(s, ticket=ticket, action="accept", actor="a", at=T0)  # t1 = 0
        for action, at in (("dispatch", x), ("engineer_accept", x), ("depart", x),
                           ("arrive", x), ("complete", x), ("request_evaluation", y),
                           ("reopen", y), ("dispatch", y), ("engineer_accept", y),
                           ("depart", y), ("arrive", y), ("complete", y)):  # fmt: skip
            lifecycle.apply(s, ticket=ticket, action=action, actor="a", at=at)
        s.flush()
        refresh(s, now=NOW)
        events = list(ticket.events)
    row = facts(db)[ticket.id]
    assert row.t1 == 0 and row.t5 == 0
    # The second completion shares the request's moment but came after it: t6 runs from x.
    assert row.t6 == 3600
    assert {k: getattr(row, k) for k in STAGES} == pytest.approx(stage_durations(events))


def test_build_is_deterministic(db: Database) -> None:
    world = build(db)
    with db.session() as s:
        first = refresh(s, now=NOW)
        second = refresh(s, now=NOW, full=True)
    assert first.full and second.full and first.tickets == second.tickets == len(world.tickets)


def _events(db: Database, ticket_id: int) -> list:  # type: ignore[type-arg]
    with db.session() as s:
        return list(s.get_one(Ticket, ticket_id).events)
