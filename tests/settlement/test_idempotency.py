"""Settlement is idempotent: a run replays by its key, a new run over the same tickets posts
nothing (also over tickets the evaluation hook already settled), a changed rule posts a
reversal and a corrected version (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.database import Database
from portal.security import Principal
from portal.settlement import flows, ledger
from portal.settlement import service as settlement
from portal.settlement.models import LedgerEntry, LedgerTransaction
from tests.conftest import _truncate
from tests.parts.world import full_repair, rate_card, walk
from tests.portal import factories as f
from tests.settlement.month import build_month

MANAGER = Principal(kind="staff", role="network_manager", name="nm", network_id=0)

job = st.tuples(
    st.integers(1, 5),  # score
    st.integers(1, 40),  # minutes to accept
    st.integers(30, 400),  # minutes from acceptance to arrival
    st.integers(10, 200),  # minutes on site
    st.integers(0, 60),  # km
    st.booleans(),  # in warranty
    st.booleans(),  # rated through the lifecycle, whose hook settles it at once
)


def _counts(s) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return (
        s.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
        s.scalar(select(func.count()).select_from(LedgerTransaction)) or 0,
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    jobs=st.lists(job, min_size=1, max_size=4),
    keys=st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=5),
)
def test_settlement_is_idempotent(db: Database, jobs: list, keys: list[str]) -> None:  # type: ignore[type-arg]
    _truncate(db)
    with db.session() as s:
        rate_card(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        made = []
        for i, (score, respond, arrive, on_site, km, covered, hooked) in enumerate(jobs):
            customer = f.customer(s, with_asset=False)
            model = f.product_model(s, warranty_months=36 if covered else 1)
            unit = f.asset(s, customer=customer, model=model)
            ticket = walk(
                s,
                customer=customer,
                engineer=eng,
                start=start + timedelta(days=i),
                steps=full_repair(score, respond=respond, arrive=arrive, on_site=on_site),
                serial_number=unit.serial_number,
            )
            ticket.details = {**ticket.details, "distance_km": str(km)}
            s.flush()
            made.append(ticket)
            if hooked:
                flows.post_evaluated(s, ticket=ticket, action="evaluate")
                assert ticket.status == "evaluated"  # finance (or the run) moves it on
        s.flush()
        first, created = flows.run_settlement(s, period="2026-03", key=keys[0], actor="fin")
        assert created
        after_first = _counts(s)
        for key in keys[1:]:
            run, created = flows.run_settlement(s, period="2026-03", key=key, actor="fin")
            assert run.tickets_settled == 0 or not created
            assert run.transactions == 0 or run.id == first.id
            assert _counts(s) == after_first
        assert ledger.unbalanced_transactions(s) == []
        # Every ticket with lines waits for settlement, however it was first posted.
        for ticket in made:
            posted = flows.ticket_entries(s, ticket_id=ticket.id)
            assert len(posted) <= 1
            assert ticket.status == ("pending_settlement" if posted else "evaluated")
        # The network's statement is exactly what its account says it is owed.
        stated = settlement.list_statements(s, period="2026-03", party="network")
        owed = -ledger.balance(s, ledger.network_account(net.id))
        assert sum((x.total for x in stated), ledger.ZERO) == owed


def test_a_changed_rule_is_corrected_by_reversal(db: Database) -> None:
    with db.session() as s:
        month = build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        (net,) = settlement.list_statements(s, period="2026-03", party="network")
        assert net.total == Decimal("60.00")
        settlement.save_rule(
            s,
            code="rating_high_network",
            trigger="high_rating",
            party="network",
            threshold=5,
            amount=Decimal("8.00"),
        )
        run, _ = flows.run_settlement(s, period="2026-03", key="m2", actor="fin")
        assert (run.tickets_settled, run.tickets_corrected) == (0, 2)  # T1 and T5
        t1 = month.tickets["T1"]
        txns = flows.ticket_entries(s, ticket_id=t1.id)
        assert [t.kind for t in txns] == ["settlement", "reversal", "settlement"]
        assert txns[1].reverses_id == txns[0].id
        assert txns[2].idempotency_key == f"settle:ticket:{t1.id}:v2"
        # The draft picked up the reversal and the new lines: +3 for each of the two.
        assert net.total == Decimal("66.00")
        assert ledger.unbalanced_transactions(s) == []
        # Once confirmed, a statement is frozen: later corrections go on next month's.
        settlement.act(
            s,
            statement=net,
            action="confirm",
            principal=Principal(
                kind="staff", role="network_manager", name="nm", network_id=month.network.id
            ),
        )
        settlement.save_rule(
            s,
            code="rating_high_network",
            trigger="high_rating",
            party="network",
            threshold=5,
            amount=Decimal("5.00"),
        )
        flows.run_settlement(s, period="2026-03", key="m3", actor="fin")
        assert net.total == Decimal("66.00") and net.status == "confirmed"
        (april,) = settlement.generate_statements(s, period="2026-04", network_id=month.network.id)[
            :1
        ]
        # April: the -6 correction, plus T6 (evaluated in April) is not settled yet.
        assert april.total == Decimal("-6.00")
