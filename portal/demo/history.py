"""Writes planned ticket histories through the ticket service and the lifecycle."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session
from tqdm import tqdm

from portal.demo.plan import Plan
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketCreate


def write(session: Session, plans: Sequence[Plan], *, progress: bool = True) -> list[str]:
    """Create each planned ticket and apply its steps; returns the ticket numbers in order."""
    numbers: list[str] = []
    untouched: list[Ticket] = []
    for plan in tqdm(plans, desc="演示工单 demo tickets", unit="单", disable=not progress):
        ticket = _create(session, plan, numbers)
        for step in plan.steps:
            # Assignment fields change together with the event, in the same flush.
            if step.assign is not None:
                ticket.network_id = step.assign.network.id
                ticket.engineer_id = step.assign.row.id
            elif step.action == "engineer_reject":
                ticket.engineer_id = None
            if step.action == "complete" and plan.unit_by_completion:
                _link_unit(ticket, plan)  # registered from the work record on completion
            lifecycle.apply(
                session,
                ticket=ticket,
                action=step.action,
                actor=step.actor,
                role=step.role,
                payload=step.payload,
                at=step.at,
            )
        if not plan.steps:
            untouched.append(ticket)
        numbers.append(ticket.number)
    session.flush()
    # Setting the asset fields stamped these with the wall clock; nobody has touched them
    # since they were made, so say so (an explicit value overrides the column's onupdate).
    for ticket in untouched:
        ticket.updated_at = ticket.created_at
    session.flush()
    return numbers


def _create(session: Session, plan: Plan, numbers: list[str]) -> Ticket:
    unit = plan.unit
    site = unit.site
    ticket, _ = tickets.create_ticket(
        session,
        data=TicketCreate.model_validate(
            {
                "type": plan.type,
                "product": unit.category,
                "fault_description": plan.description,
                "phone": unit.customer.phone,
                "customer_name": unit.customer.name,
                "address": site.row.full,
                "urgency": plan.urgency,
                "channel": plan.channel,
            }
        ),
        actor=plan.creator,
        at=plan.created_at,
    )
    details = dict(plan.details)
    if plan.repeat_of is not None:
        details["repeat_of"] = numbers[plan.repeat_of]
    if not plan.unit_by_completion:
        _link_unit(ticket, plan)
    ticket.city = site.city
    ticket.district = site.district
    ticket.details = details
    return ticket


def _link_unit(ticket: Ticket, plan: Plan) -> None:
    ticket.asset_id = plan.unit.row.id
    ticket.model_code = plan.unit.model_code
    ticket.serial_number = plan.unit.row.serial_number
