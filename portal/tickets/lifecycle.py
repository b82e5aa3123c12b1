"""The only place a ticket changes status: allowed-from checks, who may act, and one
append-only event per change. The EIE stage durations t1–t9 are derived from those events.

Every recorded event is published to the subscribers wired into the session's database
(`Consequences`, built once in `portal.wiring`): SLA timers, parts, settlement,
notifications. A subscriber gets the event with a `Context` (the app's settings, who acted,
the parts planner) and returns the follow-up transitions it wants; they are applied, and
published in turn, once every subscriber has heard of the event. This module imports none of
the domains that subscribe to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from portal.config import Settings
from portal.database import Database, utcnow
from portal.dispatch.parts import PartsPlanner
from portal.errors import Conflict, Forbidden
from portal.i18n import ACTION_LABELS, STATUS_LABELS, Term
from portal.tickets.models import Ticket, TicketEvent

# Roles as in portal.security, plus the callers that are not staff.
CUSTOMER = "customer"
BOT = "bot"
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Transition:
    """An action, the statuses it may start from, where it leads, and who may take it."""

    action: str
    sources: frozenset[str]
    target: str | None  # None: the status stays (a marker event such as an escalation)
    roles: frozenset[str]


def _t(action: str, sources: set[str], target: str | None, roles: set[str]) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles | {"admin", SYSTEM}))


WAITING = "waiting_parts"
BEFORE_ARRIVAL = {"new", "accepted", "dispatched", "engineer_accepted", "departed", WAITING}
OPEN = BEFORE_ARRIVAL | {"arrived"}
FIELD = {"engineer"}
DESK = {"agent", "dispatcher"}
NETWORK = {"dispatcher", "network_manager"}

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", {"new"}, "accepted", DESK | {BOT}),
        _t("resolve_remotely", {"new", "accepted"}, "closed", DESK | {BOT}),
        _t("dispatch", {"accepted"}, "dispatched", NETWORK),
        _t("engineer_accept", {"dispatched"}, "engineer_accepted", FIELD),
        _t("engineer_reject", {"dispatched"}, "accepted", FIELD),
        _t("reassign", {"dispatched", "engineer_accepted"}, "dispatched", NETWORK),
        _t("depart", {"engineer_accepted"}, "departed", FIELD),
        _t("arrive", {"departed"}, "arrived", FIELD),
        _t(
            "wait_parts",
            {"accepted", "dispatched", "engineer_accepted", "arrived"},
            WAITING,
            NETWORK | FIELD,
        ),
        _t("resume", {WAITING}, "accepted", NETWORK),
        _t("complete", {"arrived"}, "completed", FIELD),
        _t("request_evaluation", {"completed"}, None, DESK | {BOT}),
        _t("evaluate", {"completed"}, "evaluated", DESK | {BOT, CUSTOMER}),
        _t("request_settlement", {"evaluated"}, "pending_settlement", {"finance"}),
        _t("settle", {"pending_settlement"}, "settled", {"finance"}),
        _t("close", {"settled"}, "closed", {"finance"}),
        _t("cancel", BEFORE_ARRIVAL, "cancelled", DESK | {BOT, CUSTOMER}),
        _t("reopen", {"completed", "evaluated"}, "accepted", DESK | {BOT, CUSTOMER}),
        _t("escalate", OPEN | {"completed"}, None, DESK | NETWORK | {BOT}),
        _t("urge", OPEN, None, DESK | {BOT, CUSTOMER}),
    )
}

INITIAL_STATUS = "new"
TERMINAL = frozenset({"closed", "cancelled"})


# ---- who hears of an event ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """What a subscriber is told besides the event: the app's settings (never the process
    environment), who took the action, and the app's parts planner."""

    settings: Settings
    planner: PartsPlanner
    actor: str = "system"
    role: str = SYSTEM

    def acting(self, *, actor: str, role: str) -> Context:
        """The same context for another actor."""
        return replace(self, actor=actor, role=role)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A transition a subscriber asks for in answer to an event (e.g. waiting for the parts
    a reassignment could not hold). Taken by `actor` at the event's time, if the ticket's
    status still allows it once every subscriber has been told."""

    action: str
    actor: str
    role: str = SYSTEM
    payload: Mapping[str, Any] = field(default_factory=dict)


class Subscriber(Protocol):
    """A consequence of ticket events, registered in `portal.wiring.SUBSCRIBERS`."""

    __name__: str

    def __call__(
        self, session: Session, *, ticket: Ticket, event: TicketEvent, ctx: Context
    ) -> Sequence[FollowUp]:
        """Do what the event means for this domain, in the event's transaction."""
        ...


@dataclass(frozen=True, slots=True)
class Consequences:
    """The ordered subscribers and the app's context; installed on a `Database` so every
    session it opens publishes its events to them."""

    subscribers: tuple[Subscriber, ...]
    context: Context

    def install(self, db: Database) -> Database:
        """Make every session of `db` publish to these subscribers."""
        db.sessionmaker.configure(info={_KEY: self})
        return db


_KEY = "portal.lifecycle.consequences"


class NotWired(RuntimeError):
    """A session whose database was not wired: its events would reach nobody."""


def consequences_of(session: Session) -> Consequences:
    """The subscribers the session's database was wired with."""
    found = session.info.get(_KEY)
    if not isinstance(found, Consequences):
        raise NotWired(
            "this session's database has no lifecycle subscribers; build it with "
            "portal.wiring.database() or portal.wiring.wire()"
        )
    return found


def publish(
    session: Session,
    *,
    ticket: Ticket,
    event: TicketEvent,
    actor: str,
    role: str,
    planner: PartsPlanner | None = None,
) -> list[TicketEvent]:
    """Tell every subscriber, in order, then apply the follow-ups they returned (each
    published in turn). `planner` replaces the wired one for this event (the dispatcher's
    request names one). Returns the follow-up events."""
    wired = consequences_of(session)
    ctx = wired.context.acting(actor=actor, role=role)
    if planner is not None:
        ctx = replace(ctx, planner=planner)
    wanted: list[FollowUp] = []
    for subscriber in wired.subscribers:
        wanted.extend(subscriber(session, ticket=ticket, event=event, ctx=ctx))
    done: list[TicketEvent] = []
    for follow in wanted:
        transition = TRANSITIONS[follow.action]
        if ticket.status not in transition.sources:
            continue  # an earlier follow-up (or subscriber) already moved the ticket on
        done.append(
            apply(
                session,
                ticket=ticket,
                action=follow.action,
                actor=follow.actor,
                role=follow.role,
                payload=dict(follow.payload),
                at=event.created_at,
                planner=planner,
            )
        )
    return done


def record_creation(
    session: Session, *, ticket: Ticket, actor: str, payload: dict[str, Any]
) -> TicketEvent:
    """Give a new ticket its first status and the event that says so; published."""
    ticket.status = INITIAL_STATUS
    event = TicketEvent(
        ticket=ticket,
        action="create",
        from_status=None,
        to_status=INITIAL_STATUS,
        actor=actor,
        payload=payload,
        created_at=ticket.created_at or utcnow(),
    )
    session.add(event)
    session.flush()
    publish(session, ticket=ticket, event=event, actor=actor, role=SYSTEM)
    return event


def allowed_actions(ticket: Ticket, role: str | None = None) -> list[str]:
    """The actions the ticket's status permits (to `role`, when given)."""
    return [
        a
        for a, t in TRANSITIONS.items()
        if ticket.status in t.sources and (role is None or role in t.roles)
    ]


def conflict(ticket: Ticket, action: str) -> Conflict:
    """The 409 that names the ticket's current status and the refused action."""
    return Conflict(
        "error.bad_transition",
        current=Term.of(STATUS_LABELS, ticket.status),
        action=Term.of(ACTION_LABELS, action),
    )


def apply(
    session: Session,
    *,
    ticket: Ticket,
    action: str,
    actor: str,
    role: str = SYSTEM,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
    planner: PartsPlanner | None = None,
) -> TicketEvent:
    """Move the ticket by `action`, or raise Conflict naming its status / Forbidden; the
    event is published to the wired subscribers (with `planner`, when given, as their parts
    planner) before this returns.

    An assignment ("dispatch", "reassign") takes the network and engineer named in the
    payload, and a rejection clears the engineer, together with the event, so subscribers
    see the ticket as it now is."""
    transition = TRANSITIONS.get(action)
    if transition is None or ticket.status not in transition.sources:
        raise conflict(ticket, action)
    if role not in transition.roles:
        raise Forbidden("error.forbidden")
    when = at or utcnow()
    target = transition.target or ticket.status
    event = TicketEvent(
        ticket=ticket,
        action=action,
        from_status=ticket.status,
        to_status=target,
        actor=actor,
        payload=payload or {},
        created_at=when,
    )
    ticket.status = target
    ticket.updated_at = when
    if action == "escalate":
        ticket.escalated = True
    elif action == "reopen":
        ticket.reopen_count += 1
    elif action in ("dispatch", "reassign") and "network_id" in event.payload:
        ticket.network_id = event.payload["network_id"]
        ticket.engineer_id = event.payload.get("engineer_id")
    elif action == "engineer_reject":
        ticket.engineer_id = None
    session.add(event)
    session.flush()
    publish(session, ticket=ticket, event=event, actor=actor, role=role, planner=planner)
    return event


# The nine EIE stages: (name, the event that opens it, the event that closes it).
# A stage ends at the first closing event; it starts at the last opening event before that,
# so work that was redone (a reopened ticket) does not stretch the first measurement.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("t1", "create", "accept"),
    ("t2", "accept", "engineer_accept"),
    ("t3", "engineer_accept", "depart"),
    ("t4", "depart", "arrive"),
    ("t5", "arrive", "complete"),
    ("t6", "complete", "request_evaluation"),
    ("t7", "request_evaluation", "evaluate"),
    ("t8", "evaluate", "request_settlement"),
    ("t9", "request_settlement", "settle"),
)


def stage_durations(events: list[TicketEvent]) -> dict[str, float | None]:
    """Seconds spent in each stage t1–t9; None for a stage the ticket has not finished
    or skipped (remote resolution, cancellation)."""
    ordered = sorted(events, key=lambda e: (e.created_at, e.id or 0))
    out: dict[str, float | None] = {}
    for name, start_action, end_action in STAGES:
        end = next((e for e in ordered if e.action == end_action), None)
        start = None
        if end is not None:
            start = next(
                (
                    e
                    for e in reversed(ordered)
                    if e.action == start_action
                    and (e.created_at, e.id or 0) <= (end.created_at, end.id or 0)
                ),
                None,
            )
        out[name] = (end.created_at - start.created_at).total_seconds() if start and end else None
    return out
