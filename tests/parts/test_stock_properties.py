"""Property-based and concurrent tests of the stock ledger (both databases).

Whatever sequence of operations runs (stock counts included), and however many reservations
race for the last units: every balance equals the sum of its movements, no bucket is ever below
zero, nothing reserved exceeds what is on hand, a refused operation leaves no trace, and a
balance is marked low exactly while its free stock is under its threshold.
"""

from __future__ import annotations

import threading
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.database import Database
from portal.errors import Conflict, Invalid
from portal.parts import service
from portal.parts.models import Part, StockBalance, StockLocation, StockMovement
from tests.conftest import _truncate
from tests.parts.test_stock import assert_ledger_matches
from tests.parts.world import catalogue
from tests.portal import factories as f

LOCS, PARTS, TICKETS = 3, 2, 3
qty = st.integers(min_value=1, max_value=6)
op = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, LOCS - 1), st.integers(0, PARTS - 1), qty),
    st.tuples(
        st.just("transfer"),
        st.integers(0, LOCS - 1),
        st.integers(0, LOCS - 1),
        st.integers(0, PARTS - 1),
        qty,
    ),
    st.tuples(
        st.just("reserve"),
        st.integers(0, LOCS - 1),
        st.integers(0, PARTS - 1),
        qty,
        st.integers(0, TICKETS - 1),
    ),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("consume"), st.integers(0, TICKETS - 1), st.integers(0, PARTS - 1), qty),
    st.tuples(st.just("issue"), st.integers(0, 20)),
    st.tuples(
        st.just("count"), st.integers(0, LOCS - 1), st.integers(0, PARTS - 1), st.integers(0, 8)
    ),
)


def _snapshot(session) -> dict[tuple[int, int], tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return {
        (b.location_id, b.part_id): (b.on_hand, b.reserved, b.defective)
        for b in session.scalars(select(StockBalance))
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_stock_is_the_sum_of_movements_and_never_negative(db: Database, ops: list[tuple]) -> None:  # type: ignore[type-arg]
    _truncate(db)
    with db.session() as s:
        parts = list(catalogue(s).values())[:PARTS]
        net = f.network(s)
        eng = f.engineer(s, network=net)
        locs = [
            service.central(s),
            service.network_location(s, network=net),
            service.van_location(s, engineer=eng),
        ]
        customer = f.customer(s)
        tickets = [f.ticket(s, customer=customer) for _ in range(TICKETS)]
        service.set_threshold(s, location_id=locs[1].id, part_id=parts[0].id, min_level=3)
        received = Counter[int]()
        consumed = Counter[int]()
        adjusted = Counter[int]()
        for o in ops:
            before = _snapshot(s)
            moved_before = s.scalar(select(StockMovement.id).order_by(StockMovement.id.desc()))
            try:
                with s.begin_nested():
                    kind = o[0]
                    if kind == "receive":
                        service.receive(
                            s, location=locs[o[1]], part=parts[o[2]], quantity=o[3], actor="p"
                        )
                        received[parts[o[2]].id] += o[3]
                    elif kind == "transfer":
                        if o[1] == o[2]:
                            continue
                        service.transfer(
                            s,
                            source=locs[o[1]],
                            target=locs[o[2]],
                            part=parts[o[3]],
                            quantity=o[4],
                            actor="p",
                        )
                    elif kind == "reserve":
                        service.reserve(
                            s,
                            ticket_id=tickets[o[4]].id,
                            location=locs[o[1]],
                            part=parts[o[2]],
                            quantity=o[3],
                            actor="p",
                        )
                    elif kind == "count":
                        done = service.adjust_count(
                            s,
                            location=locs[o[1]],
                            part=parts[o[2]],
                            counted=o[3],
                            reason="盘点",
                            actor="p",
                        )
                        adjusted[parts[o[2]].id] += done.delta
                    elif kind in ("release", "issue"):
                        held = [
                            r
                            for t in tickets
                            for r in service.held_for(s, ticket_id=t.id)
                            if kind == "release" or r.status == "held"
                        ]
                        if not held:
                            continue
                        r = held[o[1] % len(held)]
                        if kind == "release":
                            service.release(s, reservation=r, actor="p")
                        elif r.location_id != locs[2].id:
                            service.issue(s, reservation=r, van=locs[2], actor="p")
                    else:
                        service.consume(
                            s,
                            ticket_id=tickets[o[1]].id,
                            part=parts[o[2]],
                            quantity=o[3],
                            fallback=locs[::-1],
                            actor="p",
                        )
                        consumed[parts[o[2]].id] += o[3]
            except (Conflict, Invalid):
                # Refused: no balance changed and no movement was written.
                assert _snapshot(s) == before
                last = s.scalar(select(StockMovement.id).order_by(StockMovement.id.desc()))
                assert last == moved_before
            assert_ledger_matches(s)
            for b in s.scalars(select(StockBalance)):
                assert (b.low_since is not None) == b.low, (b.location_id, b.part_id)
        # Nothing is made or lost: on hand is what came in, less what was fitted, give or take
        # what the counts found.
        for part in parts:
            on_hand = sum(
                b.on_hand
                for b in s.scalars(select(StockBalance).where(StockBalance.part_id == part.id))
            )
            assert on_hand == received[part.id] - consumed[part.id] + adjusted[part.id]


def test_concurrent_reservations_never_oversell(db: Database) -> None:
    """Sixteen threads race for five units (PostgreSQL: row locks; SQLite: one writer)."""
    with db.session() as s:
        part = catalogue(s)["WM-PCB-01"]
        net = f.network(s)
        store = service.network_location(s, network=net)
        service.receive(s, location=store, part=part, quantity=5, actor="t")
        customer = f.customer(s)
        ticket_ids = [f.ticket(s, customer=customer).id for _ in range(16)]
        part_id, store_id = part.id, store.id
    barrier = threading.Barrier(len(ticket_ids))
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def worker(ticket_id: int) -> None:
        try:
            barrier.wait()
            with db.session() as s:
                loc = s.get_one(StockLocation, store_id)
                p = s.get_one(Part, part_id)
                results[ticket_id] = service.reserve(
                    s,
                    ticket_id=ticket_id,
                    location=loc,
                    part=p,
                    quantity=1,
                    actor="race",
                    partial=False,
                )
        except BaseException as exc:  # reported below, on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in ticket_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(results.values()) == 5
    with db.session() as s:
        b = service.balance(s, location_id=store_id, part_id=part_id)
        assert b is not None and (b.on_hand, b.reserved) == (5, 5)
        assert_ledger_matches(s)


def test_concurrent_transfers_and_reservations_keep_the_bounds(db: Database) -> None:
    """Reservations and transfers out of the same store race; the store never goes negative."""
    with db.session() as s:
        part = catalogue(s)["WM-PMP-01"]
        net = f.network(s)
        store = service.network_location(s, network=net)
        central = service.central(s)
        service.receive(s, location=store, part=part, quantity=7, actor="t")
        customer = f.customer(s)
        ticket_ids = [f.ticket(s, customer=customer).id for _ in range(8)]
        part_id, store_id, central_id = part.id, store.id, central.id
    n = 16
    barrier = threading.Barrier(n)
    taken: list[int] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            with db.session() as s:
                loc = s.get_one(StockLocation, store_id)
                p = s.get_one(Part, part_id)
                if i % 2:
                    taken.append(
                        service.reserve(
                            s,
                            ticket_id=ticket_ids[i // 2],
                            location=loc,
                            part=p,
                            quantity=2,
                            actor="race",
                        )
                    )
                else:
                    try:
                        service.transfer(
                            s,
                            source=loc,
                            target=s.get_one(StockLocation, central_id),
                            part=p,
                            quantity=1,
                            actor="race",
                        )
                        taken.append(1)
                    except Conflict:
                        pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(taken) == 7  # every unit went somewhere, none twice
    with db.session() as s:
        assert_ledger_matches(s)
