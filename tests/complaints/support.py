"""Helpers of the revisit and complaint tests: a ticket walked to completion through the
lifecycle (so every subscriber hears of it), and short outbox queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.customers.models import Customer
from portal.notifications.models import Notification
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent
from tests.portal import factories as f
from tests.sla.support import Crew, act_at, make_crew, open_ticket

TO_COMPLETION = ("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete")


def completed(
    session: Session,
    *,
    customer: Customer | None = None,
    crew: Crew | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Ticket:
    """A repair ticket taken through the field visit to completion (at `at`, or now)."""
    crew = crew or make_crew(session)
    ticket = open_ticket(session, customer=customer or f.customer(session), at=at, **fields)
    when = at or ticket.created_at
    for action in TO_COMPLETION:
        payload = {"engineer_id": crew.engineer_id} if action == "dispatch" else {}
        act_at(session, ticket, action, when, **payload)
    return ticket


def events(session: Session, ticket: Ticket, action: str) -> list[TicketEvent]:
    """The ticket's events of one action, oldest first."""
    return list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == action)
            .order_by(TicketEvent.id)
        ).all()
    )


def outbox(session: Session, **where: Any) -> list[Notification]:
    """Notifications matching `where`, oldest first."""
    stmt = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    return list(session.scalars(stmt).all())


def rate(session: Session, ticket: Ticket, score: int, comment: str = "", **kw: Any) -> None:
    """The customer's rating, as /my and the chat give it (through the lifecycle)."""
    lifecycle.apply(
        session,
        ticket=ticket,
        action="evaluate",
        actor=f"customer:{ticket.customer_id}",
        role=lifecycle.CUSTOMER,
        payload={"score": score, "comment": comment},
        **kw,
    )
