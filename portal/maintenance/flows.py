"""Maintenance work that spans domains: turning due plan occurrences into tickets.

The scheduler worker calls `create_due_tickets` on every pass, in its own unit of work::

    with db.session() as session:
        made = create_due_tickets(session, now=utcnow(), horizon_days=14)

A ticket is made through `tickets.service.create_ticket` (type "maintenance"), so it is
numbered, starts its SLA timers and notifies like any other. One occurrence row per
(plan, asset, due key) is claimed first under a unique key, so running twice, or two
schedulers at once, makes each ticket once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.assets.models import Asset
from portal.customers.models import Customer, CustomerAddress
from portal.errors import PortalError
from portal.i18n import t
from portal.maintenance import service
from portal.maintenance.models import MaintenanceOccurrence, MaintenancePlan
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketCreate

log = logging.getLogger(__name__)

ACTOR = "system:maintenance"


def _address(session: Session, asset: Asset, customer: Customer) -> CustomerAddress | None:
    if asset.address_id is not None:
        found = session.get(CustomerAddress, asset.address_id)
        if found is not None:
            return found
    ranked = sorted(customer.addresses, key=lambda a: (not a.is_default, a.id))
    return ranked[0] if ranked else None


def ticket_request(
    session: Session, *, plan: MaintenancePlan, asset: Asset, due: date
) -> TicketCreate:
    """The creation request of the maintenance ticket for one occurrence."""
    customer = session.get_one(Customer, asset.customer_id)
    place = _address(session, asset, customer)
    text = (plan.description or t("maintenance.ticket_text", name=plan.name))[:1900]
    return TicketCreate(
        type="maintenance",
        product=asset.model.product.category,
        model_code=asset.model.code,
        serial_number=asset.serial_number,
        fault_description=f"{text}（{t('maintenance.due_on', day=due.isoformat())}）",
        phone=customer.phone,
        customer_name=customer.name,
        address=place.full[:255] if place else "",
        city=place.city if place else "",
        district=place.district if place else "",
        preferred_time=t("maintenance.before", month=due.month, day=due.day),
        channel="portal",
    )


def _make(
    session: Session,
    *,
    plan: MaintenancePlan,
    asset: Asset,
    due: service.Due,
    now: datetime,
) -> Ticket | None:
    """Claim the occurrence and open its ticket; None when another run already has it."""
    try:
        data = ticket_request(session, plan=plan, asset=asset, due=due.day)
    except ValidationError as exc:
        log.warning("maintenance plan %s, asset %s: no ticket (%s)", plan.id, asset.id, exc)
        return None
    try:
        with session.begin_nested():
            occurrence = MaintenanceOccurrence(
                plan_id=plan.id,
                asset_id=asset.id,
                due_key=due.key,
                due_date=due.day,
                created_at=now,
            )
            session.add(occurrence)
            session.flush()
            ticket, _ = tickets.create_ticket(
                session,
                data=data,
                actor=ACTOR,
                at=now,
                idempotency_key=f"maintenance:{plan.id}:{asset.id}:{due.key}",
            )
            occurrence.ticket_id = ticket.id
            session.flush()
    except IntegrityError:
        return None  # claimed by a concurrent run
    except PortalError as exc:
        log.warning("maintenance plan %s, asset %s: no ticket (%s)", plan.id, asset.id, exc)
        return None
    return ticket


def create_due_tickets(session: Session, *, now: datetime, horizon_days: int) -> list[Ticket]:
    """Open a maintenance ticket for every plan occurrence due within `horizon_days` of `now`
    (and the latest overdue one a missed run left) that has none yet; returns the new ones."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    horizon_days = max(0, horizon_days)
    made: list[Ticket] = []
    plans = session.scalars(
        select(MaintenancePlan).where(MaintenancePlan.active.is_(True)).order_by(MaintenancePlan.id)
    )
    for plan in list(plans):
        done = service.made_keys(session, plan_id=plan.id)
        for asset in service.assets_of(session, plan=plan):
            for due in service.dues(
                session, plan=plan, asset=asset, now=now, horizon_days=horizon_days
            ):
                if (asset.id, due.key) in done:
                    continue
                ticket = _make(session, plan=plan, asset=asset, due=due, now=now)
                if ticket is not None:
                    made.append(ticket)
    if made:
        log.info("maintenance: %d ticket(s) opened ahead of time", len(made))
    return made
