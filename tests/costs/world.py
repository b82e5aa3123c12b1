"""In-warranty repairs on site for the cost-centre tests: an engineer with a pump in the van,
a unit in warranty, the job arrived at; helpers to record a cause, complete, and rate it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.costs import service as costs
from portal.costs.models import CostCase
from portal.field import flows as field_flows
from portal.field import service as field
from portal.field.schemas import PartUsed, WorkRecordIn
from portal.networks.models import Engineer
from portal.parts import service as parts
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.parts.world import catalogue, rate_card
from tests.portal import factories as f

PUMP = "WM-PMP-01"
MODEL = "XQG100-A1"


@dataclass(frozen=True)
class Crew:
    """The engineer and their login."""

    engineer: Engineer
    principal: Principal


def crew(s: Session) -> Crew:
    """A network and an engineer with six pumps in the van (the first crew also brings the
    rate card and the catalogue)."""
    pump = parts.find_part(s, ref=PUMP)
    if pump is None:
        pump = catalogue(s)[PUMP]
        rate_card(s)
    net = f.network(s)
    eng = f.engineer(s, network=net, name="李师傅")
    van = parts.van_location(s, engineer=eng)
    parts.receive(s, location=van, part=pump, quantity=6, actor="system:test")
    user = s.get_one(User, eng.user_id)
    who = Principal(
        kind="staff",
        role=Role.ENGINEER,
        name=user.username,
        user_id=user.id,
        network_id=net.id,
        engineer_id=eng.id,
    )
    return Crew(eng, who)


def on_site(s: Session, c: Crew, *, warranty_months: int = 60, model: str = MODEL) -> Ticket:
    """An in-warranty (by default) repair the engineer has arrived at, 15 km out."""
    customer = f.customer(s, with_asset=False)
    pm = f.product_model(s, warranty_months=warranty_months)
    unit = f.asset(
        s,
        customer=customer,
        address_=customer.addresses[0],
        model=pm,
        install_date=date(2020, 1, 1) if warranty_months < 12 else date(2026, 6, 1),
    )
    ticket = f.ticket(
        s,
        customer=customer,
        actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
        engineer=c.engineer,
        serial_number=unit.serial_number,
    )
    ticket.model_code = model
    ticket.details = {**ticket.details, "distance_km": "15"}
    s.flush()
    return ticket


def record_cause(
    s: Session, c: Crew, ticket: Ticket, cause: str, root: Path, *, photo: bool = True
) -> CostCase:
    """The engineer's fault cause, with one evidence photo unless told otherwise."""
    return costs.record_cause(
        s,
        ticket=ticket,
        cause=cause,
        photos=[("失效部件.png", f.PNG)] if photo else [],
        engineer_id=c.engineer.id,
        principal=c.principal,
        root=root,
        max_bytes=1_000_000,
        on=date.today(),
    )


def work_and_sign(s: Session, c: Crew, ticket: Ticket, root: Path) -> None:
    """The work record with the van's pump, and the customer's signature."""
    field.save_record(
        s,
        ticket=ticket,
        engineer_id=c.engineer.id,
        data=WorkRecordIn(
            diagnosis="排水泵不转",
            work_done="更换排水泵",
            parts_used=[PartUsed(part_code=PUMP, name="排水泵", quantity=1, source="van")],
        ),
    )
    field.sign(
        s,
        ticket=ticket,
        engineer_id=c.engineer.id,
        png=f.PNG,
        signed_by="王女士",
        principal=c.principal,
        root=root,
        max_bytes=1_000_000,
    )


def complete(s: Session, c: Crew, ticket: Ticket) -> None:
    """The engineer completes the job from the field app."""
    field_flows.complete(s, ticket=ticket, principal=c.principal)


def rate(s: Session, ticket: Ticket) -> None:
    """The customer rates the job: settlement posts it (and allocates its costs)."""
    lifecycle.apply(
        s,
        ticket=ticket,
        action="evaluate",
        actor=f"customer:{ticket.customer_id}",
        role="customer",
        payload={"score": 5, "comment": ""},
    )
