"""The demo seed loads parts and settlement on top of the demo tickets, consistently."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from portal.database import Database
from portal.demo.parts import seed_parts
from portal.fees import service as fees
from portal.fees.models import Receipt
from portal.parts.models import StockMovement
from portal.settlement import ledger
from portal.settlement.models import Statement
from tests.parts.test_stock import assert_ledger_matches
from tests.parts.world import walk
from tests.portal import factories as f

NOW = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)


def test_demo_parts_and_settlement(demo_db: Database) -> None:
    db = demo_db  # the seed calls seed_parts itself
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StockMovement)) > 100
        consumed = s.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "consume")
        )
        assert consumed and consumed > 0
        assert_ledger_matches(s)
        assert ledger.unbalanced_transactions(s) == []
        statements = s.scalars(select(Statement).where(Statement.period == "2026-02")).all()
        assert {st.party for st in statements} == {"network", "engineer"}
        assert {st.status for st in statements if st.party == "network"} >= {"paid", "disputed"}


def test_the_parts_seed_quotes_each_completion_of_a_reopened_ticket(db: Database) -> None:
    """A reopened out-of-warranty repair is completed twice with parts: the seed gives each
    completion its own accepted quote and receipt (one quote per ticket number crashed)."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        model = f.product_model(s, warranty_months=12)
        customer = f.customer(s, with_asset=False)
        unit = f.asset(s, customer=customer, model=model, install_date=date(2020, 5, 1))
        first = [
            ("accept", 5, {}),
            ("dispatch", 10, {}),
            ("engineer_accept", 15, {}),
            ("depart", 60, {}),
            ("arrive", 120, {}),
            ("complete", 170, {"parts": ["排水泵"]}),
        ]
        again = [
            ("reopen", 2000, {"reason": "又不排水了"}),
            ("dispatch", 2010, {}),
            ("engineer_accept", 2020, {}),
            ("depart", 2060, {}),
            ("arrive", 2120, {}),
            ("complete", 2180, {"parts": ["排水泵", "门锁开关"]}),
            ("evaluate", 3000, {"score": 4, "comment": ""}),
        ]
        ticket = walk(
            s,
            customer=customer,
            engineer=eng,
            start=datetime(2026, 2, 10, 2, 0, tzinfo=UTC),
            steps=first + again,
            serial_number=unit.serial_number,
        )
        assert ticket.asset_id == unit.id and ticket.reopen_count == 1
        seed_parts(s, now=NOW, progress=False)
        quotes = fees.quotes_of(s, ticket_id=ticket.id)
        assert len(quotes) == 2 and {q.status for q in quotes} == {"accepted"}
        assert len({q.number for q in quotes}) == 2
        receipts = s.scalars(select(Receipt).where(Receipt.ticket_id == ticket.id)).all()
        assert sorted(r.amount for r in receipts) == sorted(q.total for q in quotes)
        fitted = s.scalars(
            select(StockMovement).where(
                StockMovement.ticket_id == ticket.id, StockMovement.kind == "consume"
            )
        ).all()
        assert sum(-m.on_hand_delta for m in fitted) == 3
        assert_ledger_matches(s)
        assert ledger.unbalanced_transactions(s) == []
