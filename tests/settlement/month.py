"""A fixed month of demo-like tickets (March 2026, one network, two engineers) whose
statements are computed by hand in test_month.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from portal.dispatch.parts import PartLine
from portal.fees import service as fees
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts import flows as parts_flows
from portal.parts import service as parts
from portal.security import Principal
from portal.tickets.models import Ticket
from tests.parts.world import Step, catalogue, full_repair, imported_event, rate_card, walk
from tests.portal import factories as f

DESK = Principal(kind="staff", role="dispatcher", name="desk")


@dataclass
class Month:
    """What the month is made of."""

    network: ServiceNetwork
    e1: Engineer
    e2: Engineer
    tickets: dict[str, Ticket]


def _with(ticket: Ticket, **details: Any) -> None:
    ticket.details = {**ticket.details, **details}


def build_month(s: Session) -> Month:
    """Six tickets; five are evaluated in March 2026 (China time), one on April 1st."""
    cat = catalogue(s)
    rate_card(s)
    net = f.network(s)
    e1 = f.engineer(s, network=net, name="刘一")
    e2 = f.engineer(s, network=net, name="王二")
    model = f.product_model(s, warranty_months=36)  # installed 2025-01-01: covered in 2026
    c1, c2, c3, c4 = (f.customer(s, with_asset=False) for _ in range(4))
    a1, a2, a3, a4 = (f.asset(s, customer=c, model=model) for c in (c1, c2, c3, c4))
    store = parts.network_location(s, network=net)
    for code in ("WM-PCB-01", "WM-PMP-01"):
        parts.receive(s, location=store, part=cat[code], quantity=5, actor="t")

    def at(day: int) -> datetime:
        return datetime(2026, 3, day, 1, 0, tzinfo=UTC)  # 09:00 in China

    t: dict[str, Ticket] = {}
    # T1: quick, in warranty, 5 km, top score.
    t["T1"] = walk(
        s,
        customer=c1,
        engineer=e1,
        start=at(2),
        steps=full_repair(5),
        serial_number=a1.serial_number,
    )
    _with(t["T1"], distance_km="5")
    # T2: late answer (25 min) and late arrival (300 min), 95 min on site, 12 km, a pump.
    t["T2"] = walk(
        s,
        customer=c2,
        engineer=e1,
        start=at(3),
        steps=full_repair(3, respond=25, arrive=300, on_site=95)[:5],
        serial_number=a2.serial_number,
    )
    _with(t["T2"], distance_km="12")
    parts_flows.consume_for_ticket(
        s, ticket=t["T2"], lines=[PartLine("WM-PMP-01", 1)], principal=DESK
    )
    _finish(s, t["T2"], e1, full_repair(3, respond=25, arrive=300, on_site=95)[5:], at(3))
    # T3: out of warranty (misuse): quoted, accepted, a board fitted; 35 km; score 1.
    t["T3"] = walk(
        s,
        customer=c3,
        engineer=e1,
        start=at(4),
        steps=full_repair(1, respond=8, arrive=60, on_site=40)[:5],
        serial_number=a3.serial_number,
    )
    _with(t["T3"], distance_km="35", fault_cause="misuse")
    parts_flows.request_parts(s, ticket=t["T3"], lines=[PartLine("WM-PCB-01", 1)], principal=DESK)
    quote = fees.create_quote(s, ticket=t["T3"], actor="t", at=at(4))
    fees.decide_quote(s, quote=quote, accept=True, actor="customer")
    parts_flows.consume_for_ticket(s, ticket=t["T3"], principal=DESK)
    _finish(s, t["T3"], e1, full_repair(1, respond=8, arrive=60, on_site=40)[5:], at(4))
    # T4: the T1 unit again, ten days later (a repeat repair); waits two days for parts.
    t["T4"] = walk(
        s,
        customer=c1,
        engineer=e1,
        start=at(12),
        serial_number=a1.serial_number,
        steps=[
            ("accept", 5, {}),
            ("dispatch", 10, {}),
            ("engineer_accept", 15, {}),
            ("depart", 25, {}),
            ("arrive", 100, {}),
            ("wait_parts", 110, {}),
            ("resume", 110 + 2880, {}),
            ("dispatch", 2995, {}),
            ("engineer_accept", 3000, {}),
            ("depart", 3010, {}),
            ("arrive", 3050, {}),
            ("complete", 3080, {}),
            ("evaluate", 3080 + 1440, {"score": 4, "comment": ""}),
        ],
    )
    _with(t["T4"], distance_km="8")
    # T5: C2 complains about T2 three days later; E2 visits; top score.
    t["T5"] = walk(
        s,
        customer=c2,
        engineer=e2,
        start=at(6),
        ticket_type="complaint",
        steps=full_repair(5, respond=5, arrive=60, on_site=20),
        serial_number=a2.serial_number,
    )
    _with(t["T5"], distance_km="3")
    # T6: evaluated on April 1st (China time): next month's.
    t["T6"] = walk(
        s,
        customer=c4,
        engineer=e1,
        start=at(31),
        steps=full_repair(5),
        serial_number=a4.serial_number,
    )
    _with(t["T6"], distance_km="1")
    s.flush()
    return Month(network=net, e1=e1, e2=e2, tickets=t)


def _finish(
    s: Session, ticket: Ticket, engineer: Engineer, steps: list[Step], start: datetime
) -> None:
    for action, minutes, payload in steps:
        imported_event(
            s,
            ticket=ticket,
            action=action,
            at=start + timedelta(minutes=minutes),
            payload=dict(payload),
        )
    s.flush()
