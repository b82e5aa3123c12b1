"""The open-ticket queries (backlog, exceptions, their drill-downs) find the few open tickets
through an index on SQLite, not by reading the whole year: with the statuses as bound values
its planner, after ANALYZE, preferred a scan of every fact row in network order (10 s at a
million tickets)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, text

from portal.analytics import service
from portal.analytics.models import TicketStageFact
from portal.database import Database
from tests.analytics.conftest import NOW, PERIOD
from tests.analytics.test_rollups import fact_row


def test_open_ticket_queries_use_an_index_on_sqlite(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query planner")
    rng = random.Random(5)
    rows = [fact_row(rng, i + 1) for i in range(4000)]
    for row in rows[:3900]:  # a year of tickets: nearly all of them long closed
        row["status"] = "closed"
    with db.session() as s:
        s.execute(delete(TicketStageFact))
        s.execute(insert(TicketStageFact), rows)
        s.execute(text("ANALYZE"))
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM ticket_stage_facts" in statement and "status IN" in statement:
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.session() as s:
            service.backlog(s, PERIOD, now=NOW)
            service.abnormal(s, PERIOD, now=NOW)
            service.ticket_rows(s, PERIOD, measure="backlog:24-48", now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) >= 3
    with db.session() as s:
        for statement, params in seen:
            plan = s.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            steps = [row[-1] for row in plan]
            # Reading all of the partial index of the pending tickets is fine: few rows.
            whole = [
                step
                for step in steps
                if step.startswith("SCAN ticket_stage_facts") and "ix_tsf_pending" not in step
            ]
            assert not whole, (
                statement,
                steps,
            )
