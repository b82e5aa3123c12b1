"""Stock operations over the movement ledger, on both databases: every balance is the sum of
its movements, no bucket goes below zero, shortages hold tickets and resume them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from portal.database import Database
from portal.dispatch.parts import PartLine, PartsPlanner
from portal.errors import Conflict
from portal.parts import flows, service
from portal.parts.models import DefectiveReturn, Part, StockBalance, StockLocation, StockMovement
from portal.security import Principal
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.parts.world import catalogue
from tests.portal import factories as f

DESK = Principal(kind="staff", role="dispatcher", name="desk", user_id=None)


def assert_ledger_matches(session) -> None:  # type: ignore[no-untyped-def]
    """Every balance equals the sum of its movements and respects the bounds."""
    totals = service.ledger_totals(session)
    balances = session.scalars(select(StockBalance)).all()
    seen = set()
    for b in balances:
        session.refresh(b)
        key = (b.location_id, b.part_id)
        seen.add(key)
        assert (b.on_hand, b.reserved, b.defective) == totals.get(key, (0, 0, 0)), key
        assert b.on_hand >= 0 and b.reserved >= 0 and b.defective >= 0
        assert b.reserved <= b.on_hand
    assert set(totals) <= seen


def test_a_part_travels_from_the_warehouse_to_a_ticket_and_back(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        ticket = f.ticket(s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng)
        pcb = cat["WM-PCB-01"]
        central = service.central(s)
        store = service.network_location(s, network=net)
        van = service.van_location(s, engineer=eng)
        service.receive(s, location=central, part=pcb, quantity=10, actor="t")
        service.transfer(s, source=central, target=store, part=pcb, quantity=4, actor="t")
        got = flows.StockPlanner().reserve(
            s, ticket=ticket, network_id=net.id, lines=[PartLine("WM-PCB-01", 1)]
        )
        assert [p.part_code for p in got.reserved] == ["WM-PCB-01"] and not got.short
        assert service.available(s, location_id=store.id, part_id=pcb.id) == 3
        assert flows.issue_to_engineer(s, ticket=ticket, principal=DESK) == 1
        b = service.balance(s, location_id=van.id, part_id=pcb.id)
        assert b is not None and (b.on_hand, b.reserved) == (1, 1)
        service.consume(
            s,
            ticket_id=ticket.id,
            part=pcb,
            quantity=1,
            fallback=[van],
            actor="t",
            engineer_id=eng.id,
            return_to=central,
        )
        assert service.consumed_on(s, ticket_id=ticket.id) == {pcb.id: 1}
        ret = s.scalars(select(DefectiveReturn)).one()
        assert ret.status == "awaiting"  # the old board is owed back (旧件返还)
        service.advance_return(s, ret=ret, step="ship", actor="t", tracking="SF123")
        service.advance_return(s, ret=ret, step="receive", actor="t")
        cb = service.balance(s, location_id=central.id, part_id=pcb.id)
        assert cb is not None and (cb.on_hand, cb.defective) == (6, 1)
        service.advance_return(s, ret=ret, step="repair", actor="t")
        s.refresh(cb)
        assert (cb.on_hand, cb.defective) == (7, 0)
        assert_ledger_matches(s)


def test_stock_never_goes_below_zero(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        pump = cat["WM-PMP-01"]
        store = service.network_location(s, network=net)
        central = service.central(s)
        service.receive(s, location=store, part=pump, quantity=2, actor="t")
        with pytest.raises(Conflict):
            service.transfer(s, source=store, target=central, part=pump, quantity=3, actor="t")
        ticket = f.ticket(s, customer=f.customer(s))
        assert (
            service.reserve(
                s, ticket_id=ticket.id, location=store, part=pump, quantity=5, actor="t"
            )
            == 2
        )  # partial: what there was
        assert (
            service.reserve(
                s, ticket_id=ticket.id, location=store, part=pump, quantity=1, actor="t"
            )
            == 0
        )
        # Reserved stock cannot leave either.
        with pytest.raises(Conflict):
            service.transfer(s, source=store, target=central, part=pump, quantity=1, actor="t")
        assert_ledger_matches(s)
        bid = service.balance(s, location_id=store.id, part_id=pump.id).id  # type: ignore[union-attr]
    # The database refuses it too, whoever writes.
    with pytest.raises(IntegrityError), db.session() as s:
        s.execute(text("UPDATE stock_balances SET on_hand = -1 WHERE id = :id"), {"id": bid})
    with pytest.raises(IntegrityError), db.session() as s:
        s.execute(text("UPDATE stock_balances SET reserved = 5 WHERE id = :id"), {"id": bid})


def test_movements_are_append_only(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        service.receive(
            s, location=service.central(s), part=cat["WM-LCK-01"], quantity=1, actor="t"
        )
    with db.session() as s:
        row = s.scalars(select(StockMovement)).one()
        row.on_hand_delta = 5
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
        s.rollback()
        s.delete(s.scalars(select(StockMovement)).one())
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
        s.rollback()


def test_a_shortage_holds_the_ticket_and_its_arrival_resumes_it(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        ticket = f.ticket(
            s,
            customer=f.customer(s),
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
            engineer=eng,
        )
        store = service.network_location(s, network=net)
        motor = cat["WM-MTR-01"]
        service.receive(s, location=store, part=motor, quantity=1, actor="t")
        result = flows.request_parts(
            s, ticket=ticket, lines=[PartLine("WM-MTR-01", 3)], principal=DESK
        )
        assert [(p.part_code, p.quantity) for p in result.reserved] == [("WM-MTR-01", 1)]
        assert [(p.part_code, p.quantity) for p in result.shortages] == [("WM-MTR-01", 2)]
        assert ticket.status == "waiting_parts"
        order = service.open_shortages(s, ticket_id=ticket.id)[0]
        assert order.quantity == 2 and order.number.startswith("QJ")
        # Asking again holds nothing twice and orders nothing twice.
        again = flows.request_parts(
            s, ticket=ticket, lines=[PartLine("WM-MTR-01", 3)], principal=DESK
        )
        assert not again.reserved and not again.shortages
        # One unit arrives: not enough, the ticket still waits.
        assert flows.receive(s, location=store, part=motor, quantity=1, principal=DESK) == []
        assert ticket.status == "waiting_parts"
        # The central warehouse ships the order: the ticket resumes (lifecycle "resume").
        service.receive(s, location=service.central(s), part=motor, quantity=5, actor="t")
        assert flows.ship_from_central(s, order=order, principal=DESK)
        assert order.status == "fulfilled"
        assert ticket.status == "accepted"
        assert [e.action for e in ticket.events][-2:] == ["wait_parts", "resume"]
        held = sum(r.quantity for r in service.held_for(s, ticket_id=ticket.id))
        assert held == 3
        assert_ledger_matches(s)


def test_the_planner_fits_the_dispatch_protocol(db: Database) -> None:
    planner: PartsPlanner = flows.StockPlanner()
    with db.session() as s:
        catalogue(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        ticket = f.ticket(
            s,
            customer=f.customer(s),
            actions=("accept", "dispatch"),
            engineer=eng,
            fault_description="排水慢，衣服甩不干",
        )
        lines = planner.suggest(s, ticket=ticket)
        assert [(p.part_code, p.name) for p in lines] == [("WM-PMP-01", "排水泵")]
        res = planner.reserve(s, ticket=ticket, network_id=net.id, lines=lines)
        assert res.short and [p.part_code for p in res.shortages] == ["WM-PMP-01"]
        assert len(service.open_shortages(s, ticket_id=ticket.id)) == 1
        # Reserving again (a reassignment) orders nothing more.
        planner.reserve(s, ticket=ticket, network_id=net.id, lines=lines)
        assert len(service.open_shortages(s, ticket_id=ticket.id)) == 1


def test_low_stock_alerts_per_location(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        a, b = f.network(s), f.network(s)
        sa_, sb = service.network_location(s, network=a), service.network_location(s, network=b)
        lock = cat["WM-LCK-01"]
        for loc in (sa_, sb):
            service.receive(s, location=loc, part=lock, quantity=3, actor="t")
        service.set_threshold(s, location_id=sa_.id, part_id=lock.id, min_level=5)
        service.set_threshold(s, location_id=sb.id, part_id=lock.id, min_level=2)
        low = service.low_stock(s)
        assert [(x.location_id, x.available) for x in low] == [(sa_.id, 3)]
        assert service.low_stock(s, network_id=b.id) == []
        ticket = f.ticket(s, customer=f.customer(s))
        service.reserve(s, ticket_id=ticket.id, location=sb, part=lock, quantity=2, actor="t")
        assert {x.location_id for x in service.low_stock(s)} == {sa_.id, sb.id}


def test_cancelling_releases_what_was_held(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        ticket = f.ticket(s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng)
        store = service.network_location(s, network=net)
        service.receive(s, location=store, part=cat["WM-PMP-01"], quantity=1, actor="t")
        flows.request_parts(s, ticket=ticket, lines=[PartLine("WM-PMP-01", 2)], principal=DESK)
        lifecycle.apply(s, ticket=ticket, action="cancel", actor="t")  # the parts subscriber hears
        assert service.held_for(s, ticket_id=ticket.id) == []
        assert service.open_shortages(s, ticket_id=ticket.id) == []
        assert service.available(s, location_id=store.id, part_id=cat["WM-PMP-01"].id) == 1
        assert_ledger_matches(s)
        assert s.get(Ticket, ticket.id) is not None
        assert Decimal("1") == 1


def test_a_part_fits_a_ticket_whose_model_nobody_knows_yet(db: Database) -> None:
    """Go-live scene: a washer reported by chat has no model, and the engineer's van pump (for
    HC-WD100 and HC-WD80) was missing from the quote. On site, an unknown model rules out no
    part of the product; a known other model and another product still do. Planning still
    holds nothing model-specific for an unknown model."""
    with db.session() as s:
        pump = service.create_part(
            s,
            part=Part(
                code="P-FIT-PUMP",
                name="排水泵",
                category="洗衣机",
                compatible_models=["HC-WD100", "HC-WD80"],
                unit_cost=Decimal("40.00"),
                unit_price=Decimal("80.00"),
            ),
        )
        customer = f.customer(s, with_asset=False)
        unknown = f.ticket(s, customer=customer, product="洗衣机")
        assert unknown.model_code in (None, "")
        assert flows.fits_ticket(s, ticket=unknown, part=pump)
        unknown.fault_description = "排水泵不工作，E21"
        assert flows.suggest_parts(s, ticket=unknown) == []
        known = f.ticket(s, customer=f.customer(s, with_asset=False), model_code="HC-WD100")
        assert flows.fits_ticket(s, ticket=known, part=pump)
        known.fault_description = "排水泵不工作，E21"
        assert [p.part_code for p in flows.suggest_parts(s, ticket=known)] == ["P-FIT-PUMP"]
        other = f.ticket(s, customer=f.customer(s, with_asset=False), model_code="HC-XX1")
        assert not flows.fits_ticket(s, ticket=other, part=pump)
        fridge = f.ticket(s, customer=f.customer(s, with_asset=False), product="冰箱")
        assert not flows.fits_ticket(s, ticket=fridge, part=pump)


def test_a_network_uses_the_store_its_workbook_imported(db: Database) -> None:
    """Go-live scene: 徐汇网点库 (WH-XH) came in with the company's workbook and held the pumps,
    yet dispatch held and ordered parts at an empty store it made itself (NET-<code>)."""
    with db.session() as s:
        net = f.network(s)
        other = f.network(s)
        store = StockLocation(code="WH-XH", kind="network", name="徐汇网点库", network_id=net.id)
        s.add(store)
        s.flush()
        assert service.network_location(s, network=net).id == store.id
        made = service.network_location(s, network=other)
        assert made.code == f"NET-{other.code}" and made.network_id == other.id
