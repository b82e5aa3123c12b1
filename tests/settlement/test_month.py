"""A month of fixed tickets, settled and checked line by line against a hand computation.

Rate card STD: repair in warranty 80 to the network / 40 to the engineer with one hour on
site included and 30 / 15 per hour beyond (charged by started half hour); out of warranty
the customer pays the network, the engineer gets 35; mileage bands 0–10 km nothing, 10–30 km
20 / 10, 30+ km 50 / 25. Default rules (portal.settlement.service.DEFAULT_RULES).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from portal.database import Database
from portal.settlement import flows, ledger
from portal.settlement import service as settlement
from portal.settlement.models import LedgerEntry, LedgerTransaction, Statement
from tests.settlement.month import build_month

D = Decimal

NETWORK = [
    ("T1", "service_fee", "", D("80.00")),
    ("T1", "incentive", "rating_high_network", D("5.00")),
    ("T2", "service_fee", "", D("80.00")),
    ("T2", "labour_time", "", D("30.00")),  # 95 min: 35 over the hour, 2 half hours x 15
    ("T2", "mileage", "", D("20.00")),  # 12 km
    ("T2", "penalty", "sla_response_network", D("-10.00")),  # accepted after 25 min
    ("T2", "penalty", "sla_arrival_network", D("-20.00")),  # on site 300 min after that
    ("T3", "parts", "", D("-180.00")),  # out of warranty: the board at cost
    ("T3", "penalty", "rating_low_network", D("-20.00")),
    ("T4", "service_fee", "", D("80.00")),
    ("T4", "penalty", "repeat_repair_network", D("-40.00")),  # T1's unit again in 10 days
    ("T5", "service_fee", "", D("80.00")),
    ("T5", "incentive", "rating_high_network", D("5.00")),
    ("T5", "penalty", "complaint_network", D("-50.00")),  # about T2
]
E1 = [
    ("T1", "service_fee", "", D("40.00")),
    ("T1", "incentive", "rating_high_engineer", D("10.00")),
    ("T2", "service_fee", "", D("40.00")),
    ("T2", "labour_time", "", D("15.00")),
    ("T2", "mileage", "", D("10.00")),
    ("T2", "penalty", "sla_arrival_engineer", D("-10.00")),
    ("T3", "service_fee", "", D("35.00")),
    ("T3", "mileage", "", D("25.00")),  # 35 km
    ("T3", "penalty", "rating_low_engineer", D("-20.00")),
    ("T4", "service_fee", "", D("40.00")),
    ("T4", "penalty", "repeat_repair_engineer", D("-20.00")),
    ("T5", "penalty", "complaint_engineer", D("-30.00")),  # E1 did T2
]
E2 = [
    ("T5", "service_fee", "", D("40.00")),
    ("T5", "incentive", "rating_high_engineer", D("10.00")),
]


def _lines(st: Statement, names: dict[int, str]) -> list[tuple[str, str, str, Decimal]]:
    return sorted((names[ln.ticket_id], ln.kind, ln.rule, ln.amount) for ln in st.lines)  # type: ignore[index]


def test_a_month_settles_to_the_hand_computed_statements(db: Database) -> None:
    with db.session() as s:
        month = build_month(s)
        names = {tk.id: name for name, tk in month.tickets.items()}
        run, created = flows.run_settlement(s, period="2026-03", key="march-1", actor="finance")
        assert created and run.tickets_settled == 5 and run.tickets_corrected == 0
        sts = {
            (st.party, st.engineer_id): st for st in settlement.list_statements(s, period="2026-03")
        }
        assert set(sts) == {("network", 0), ("engineer", month.e1.id), ("engineer", month.e2.id)}
        net, e1, e2 = sts["network", 0], sts["engineer", month.e1.id], sts["engineer", month.e2.id]
        assert _lines(net, names) == sorted(NETWORK)
        assert _lines(e1, names) == sorted(E1)
        assert _lines(e2, names) == sorted(E2)
        assert (net.total, e1.total, e2.total) == (D("60.00"), D("135.00"), D("50.00"))
        assert net.summary == {
            "incentive": "10.00",
            "labour_time": "30.00",
            "mileage": "20.00",
            "parts": "-180.00",
            "penalty": "-140.00",
            "service_fee": "320.00",
        }
        # The manufacturer bore the warranty pump (45 at cost); the ledger balances.
        assert ledger.balance(s, "mfr:parts_cost") == D("45.00")
        assert ledger.unbalanced_transactions(s) == []
        assert sum((b for _, b in ledger.trial_balance(s)), ledger.ZERO) == 0
        # The customer's out-of-warranty quote: labour 100 + 35 km 50 + board 260.
        from portal.fees import service as fees

        (quote,) = fees.quotes_of(s, ticket_id=month.tickets["T3"].id)
        assert quote.total == D("410.00") and quote.status == "accepted"
        # Evaluated tickets now wait for settlement (lifecycle t8); April's is untouched.
        assert {tk.status for n, tk in month.tickets.items() if n != "T6"} == {"pending_settlement"}
        assert month.tickets["T6"].status == "evaluated"
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
        txns = s.scalar(select(func.count()).select_from(LedgerTransaction))

        # Running again, under the same key or a new one, writes nothing.
        again, created = flows.run_settlement(s, period="2026-03", key="march-1", actor="finance")
        assert again.id == run.id and not created
        other, created = flows.run_settlement(s, period="2026-03", key="march-2", actor="finance")
        assert created and other.tickets_settled == 0 and other.transactions == 0
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == entries
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == txns
        assert net.total == D("60.00") and len(net.lines) == len(NETWORK)
