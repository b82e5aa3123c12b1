"""The only place a ticket changes status: allowed-from checks, who may act, and one
append-only event per change. The EIE stage durations t1–t9 are derived from those events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict, Forbidden
from portal.i18n import ACTION_LABELS, STATUS_LABELS
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


def record_creation(
    session: Session, *, ticket: Ticket, actor: str, payload: dict[str, Any]
) -> None:
    """Give a new ticket its first status and the event that says so."""
    ticket.status = INITIAL_STATUS
    session.add(
        TicketEvent(
            ticket=ticket,
            action="create",
            from_status=None,
            to_status=INITIAL_STATUS,
            actor=actor,
            payload=payload,
            created_at=ticket.created_at or utcnow(),
        )
    )


def allowed_actions(ticket: Ticket, role: str | None = None) -> list[str]:
    """The actions the ticket's status permits (to `role`, when given)."""
    return [
        a
        for a, t in TRANSITIONS.items()
        if ticket.status in t.sources and (role is None or role in t.roles)
    ]


def conflict(ticket: Ticket, action: str) -> Conflict:
    """The 409 that names the ticket's current status and the refused action."""
    current_zh, current_en = STATUS_LABELS.get(ticket.status, (ticket.status, ticket.status))
    action_zh, action_en = ACTION_LABELS.get(action, (action, action))
    return Conflict(
        "error.bad_transition",
        current=current_zh,
        current_en=current_en,
        action=action_zh,
        action_en=action_en,
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
) -> TicketEvent:
    """Move the ticket by `action`, or raise Conflict naming its status / Forbidden."""
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
    session.add(event)
    session.flush()
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
