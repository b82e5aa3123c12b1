"""A 伞下店's jobs settle through its parent network: the parent's monthly statement lists
them, marked with the outlet's name, and the outlet gets no statement of its own (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from portal.database import Database
from portal.settlement import flows
from portal.settlement import service as settlement
from tests.parts.world import catalogue, full_repair, rate_card, walk
from tests.portal import factories as f

D = Decimal


def test_an_outlets_job_is_on_its_parents_statement_marked(db: Database) -> None:
    with db.session() as s:
        catalogue(s)
        rate_card(s)
        parent = f.network(s, name="上海浦东服务中心")
        outlet = f.network(s, name="川沙伞下店", kind="sub", parent_id=parent.id)
        own = f.engineer(s, network=parent, name="刘一")
        sub = f.engineer(s, network=outlet, name="张三")
        model = f.product_model(s, warranty_months=36)
        c1, c2 = (f.customer(s, with_asset=False) for _ in range(2))
        a1, a2 = (f.asset(s, customer=c, model=model) for c in (c1, c2))
        start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        t_own = walk(
            s,
            customer=c1,
            engineer=own,
            start=start,
            steps=full_repair(3),
            serial_number=a1.serial_number,
        )
        t_sub = walk(
            s,
            customer=c2,
            engineer=sub,
            start=start,
            steps=full_repair(3),
            serial_number=a2.serial_number,
        )
        assert t_sub.network_id == outlet.id
        run, created = flows.run_settlement(s, period="2026-03", key="m", actor="finance")
        assert created and run.tickets_settled == 2

        networks = settlement.list_statements(s, period="2026-03", party="network")
        # One network statement: the parent's; the outlet has none.
        assert [st.network_id for st in networks] == [parent.id]
        (st,) = networks
        by_ticket = {
            tid: [ln for ln in st.lines if ln.ticket_id == tid] for tid in (t_own.id, t_sub.id)
        }
        # Same rate card, same job: the outlet's service fee equals the parent's own (80).
        assert [(ln.kind, ln.amount) for ln in by_ticket[t_sub.id]] == [("service_fee", D("80.00"))]
        assert [(ln.kind, ln.amount) for ln in by_ticket[t_own.id]] == [("service_fee", D("80.00"))]
        assert all(ln.memo.startswith("伞下店 川沙伞下店 · ") for ln in by_ticket[t_sub.id])
        assert not any("伞下店" in ln.memo for ln in by_ticket[t_own.id])
        assert st.total == D("160.00")
        # The outlet's engineer still gets their own statement, under the outlet.
        engineers = settlement.list_statements(s, period="2026-03", party="engineer")
        assert {(e.engineer_id, e.network_id) for e in engineers} == {
            (own.id, parent.id),
            (sub.id, outlet.id),
        }
