"""The composition root's lifecycle wiring: which domains hear of a ticket event, in which
order, with which context. The app factory (`portal.main`), the workers, the CLI and the
tests all build their database through `database()` or `wire()`, so every event reaches the
same subscribers wherever it is applied.

Add a consequence of a ticket event (quotes, revisits, complaints …) by writing a subscriber
in its domain's `flows.py` and listing it here; the ticket core never imports it.
"""

from __future__ import annotations

from portal.complaints import flows as complaints
from portal.config import Settings
from portal.consults import flows as consults
from portal.database import Database
from portal.dispatch.parts import PartsPlanner
from portal.notifications import flows as notifications
from portal.parts import flows as parts
from portal.settlement import flows as settlement
from portal.sla import flows as sla
from portal.tickets import lifecycle

# The order they hear of an event. Consults first: a completion they refuse reaches nobody
# else. Then parts: an assignment's shortage becomes a follow-up
# `wait_parts`, applied after all of them have heard of the assignment. Notifications last, so
# they read what the others left (the replanned deadlines, the posted settlement). The revisit
# on completion is a follow-up too: `request_evaluation`, applied once all have heard.
SUBSCRIBERS: tuple[lifecycle.Subscriber, ...] = (
    consults.on_ticket_event,  # refuse to complete a job while a consult waits for an expert
    parts.on_ticket_event,  # hold parts on (re)assignment, consume on completion, release on cancel
    settlement.on_ticket_event,  # post an evaluated ticket's lines
    sla.on_ticket_event,  # start, meet, pause, resume, replan and tighten the SLA timers
    complaints.on_ticket_event,  # revisit a completed ticket, open a case on a low rating
    notifications.on_ticket_event,  # tell the customer and the staff concerned (outbox)
)


def consequences(
    settings: Settings, *, planner: PartsPlanner | None = None
) -> lifecycle.Consequences:
    """The subscribers with the app's context: its settings and parts planner (the stock's
    own, unless one is given)."""
    return lifecycle.Consequences(
        subscribers=SUBSCRIBERS,
        context=lifecycle.Context(settings=settings, planner=planner or parts.StockPlanner()),
    )


def wire(db: Database, settings: Settings, *, planner: PartsPlanner | None = None) -> Database:
    """Make every session of `db` publish ticket events to the subscribers."""
    return consequences(settings, planner=planner).install(db)


def database(settings: Settings, *, planner: PartsPlanner | None = None) -> Database:
    """The settings' database, wired."""
    return wire(
        Database(
            settings.effective_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_overflow,
        ),
        settings,
        planner=planner,
    )
