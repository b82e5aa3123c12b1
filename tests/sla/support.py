"""Shared helpers of the SLA and notification tests: a service crew, tickets opened and moved
through the real ticket service (so the lifecycle hook runs), and short queries."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.customers.models import Customer
from portal.database import Database
from portal.networks.models import Engineer, ServiceNetwork
from portal.notifications.models import Notification
from portal.security import Principal
from portal.sla.flows import Scheduler
from portal.sla.models import SlaTimer
from portal.sla.service import SlaDefaults
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TicketCreate, TransitionRequest
from tests.portal import factories as f

SH = ZoneInfo("Asia/Shanghai")
ADMIN = Principal(kind="service", role="admin", name="test")


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


@dataclass
class Crew:
    """A network with an engineer, its manager, a dispatcher and a platform admin (user ids)."""

    network_id: int
    engineer_id: int
    engineer_user: int
    manager: int
    dispatcher: int
    admin: int


def make_crew(session: Session) -> Crew:
    """Staff on every rung of the escalation ladder."""
    net = f.network(session)
    eng = f.engineer(session, network=net)
    assert eng.user_id is not None
    return Crew(
        network_id=net.id,
        engineer_id=eng.id,
        engineer_user=eng.user_id,
        manager=f.user(session, role="network_manager", network=net).id,
        dispatcher=f.user(session, role="dispatcher").id,
        admin=f.user(session, role="admin").id,
    )


def open_ticket(
    session: Session, *, customer: Customer | None = None, at: datetime | None = None, **fields: Any
) -> Ticket:
    """A repair ticket with complete intake, opened through the ticket service."""
    customer = customer or f.customer(session)
    data = TicketCreate(
        **{
            "product": "洗衣机",
            "fault_description": "滚筒不转了",
            "fault_started": "昨天",
            "preferred_time": "2026-12-08 08:00-20:00",
            "phone": customer.phone,
            "address": "上海浦东新区世纪大道1号",
            "city": "上海",
            "district": "浦东新区",
            **fields,
        }
    )
    ticket, _ = tickets.create_ticket(
        session, data=data, actor="service:test", customer=customer, at=at
    )
    return ticket


def act(
    session: Session, ticket: Ticket, action: str, *, principal: Principal = ADMIN, **req: Any
) -> TicketEvent:
    """One action through the ticket service, as a route would take it (now)."""
    return tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action=action, **req),
        principal=principal,
        reopen_window=timedelta(days=30),
    )


def act_at(
    session: Session, ticket: Ticket, action: str, at: datetime, **payload: Any
) -> TicketEvent:
    """One action at a given moment: what the ticket service does, with the clock set (the
    lifecycle tells the SLA subscriber)."""
    if action in ("dispatch", "reassign"):
        engineer = session.get_one(Engineer, payload["engineer_id"])
        payload["network_id"] = engineer.network_id
    event = lifecycle.apply(
        session, ticket=ticket, action=action, actor="service:test", payload=payload, at=at
    )
    if action in ("dispatch", "reassign"):
        ticket.network_id, ticket.engineer_id = payload["network_id"], payload["engineer_id"]
    session.flush()
    return event


def dispatch_to(session: Session, ticket: Ticket, crew: Crew, at: datetime) -> None:
    """Accept and dispatch to the crew's engineer at `at`."""
    act_at(session, ticket, "accept", at)
    act_at(session, ticket, "dispatch", at, engineer_id=crew.engineer_id)


def timers(session: Session, ticket_id: int) -> dict[str, SlaTimer]:
    """The ticket's latest timer of each kind."""
    rows = session.scalars(
        select(SlaTimer).where(SlaTimer.ticket_id == ticket_id).order_by(SlaTimer.id)
    ).all()
    return {t.kind: t for t in rows}


def escalations(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """The payloads of the ticket's escalate events, oldest first."""
    return [
        e.payload
        for e in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.action == "escalate")
            .order_by(TicketEvent.id)
        ).all()
    ]


def staff_notes(session: Session, template: str) -> list[tuple[str, int | None]]:
    """(recipient, ticket id) of every in-portal notification from `template`."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.channel == "portal", Notification.template == template)
        .order_by(Notification.id)
    ).all()
    return [(n.recipient, n.ticket_id) for n in rows]


def network(session: Session, network_id: int) -> ServiceNetwork:
    """A network by id."""
    return session.get_one(ServiceNetwork, network_id)


def race(db: Database, now: datetime, workers: int = 2, **defaults: Any) -> Counter[str]:
    """Run `workers` schedulers at once, each in its own thread with its own session."""
    start = threading.Barrier(workers)
    results: list[Counter[str]] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        sched = Scheduler(db=db, defaults=SlaDefaults(**defaults), worker=f"racer{i}", batch=3)
        try:
            start.wait()
            results.append(sched.run_once(now))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return sum(results, Counter())
