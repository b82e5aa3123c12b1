"""The lifecycle's consequences: one ordered list of subscribers in the composition root, the
same for the app, the workers and the tests; each gets the app's context and returns
follow-ups, and no event is applied without being published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import wiring
from portal.complaints import flows as complaints
from portal.config import Settings
from portal.consults import flows as consults
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.notifications import flows as notifications
from portal.parts import flows as parts
from portal.settlement import flows as settlement
from portal.sla import flows as sla
from portal.sla.models import SlaTimer
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent
from tests.portal import factories as f

ROOT = Path(__file__).resolve().parents[2]
MONDAY_9 = datetime(2026, 3, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_registered_subscribers_in_their_order() -> None:
    assert (
        consults.on_ticket_event,
        parts.on_ticket_event,
        settlement.on_ticket_event,
        sla.on_ticket_event,
        complaints.on_ticket_event,
        notifications.on_ticket_event,
    ) == wiring.SUBSCRIBERS


def test_the_app_and_the_workers_use_the_same_wiring(settings: Settings) -> None:
    app = create_app(settings)
    try:
        with app.state.db.session() as s:
            wired = lifecycle.consequences_of(s)
        assert wired.subscribers is wiring.SUBSCRIBERS
        assert wired.context.settings is settings  # the app's, not the environment's
        assert wired.context.planner is app.state.parts_planner
    finally:
        app.state.db.dispose()
    # The worker process builds its database through the same function.
    source = (ROOT / "portal" / "workers" / "__main__.py").read_text()
    assert "wiring.database(settings)" in source


def test_an_unwired_database_refuses_to_apply_an_event(db: Database) -> None:
    with db.session() as s:
        ticket_id = f.ticket(s, customer=f.customer(s)).id
    bare = Database(db.url)
    try:
        with pytest.raises(lifecycle.NotWired), bare.session() as s:
            ticket = s.get_one(Ticket, ticket_id)
            lifecycle.apply(s, ticket=ticket, action="accept", actor="x")
    finally:
        bare.dispose()


def test_subscribers_get_the_app_settings_not_the_environment(db: Database) -> None:
    # The environment says 10 minutes to respond; this app says 7.
    app_db = wiring.wire(Database(db.url), Settings(sla_response_minutes=7))
    try:
        with app_db.session() as s:
            ticket = f.ticket(s, customer=f.customer(s), at=MONDAY_9)
            (timer,) = s.scalars(
                select(SlaTimer).where(SlaTimer.ticket_id == ticket.id, SlaTimer.kind == "response")
            ).all()
            assert timer.due_at == MONDAY_9 + timedelta(minutes=7)
    finally:
        app_db.dispose()


class Recorder:
    """Subscribers that note what they heard; the first asks for an escalation once."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, str]] = []

    def first(
        self, session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
    ) -> Sequence[lifecycle.FollowUp]:
        self.heard.append(("first", event.action, ctx.actor))
        if event.action == "accept":
            # Twice: the second is dropped once the first has moved the ticket on.
            return (
                lifecycle.FollowUp("cancel", actor="system:test", payload={"why": "test"}),
                lifecycle.FollowUp("cancel", actor="system:test"),
            )
        return ()

    def second(
        self, session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
    ) -> Sequence[lifecycle.FollowUp]:
        self.heard.append(("second", event.action, ctx.actor))
        return ()


def test_follow_ups_are_applied_after_every_subscriber_heard_and_are_published(
    db: Database,
) -> None:
    rec = Recorder()
    own = lifecycle.Consequences(
        subscribers=(rec.first, rec.second),
        context=lifecycle.Context(settings=Settings(), planner=NoParts()),
    ).install(Database(db.url))
    try:
        with own.session() as s:
            ticket = f.ticket(s, customer=f.customer(s))
            rec.heard.clear()
            lifecycle.apply(s, ticket=ticket, action="accept", actor="user:1", role="agent")
            assert rec.heard == [
                ("first", "accept", "user:1"),
                ("second", "accept", "user:1"),
                ("first", "cancel", "system:test"),
                ("second", "cancel", "system:test"),
            ]
            assert [e.action for e in ticket.events] == ["create", "accept", "cancel"]
            assert ticket.events[-1].payload == {"why": "test"}
            assert ticket.events[-1].created_at == ticket.events[-2].created_at
    finally:
        own.dispose()
