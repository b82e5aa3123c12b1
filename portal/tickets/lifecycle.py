"""The only place a ticket changes status: allowed-from checks and one event per change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict
from portal.i18n import ACTION_LABELS, STATUS_LABELS
from portal.tickets.models import Ticket, TicketEvent


@dataclass(frozen=True, slots=True)
class Transition:
    """An action, the statuses it may start from, and where it leads."""

    action: str
    sources: frozenset[str]
    target: str


def _t(action: str, sources: set[str], target: str) -> Transition:
    return Transition(action, frozenset(sources), target)


BEFORE_ARRIVAL = {"new", "accepted", "dispatched", "engineer_accepted", "departed", "waiting_parts"}

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", {"new"}, "accepted"),
        _t("resolve_remotely", {"new", "accepted"}, "closed"),
        _t("dispatch", {"accepted"}, "dispatched"),
        _t("engineer_accept", {"dispatched"}, "engineer_accepted"),
        _t("engineer_reject", {"dispatched"}, "accepted"),
        _t("reassign", {"dispatched", "engineer_accepted"}, "dispatched"),
        _t("depart", {"engineer_accepted"}, "departed"),
        _t("arrive", {"departed"}, "arrived"),
        _t(
            "wait_parts",
            {"accepted", "dispatched", "engineer_accepted", "arrived"},
            "waiting_parts",
        ),
        _t("resume", {"waiting_parts"}, "accepted"),
        _t("complete", {"arrived"}, "completed"),
        _t("evaluate", {"completed"}, "evaluated"),
        _t("request_settlement", {"evaluated"}, "pending_settlement"),
        _t("settle", {"pending_settlement"}, "settled"),
        _t("close", {"settled"}, "closed"),
        _t("cancel", BEFORE_ARRIVAL, "cancelled"),
        _t("reopen", {"completed", "evaluated"}, "accepted"),
    )
}

INITIAL_STATUS = "new"


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


def allowed_actions(ticket: Ticket) -> list[str]:
    """The actions the ticket's current status permits."""
    return [a for a, t in TRANSITIONS.items() if ticket.status in t.sources]


def apply(
    session: Session,
    *,
    ticket: Ticket,
    action: str,
    actor: str,
    payload: dict[str, Any] | None = None,
) -> TicketEvent:
    """Move the ticket by `action` or raise Conflict naming its current status."""
    transition = TRANSITIONS.get(action)
    if transition is None or ticket.status not in transition.sources:
        current_zh, current_en = STATUS_LABELS.get(ticket.status, (ticket.status, ticket.status))
        action_zh, action_en = ACTION_LABELS.get(action, (action, action))
        raise Conflict(
            "error.bad_transition",
            current=current_zh,
            current_en=current_en,
            action=action_zh,
            action_en=action_en,
        )
    event = TicketEvent(
        ticket=ticket,
        action=action,
        from_status=ticket.status,
        to_status=transition.target,
        actor=actor,
        payload=payload or {},
        created_at=utcnow(),
    )
    ticket.status = transition.target
    session.add(event)
    session.flush()
    return event
