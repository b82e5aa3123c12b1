"""Shared pieces of the parts and settlement tests: the float trap, a small catalogue, a rate
card, and tickets walked through the lifecycle at exact times."""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from portal.fees import service as fees
from portal.fees.models import DistanceBand, RateCard, RateLine
from portal.networks.models import Engineer
from portal.parts import service as parts
from portal.parts.models import Part
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketEvent
from tests.portal import factories as f


@pytest.fixture(autouse=True)
def no_float_money() -> Iterator[None]:
    """Trap FloatOperation in this thread and in threads started meanwhile (the app's)."""
    trap = decimal.FloatOperation
    ctx = decimal.getcontext()
    saved = (ctx.traps[trap], decimal.DefaultContext.traps[trap])
    ctx.traps[trap] = True
    decimal.DefaultContext.traps[trap] = True
    try:
        yield
    finally:
        ctx.traps[trap], decimal.DefaultContext.traps[trap] = saved


def catalogue(session: Session) -> dict[str, Part]:
    """Four washing-machine parts: two returnable (周转件)."""
    specs = (
        ("WM-PCB-01", "电脑板", "180.00", "260.00", True),
        ("WM-PMP-01", "排水泵", "45.00", "80.00", False),
        ("WM-LCK-01", "门锁开关", "20.00", "40.00", False),
        ("WM-MTR-01", "电机", "300.00", "450.00", True),
    )
    out = {}
    for code, name, cost, price, returnable in specs:
        out[code] = parts.create_part(
            session,
            part=Part(
                code=code,
                name=name,
                category="洗衣机",
                compatible_models=[],
                unit_cost=Decimal(cost),
                unit_price=Decimal(price),
                returnable=returnable,
            ),
        )
    return out


def rate_card(session: Session, *, starts: date = date(2026, 1, 1)) -> RateCard:
    """The standard card: repairs 80 (in) / 100 (out), installations 60, one hour included,
    30/hour beyond; mileage 0–10 km free, 10–30 km 20 (engineer 10), 30+ km 50 (engineer 25)."""
    lines = [
        RateLine(
            service_type="repair",
            product_category="*",
            warranty="in",
            service_fee=Decimal("80.00"),
            included_minutes=60,
            hour_rate=Decimal("30.00"),
            engineer_pay=Decimal("40.00"),
            engineer_hour_rate=Decimal("15.00"),
        ),
        RateLine(
            service_type="repair",
            product_category="*",
            warranty="out",
            service_fee=Decimal("100.00"),
            included_minutes=60,
            hour_rate=Decimal("40.00"),
            engineer_pay=Decimal("35.00"),
            engineer_hour_rate=Decimal("15.00"),
        ),
        RateLine(
            service_type="installation",
            product_category="*",
            warranty="in",
            service_fee=Decimal("60.00"),
            included_minutes=90,
            hour_rate=Decimal("20.00"),
            engineer_pay=Decimal("30.00"),
            engineer_hour_rate=Decimal("10.00"),
        ),
    ]
    bands = [
        DistanceBand(min_km=Decimal("0"), max_km=Decimal("10"), fee=Decimal("0.00")),
        DistanceBand(
            min_km=Decimal("10"),
            max_km=Decimal("30"),
            fee=Decimal("20.00"),
            engineer_pay=Decimal("10.00"),
        ),
        DistanceBand(
            min_km=Decimal("30"), max_km=None, fee=Decimal("50.00"), engineer_pay=Decimal("25.00")
        ),
    ]
    return fees.add_card(
        session, code="STD", name="标准价目", effective_from=starts, lines=lines, bands=bands
    )


Step = tuple[str, float, dict[str, Any]]  # action, minutes after the ticket was reported, payload


def imported_event(
    session: Session,
    *,
    ticket: Ticket,
    action: str,
    at: datetime,
    payload: dict[str, Any],
    actor: str = "system:test",
) -> TicketEvent:
    """An event as an import writes it: the row and the status, checked against the
    lifecycle's table, but published to nobody (no SLA timers, no parts held or consumed, no
    settlement posted), so a test can settle or price history that happened elsewhere."""
    transition = lifecycle.TRANSITIONS[action]
    assert ticket.status in transition.sources, (ticket.status, action)
    target = transition.target or ticket.status
    event = TicketEvent(
        ticket=ticket,
        action=action,
        from_status=ticket.status,
        to_status=target,
        actor=actor,
        payload=payload,
        created_at=at,
    )
    ticket.status, ticket.updated_at = target, at
    if action in ("dispatch", "reassign"):
        ticket.network_id, ticket.engineer_id = payload["network_id"], payload["engineer_id"]
    elif action == "reopen":
        ticket.reopen_count += 1
    session.add(event)
    session.flush()
    return event


def walk(
    session: Session,
    *,
    customer: Any,
    engineer: Engineer,
    start: datetime,
    steps: Sequence[Step],
    ticket_type: str = "repair",
    **fields: Any,
) -> Ticket:
    """A ticket reported at `start` and moved through `steps` at exact times, as imported
    history (`imported_event`): settling and pricing it is up to the test."""
    ticket = f.ticket(session, customer=customer, at=start, type=ticket_type, **fields)
    for action, minutes, payload in steps:
        at = start + timedelta(minutes=minutes)
        data = dict(payload)
        if action in ("dispatch", "reassign"):
            data.update(network_id=engineer.network_id, engineer_id=engineer.id)
        imported_event(session, ticket=ticket, action=action, at=at, payload=data)
    session.flush()
    return ticket


def full_repair(
    score: int, *, respond: float = 5, arrive: float = 120, on_site: float = 50
) -> list[Step]:
    """A repair from report to evaluation: accepted after `respond` minutes, on site
    `arrive` minutes after acceptance, `on_site` minutes of work, evaluated a day later."""
    a = respond
    return [
        ("accept", a, {}),
        ("dispatch", a + 5, {}),
        ("engineer_accept", a + 10, {}),
        ("depart", a + 20, {}),
        ("arrive", a + arrive, {}),
        ("complete", a + arrive + on_site, {}),
        ("evaluate", a + arrive + on_site + 1440, {"score": score, "comment": ""}),
    ]
