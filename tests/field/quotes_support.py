"""A bot-reported job with no registered unit (so out of warranty) on site with an engineer
who carries a drain pump in the van: the quote, the widget chat and the receipt tests' world.

The numbers: the standard card charges an out-of-warranty repair 100 for the visit with 60
minutes included and 40 an hour beyond; the washing-machine SOP takes 1.5 hours, so one extra
half hour (20); the network is ~13 km from the customer (band 10–30 km: 20); the pump is 80.
A quote for the visit and one pump is 220.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import Database
from portal.field import flows as field_flows
from portal.field import service as field_service
from portal.field.schemas import PartUsed, WorkRecordIn
from portal.parts import service as parts
from portal.parts.models import Part
from portal.security import Principal, Role
from portal.sop import service as sop
from portal.sop.schemas import SopCreate
from portal.tickets.models import Ticket
from tests.parts.world import rate_card
from tests.portal import factories as f

PUMP = "WM-PMP-01"
QUOTED = Decimal("220.00")  # 100 visit + 20 half hour + 20 mileage + 80 pump
ON_SITE = ("accept", "dispatch", "engineer_accept", "depart", "arrive")


@dataclass(frozen=True)
class QuoteWorld:
    """Who and what the quote tests use."""

    engineer_id: int
    username: str
    ticket: str
    ticket_id: int
    customer_id: int
    phone: str
    visitor: str  # the widget visitor the ticket was reported from
    conversation: str


def pump(s: Session) -> Part:
    """The drain pump: cost 45, price 80."""
    found = parts.find_part(s, ref=PUMP)
    if found is not None:
        return found
    return parts.create_part(
        s,
        part=Part(
            code=PUMP,
            name="排水泵",
            category="洗衣机",
            compatible_models=[],
            unit_cost=Decimal("45.00"),
            unit_price=Decimal("80.00"),
        ),
    )


def build(db: Database, *, actions: tuple[str, ...] = ON_SITE, visitor: str = "") -> QuoteWorld:
    """The card, the SOP, an engineer with three pumps in the van and a chat-reported ticket
    walked through `actions` (on site by default)."""
    with db.session() as s:
        rate_card(s, starts=date(2020, 1, 1))
        sop.create_job(
            s,
            data=SopCreate(
                code="SOP-WM-R",
                title="洗衣机维修",
                service_type="repair",
                product_category="洗衣机",
                steps=["断电", "检查排水泵"],
                labour_hours=Decimal("1.50"),
            ),
        )
        net = f.network(s, city="上海", lat=Decimal("31.350000"), lng=Decimal("121.470000"))
        engineer = f.engineer(s, network=net, name="李师傅")
        van = parts.van_location(s, engineer=engineer)
        parts.receive(s, location=van, part=pump(s), quantity=3, actor="system:test")
        customer = f.customer(s, with_asset=False, name="王女士")
        chat = f.conversation(s, channel="web", **({"sender_id": visitor} if visitor else {}))
        ticket: Ticket = f.ticket(
            s, customer=customer, actions=actions, engineer=engineer, channel="web"
        )
        ticket.conversation_id = chat.public_id
        s.flush()
        return QuoteWorld(
            engineer_id=engineer.id,
            username=s.get_one(User, engineer.user_id).username,
            ticket=ticket.number,
            ticket_id=ticket.id,
            customer_id=customer.id,
            phone=customer.phone,
            visitor=chat.sender_id,
            conversation=chat.public_id,
        )


def engineer_of(w: QuoteWorld) -> Principal:
    """The world's engineer, acting."""
    return Principal(kind="staff", role=Role.ENGINEER, name="eng", engineer_id=w.engineer_id)


def record_and_sign(db: Database, w: QuoteWorld, root: Path) -> None:
    """The engineer records one pump fitted from the van and the customer signs."""
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        field_service.save_record(
            s,
            ticket=ticket,
            engineer_id=w.engineer_id,
            data=WorkRecordIn(
                diagnosis="排水泵卡死",
                work_done="更换排水泵，试机正常",
                parts_used=[PartUsed(part_code=PUMP, name="排水泵", quantity=1, source="van")],
            ),
        )
        field_service.sign(
            s,
            ticket=ticket,
            engineer_id=w.engineer_id,
            png=f.PNG,
            signed_by="王女士",
            principal=engineer_of(w),
            root=root,
            max_bytes=1_000_000,
        )


def complete(db: Database, w: QuoteWorld, link_base: str = "") -> None:
    """The engineer completes the job."""
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        field_flows.complete(s, ticket=ticket, principal=engineer_of(w), link_base=link_base)


def finish_with_pump(db: Database, w: QuoteWorld, root: Path) -> None:
    """The engineer fits one pump from the van, the customer signs, the job is completed."""
    record_and_sign(db, w, root)
    complete(db, w, link_base="https://x.example")
