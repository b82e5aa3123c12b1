"""A reopened repair does not fit its part twice (a tester saw one ticket's defective return
twice): the first visit fitted the motor its fault suggested; when the ticket was reopened
and dispatched again, the motor was held again and consumed again at completion, owing a
second old motor back that nobody replaced."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.fees.models import Quote
from portal.networks.models import ServiceNetwork
from portal.parts import flows, service
from portal.parts.models import DefectiveReturn
from portal.tickets import lifecycle
from tests.parts.world import catalogue
from tests.portal import factories as f

VISIT = ("engineer_accept", "depart", "arrive", "complete")


def test_a_reopened_repair_owes_its_old_part_back_once(db: Database) -> None:
    stock_db = wiring.wire(Database(db.url), Settings())  # as the app: the stock's planner
    try:
        with stock_db.session() as s:
            motor = catalogue(s)["WM-MTR-01"]  # returnable; 滚筒不转 suggests it
            eng = f.engineer(s, network=f.network(s))
            store = service.network_location(s, network=s.get_one(ServiceNetwork, eng.network_id))
            service.receive(s, location=store, part=motor, quantity=5, actor="t")
            ticket = f.ticket(s, customer=f.customer(s), engineer=eng, actions=("accept",))
            # Out of warranty (no unit on file): the customer accepted the quote.
            s.add(
                Quote(
                    number="BJ-T-1", ticket_id=ticket.id, warranty="out", payer="customer",
                    total=Decimal("450.00"), status="accepted", created_by="t",
                )
            )  # fmt: skip
            for action in ("dispatch", *VISIT):
                payload = (
                    {"network_id": eng.network_id, "engineer_id": eng.id}
                    if action == "dispatch"
                    else {}
                )
                lifecycle.apply(s, ticket=ticket, action=action, actor="system:t", payload=payload)
            assert service.consumed_on(s, ticket_id=ticket.id) == {motor.id: 1}
            # The same ticket, reopened and visited again: nothing new is fitted.
            for action in ("reopen", "dispatch", *VISIT):
                payload = (
                    {"network_id": eng.network_id, "engineer_id": eng.id}
                    if action == "dispatch"
                    else {}
                )
                lifecycle.apply(s, ticket=ticket, action=action, actor="system:t", payload=payload)
            returns = s.scalar(
                select(func.count())
                .select_from(DefectiveReturn)
                .where(DefectiveReturn.ticket_id == ticket.id)
            )
            fitted = service.consumed_on(s, ticket_id=ticket.id)
            assert (returns, fitted) == (1, {motor.id: 1})
            # The part already fitted on the ticket is not suggested for it again.
            assert flows.suggest_parts(s, ticket=ticket) == []
    finally:
        stock_db.dispose()
