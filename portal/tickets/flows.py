"""Ticket work that reads other domains: when the customer may expect the engineer.

The web self-service pages, the bot's customer routes and the notifications all promise
the same time, so they all ask here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.dispatch.models import DispatchVisit
from portal.sla.service import timers_of
from portal.tickets import lifecycle
from portal.tickets.models import Ticket

# From dispatch until the engineer is on site; before dispatch nobody has the job yet, so no
# time is promised (the response deadline is the desk's, not the customer's visit).
EXPECTING_ENGINEER = frozenset(lifecycle.BEFORE_ARRIVAL - {"new", "accepted"})


def planned_visit(session: Session, ticket: Ticket) -> datetime | None:
    """The ETA dispatch planned for the ticket's visit, if any."""
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    return visit.eta if visit is not None else None


def eta(session: Session, ticket: Ticket) -> datetime | None:
    """When the engineer is expected: the planned visit's ETA, else the pending arrival
    deadline; None before dispatch and once the engineer has arrived."""
    if ticket.status not in EXPECTING_ENGINEER:
        return None
    planned = planned_visit(session, ticket)
    if planned is not None:
        return planned
    arrival = timers_of(session, ticket_id=ticket.id, kinds=("arrival",), states=("pending",))
    return arrival[-1].due_at if arrival else None
