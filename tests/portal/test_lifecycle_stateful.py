"""Random sequences of lifecycle actions by random roles, checked against a simple model:
only allowed transitions succeed, each success leaves exactly one event, failures change
nothing, and t1–t9 always agree with the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from portal.database import Database
from portal.errors import Conflict, Forbidden
from portal.tickets import lifecycle, service
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TicketCreate

ROLES = sorted(
    {
        "admin",
        "agent",
        "dispatcher",
        "engineer",
        "network_manager",
        "knowledge_editor",
        "finance",
        "customer",
        "bot",
        "system",
    }
)
ACTIONS = sorted(lifecycle.TRANSITIONS) + ["fly_to_moon"]
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

# The model's own statement of the status graph, written from the spec (issue 3), not
# derived from the code: status -> {action: new status, None where the status stays}.
MARKS = {"escalate": None, "urge": None}
MODEL: dict[str, dict[str, str | None]] = {
    "new": {"accept": "accepted", "resolve_remotely": "closed", "cancel": "cancelled", **MARKS},
    "accepted": {
        "resolve_remotely": "closed",
        "dispatch": "dispatched",
        "wait_parts": "waiting_parts",
        "cancel": "cancelled",
        **MARKS,
    },
    "dispatched": {
        "engineer_accept": "engineer_accepted",
        "engineer_reject": "accepted",
        "reassign": "dispatched",
        "wait_parts": "waiting_parts",
        "cancel": "cancelled",
        **MARKS,
    },
    "engineer_accepted": {
        "reassign": "dispatched",
        "depart": "departed",
        "wait_parts": "waiting_parts",
        "cancel": "cancelled",
        **MARKS,
    },
    "departed": {"arrive": "arrived", "cancel": "cancelled", **MARKS},
    "arrived": {"wait_parts": "waiting_parts", "complete": "completed", **MARKS},
    "waiting_parts": {"resume": "accepted", "cancel": "cancelled", **MARKS},
    "completed": {
        "request_evaluation": None,
        "evaluate": "evaluated",
        "reopen": "accepted",
        "escalate": None,
    },
    "evaluated": {"request_settlement": "pending_settlement", "reopen": "accepted"},
    "pending_settlement": {"settle": "settled"},
    "settled": {"close": "closed"},
    "closed": {},
    "cancelled": {},
}


def test_the_code_knows_every_status_of_the_spec() -> None:
    sources = set().union(*(t.sources for t in lifecycle.TRANSITIONS.values()))
    assert sources <= set(MODEL)


def expected_stages(history: list[tuple[str, datetime]]) -> dict[str, float | None]:
    """t1–t9 computed from the model's own record of what happened when."""
    out: dict[str, float | None] = {}
    for name, start_action, end_action in lifecycle.STAGES:
        ends = [t for a, t in history if a == end_action]
        if not ends:
            out[name] = None
            continue
        end_index = next(i for i, (a, _t) in enumerate(history) if a == end_action)
        starts = [t for a, t in history[: end_index + 1] if a == start_action]
        out[name] = (ends[0] - starts[-1]).total_seconds() if starts else None
    return out


def make_machine(db: Database) -> type[RuleBasedStateMachine]:
    """A state machine bound to one real database."""

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.now = START
            with db.session() as session:
                ticket, _ = service.create_ticket(
                    session,
                    data=TicketCreate(
                        product="洗衣机", fault_description="不转", phone="13800138000"
                    ),
                    actor="test",
                    at=self.now,
                )
                self.ticket_id = ticket.id
            self.status = "new"
            self.history: list[tuple[str, datetime]] = [("create", self.now)]

        @rule(
            action=st.sampled_from(ACTIONS),
            role=st.sampled_from(ROLES),
            minutes=st.integers(min_value=0, max_value=3000),
        )
        def act(self, action: str, role: str, minutes: int) -> None:
            self.now += timedelta(minutes=minutes)
            allowed_here = MODEL.get(self.status, {})
            transition = lifecycle.TRANSITIONS.get(action)
            should_succeed = (
                action in allowed_here and transition is not None and role in transition.roles
            )
            before = self._event_count()
            try:
                with db.session() as session:
                    ticket = session.get_one(Ticket, self.ticket_id)
                    lifecycle.apply(
                        session,
                        ticket=ticket,
                        action=action,
                        actor=f"{role}:1",
                        role=role,
                        at=self.now,
                    )
                succeeded = True
            except Conflict as exc:
                succeeded = False
                assert action not in allowed_here or transition is None
                assert exc.status_code == 409 and exc.message_zh and exc.message_en
            except Forbidden:
                succeeded = False
                assert action in allowed_here and role not in transition.roles  # type: ignore[union-attr]
            assert succeeded == should_succeed, (self.status, action, role)
            after = self._event_count()
            if succeeded:
                assert after == before + 1
                target = allowed_here[action]
                self.status = target or self.status
                self.history.append((action, self.now))
            else:
                assert after == before

        def _event_count(self) -> int:
            with db.session() as session:
                return (
                    session.scalar(
                        select(func.count())
                        .select_from(TicketEvent)
                        .where(TicketEvent.ticket_id == self.ticket_id)
                    )
                    or 0
                )

        @invariant()
        def matches_the_model(self) -> None:
            with db.session() as session:
                ticket = session.get_one(Ticket, self.ticket_id)
                session.refresh(ticket)
                events = list(ticket.events)
                assert ticket.status == self.status
                assert [e.action for e in events] == [a for a, _t in self.history]
                for previous, current in zip(events, events[1:], strict=False):
                    assert current.from_status == previous.to_status
                    assert current.created_at >= previous.created_at
                assert lifecycle.stage_durations(events) == expected_stages(self.history)

    return Lifecycle


def test_random_transitions_follow_the_rules(db: Database) -> None:
    machine = make_machine(db)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_full_happy_path_measures_every_stage(db: Database) -> None:
    steps = [
        ("accept", 5),
        ("dispatch", 20),
        ("engineer_accept", 10),
        ("depart", 30),
        ("arrive", 45),
        ("complete", 60),
        ("request_evaluation", 120),
        ("evaluate", 30),
        ("request_settlement", 600),
        ("settle", 1440),
    ]
    with db.session() as session:
        ticket, _ = service.create_ticket(
            session,
            data=TicketCreate(product="空调", fault_description="不制冷", phone="13900000000"),
            actor="test",
            at=START,
        )
        now = START
        for action, minutes in steps:
            now += timedelta(minutes=minutes)
            lifecycle.apply(session, ticket=ticket, action=action, actor="t", at=now)
        stages = lifecycle.stage_durations(list(ticket.events))
    minutes = {
        "t1": 5,
        "t2": 20 + 10,
        "t3": 30,
        "t4": 45,
        "t5": 60,
        "t6": 120,
        "t7": 30,
        "t8": 600,
        "t9": 1440,
    }
    assert stages == {name: m * 60.0 for name, m in minutes.items()}


def test_remote_resolution_and_cancellation_skip_stages(db: Database) -> None:
    with db.session() as session:
        remote, _ = service.create_ticket(
            session,
            data=TicketCreate(product="冰箱", fault_description="怎么调温度", phone="13700000000"),
            actor="test",
            at=START,
        )
        lifecycle.apply(
            session,
            ticket=remote,
            action="resolve_remotely",
            actor="t",
            at=START + timedelta(minutes=3),
        )
        cancelled, _ = service.create_ticket(
            session,
            data=TicketCreate(product="冰箱", fault_description="漏水", phone="13700000001"),
            actor="test",
            at=START,
        )
        for action, minutes in (("accept", 2), ("dispatch", 10), ("cancel", 30)):
            lifecycle.apply(
                session,
                ticket=cancelled,
                action=action,
                actor="t",
                at=START + timedelta(minutes=minutes),
            )
        assert remote.status == "closed" and cancelled.status == "cancelled"
        assert set(lifecycle.stage_durations(list(remote.events)).values()) == {None}
        cancelled_stages = lifecycle.stage_durations(list(cancelled.events))
    assert cancelled_stages["t1"] == 120.0
    assert all(cancelled_stages[f"t{i}"] is None for i in range(2, 10))
