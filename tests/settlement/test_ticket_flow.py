"""The lifecycle hooks end to end, through the API: a job dispatched with parts held consumes
them when it is completed and is settled when the customer rates it; a cancelled job gives its
parts back. Each hook runs once per event, whichever door the event came through."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database, utcnow
from portal.parts import service as parts
from portal.parts.models import PartReservation, StockMovement
from portal.settlement import ledger
from portal.settlement.models import LedgerTransaction
from portal.tickets.models import Ticket
from tests.parts.test_stock import assert_ledger_matches
from tests.parts.world import catalogue, rate_card
from tests.portal import factories as f

D = Decimal


def _kinds(s, ticket_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    rows = s.scalars(
        select(StockMovement).where(StockMovement.ticket_id == ticket_id).order_by(StockMovement.id)
    )
    return [m.kind for m in rows]


def test_parts_are_consumed_on_completion_settled_on_evaluation_released_on_cancel(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        cat = catalogue(s)
        rate_card(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        model = f.product_model(s, warranty_months=60)  # in warranty: no quote needed
        customer = f.customer(s, with_asset=False)
        unit = f.asset(s, customer=customer, address_=customer.addresses[0], model=model)
        store = parts.network_location(s, network=net)
        pump = cat["WM-PMP-01"]
        parts.receive(s, location=store, part=pump, quantity=3, actor="t")
        # "排水" in the fault points the planner at the drain pump (排水泵).
        done, dropped = (
            f.ticket(
                s,
                customer=customer,
                actions=("accept",),
                serial_number=unit.serial_number,
                fault_description="洗衣机排水不畅，有异响",
            )
            for _ in range(2)
        )
        ids = {"done": done.id, "dropped": dropped.id}
        numbers = {"done": done.number, "dropped": dropped.number}
        h = {
            "desk": f.bearer(settings, f.user(s, role="dispatcher")),
            "agent": f.bearer(settings, f.user(s, role="agent")),
            "finance": f.bearer(settings, f.user(s, role="finance")),
            "eng": f.bearer(settings, s.get_one(User, eng.user_id)),
            "customer": f.bearer(settings, customer),
        }
        net_id, eng_id, store_id, pump_id = net.id, eng.id, store.id, pump.id

    def act(who: str, name: str, action: str, **extra: object) -> dict[str, object]:
        r = client.post(
            f"/api/v1/tickets/{numbers[name]}/transitions",
            json={"action": action, **extra},
            headers=h[who],
        )
        assert r.status_code == 200, (action, r.text)
        return r.json()  # type: ignore[no-any-return]

    # Dispatch holds the suggested pump at the network's store.
    for name in ("done", "dropped"):
        r = client.post(
            f"/api/v1/dispatch/tickets/{numbers[name]}/assign",
            json={"engineer_id": eng_id},
            headers=h["desk"],
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "dispatched"
    with db.session() as s:
        for name in ("done", "dropped"):
            (held,) = parts.held_for(s, ticket_id=ids[name])
            assert (held.part_id, held.quantity, held.location_id) == (pump_id, 1, store_id)
        assert parts.available(s, location_id=store_id, part_id=pump_id) == 1

    # Completion consumes what was held, once.
    for action in ("engineer_accept", "depart", "arrive", "complete"):
        act("eng", "done", action)
    with db.session() as s:
        assert parts.held_for(s, ticket_id=ids["done"]) == []
        assert parts.consumed_on(s, ticket_id=ids["done"]) == {pump_id: 1}
        assert _kinds(s, ids["done"]) == ["reserve", "consume"]
        b = parts.balance(s, location_id=store_id, part_id=pump_id)
        assert b is not None and (b.on_hand, b.reserved) == (2, 1)

    # The customer's rating settles the job into this month; the ticket stays "evaluated".
    act("agent", "done", "request_evaluation")
    assert act("customer", "done", "evaluate", score=5, comment="很好")["status"] == "evaluated"
    lines = client.get(f"/api/v1/settlement/tickets/{numbers['done']}/lines", headers=h["finance"])
    assert lines.status_code == 200, lines.text
    (txn,) = lines.json()
    assert txn["kind"] == "settlement" and txn["period"] == ledger.period_of(utcnow())
    assert sum(D(e["amount"]) for e in txn["entries"]) == 0
    # By hand: repair in warranty 80 (under the included hour, 0 km), the pump at cost 45 to
    # the manufacturer, the five-star bonus 5 to the network; the engineer 40 + 10.
    with db.session() as s:
        assert -ledger.balance(s, ledger.network_account(net_id)) == D("85.00")
        assert -ledger.balance(s, ledger.engineer_account(eng_id)) == D("50.00")
        assert ledger.balance(s, "mfr:parts_cost") == D("45.00")
        assert ledger.unbalanced_transactions(s) == []
        assert s.get_one(Ticket, ids["done"]).status == "evaluated"

    # The month's run finds it posted (nothing new) and asks for settlement.
    run = client.post(
        "/api/v1/settlement/runs",
        json={"period": ledger.period_of(utcnow())},
        headers={**h["finance"], "Idempotency-Key": "flow-run-1"},
    )
    assert run.status_code == 201, run.text
    assert (run.json()["tickets_settled"], run.json()["transactions"]) == (0, 0)
    with db.session() as s:
        assert s.get_one(Ticket, ids["done"]).status == "pending_settlement"
        count = select(func.count()).select_from(LedgerTransaction)
        assert s.scalar(count.where(LedgerTransaction.ticket_id == ids["done"])) == 1

    # The other customer job is cancelled: its pump goes back on the shelf.
    assert act("customer", "dropped", "cancel", reason="自己修好了")["status"] == "cancelled"
    with db.session() as s:
        assert parts.held_for(s, ticket_id=ids["dropped"]) == []
        (res,) = s.scalars(
            select(PartReservation).where(PartReservation.ticket_id == ids["dropped"])
        )
        assert res.status == "released"
        assert _kinds(s, ids["dropped"]) == ["reserve", "release"]
        assert parts.available(s, location_id=store_id, part_id=pump_id) == 2
        assert_ledger_matches(s)
