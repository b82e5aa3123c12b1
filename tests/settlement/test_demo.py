"""The demo seed loads parts and settlement on top of the demo tickets, consistently."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from portal.database import Database
from portal.demo.seed import seed
from portal.parts.models import StockMovement
from portal.settlement import ledger
from portal.settlement.models import Statement
from tests.parts.test_stock import assert_ledger_matches

NOW = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)


def test_demo_parts_and_settlement(db: Database) -> None:
    with db.session() as s:
        seed(s, tickets=250, now=NOW, progress=False)  # calls seed_parts itself
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
