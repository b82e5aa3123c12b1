"""The double-entry ledger: every transaction balances, postings are idempotent, corrections
are reversals, nothing is edited; property-based over random postings (both databases)."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.database import Database
from portal.errors import Conflict, Invalid
from portal.security import Principal
from portal.settlement import ledger
from portal.settlement import service as settlement
from portal.settlement.ledger import Posting
from portal.settlement.models import LedgerEntry, LedgerTransaction
from tests.conftest import _truncate
from tests.portal import factories as f

FINANCE = Principal(kind="staff", role="finance", name="fin")
ACCOUNTS = ("mfr:service_cost", "mfr:parts_cost", "inventory:parts", "platform:bank")
cents = st.integers(min_value=-(10**9), max_value=10**9).map(lambda c: Decimal(c) / 100)
posting = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), cents)
txn = st.lists(posting, min_size=1, max_size=5)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    txns=st.lists(st.tuples(txn, st.booleans(), st.booleans()), min_size=1, max_size=8),
)
def test_the_ledger_always_balances(db: Database, txns: list) -> None:  # type: ignore[type-arg]
    _truncate(db)
    with db.session() as s:
        expected: dict[str, Decimal] = {}
        posted = []
        for i, (lines, repost, reverse) in enumerate(txns):
            ps = [Posting(d, c, a, "adjustment") for d, c, a in lines]
            t, created = ledger.post(
                s, key=f"k{i}", kind="settlement", period="2026-03", postings=ps, actor="p"
            )
            assert created
            for p in ps:
                expected[p.debit] = expected.get(p.debit, ledger.ZERO) + p.amount
                expected[p.credit] = expected.get(p.credit, ledger.ZERO) - p.amount
            posted.append(t)
            if repost:  # same key: the same transaction, nothing new
                again, created = ledger.post(
                    s, key=f"k{i}", kind="settlement", period="2026-03", postings=ps, actor="p"
                )
                assert again.id == t.id and not created
            if reverse and t.entries:
                r, _ = ledger.reverse(s, txn=t, actor="p", period="2026-03")
                assert sum((e.amount for e in r.entries), ledger.ZERO) == 0
                for p in ps:
                    expected[p.debit] -= p.amount
                    expected[p.credit] += p.amount
                # Reversed once only.
                assert ledger.reverse(s, txn=t, actor="p", period="2026-03")[0].id == r.id
        assert ledger.unbalanced_transactions(s) == []
        for code, amount in expected.items():
            assert ledger.balance(s, code) == amount
        assert sum((b for _, b in ledger.trial_balance(s)), ledger.ZERO) == 0
        for e in s.scalars(select(LedgerEntry)):
            assert isinstance(e.amount, Decimal) and e.amount == e.amount.quantize(ledger.CENT)


def test_an_unbalanced_or_float_posting_is_refused(db: Database) -> None:
    with db.session() as s:
        with pytest.raises(Invalid):
            ledger._insert(
                s,
                txn=LedgerTransaction(
                    idempotency_key="bad", kind="settlement", period="2026-03", posted_by="t"
                ),
                entries=[
                    LedgerEntry(
                        account_id=ledger.account(s, "platform:bank").id,
                        amount=Decimal("1.00"),
                        kind="x",
                    )
                ],
            )
        with pytest.raises(TypeError):
            ledger.money(1.5)  # type: ignore[arg-type]
        # The trap this folder runs under: a float turned into, or compared with, money fails.
        with pytest.raises(decimal.FloatOperation):
            Decimal(0.1)
        with pytest.raises(decimal.FloatOperation):
            assert Decimal("1.00") < 1.5
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_the_ledger_is_append_only(db: Database) -> None:
    with db.session() as s:
        ledger.post(
            s,
            key="one",
            kind="settlement",
            period="2026-03",
            postings=[Posting("platform:bank", "inventory:parts", Decimal("5"), "adjustment")],
            actor="t",
        )
    with db.session() as s:
        entry = s.scalars(select(LedgerEntry)).first()
        assert entry is not None
        entry.amount = Decimal("6.00")
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
        s.rollback()
        s.delete(s.scalars(select(LedgerTransaction)).one())
        with pytest.raises(RuntimeError, match="append-only"):
            s.flush()
        s.rollback()
        r, _ = ledger.reverse(
            s, txn=s.scalars(select(LedgerTransaction)).one(), actor="t", period="2026-03"
        )
        with pytest.raises(Conflict):
            ledger.reverse(s, txn=r, actor="t", period="2026-03")


def test_deposits_are_ledger_accounts(db: Database) -> None:
    with db.session() as s:
        net = f.network(s)
        settlement.move_deposit(
            s,
            network_id=net.id,
            action="receive",
            amount=Decimal("5000"),
            key="d1",
            principal=FINANCE,
        )
        settlement.move_deposit(  # a retry of the same request
            s,
            network_id=net.id,
            action="receive",
            amount=Decimal("5000"),
            key="d1",
            principal=FINANCE,
        )
        settlement.move_deposit(
            s,
            network_id=net.id,
            action="deduct",
            amount=Decimal("300.50"),
            key="d2",
            principal=FINANCE,
        )
        assert settlement.deposit_balance(s, network_id=net.id) == Decimal("4699.50")
        # The deduction is credited to the network's current account (it owes less).
        assert ledger.balance(s, ledger.network_account(net.id)) == Decimal("-300.50")
        with pytest.raises(Conflict):
            settlement.move_deposit(
                s,
                network_id=net.id,
                action="refund",
                amount=Decimal("5000"),
                key="d3",
                principal=FINANCE,
            )
        settlement.move_deposit(
            s,
            network_id=net.id,
            action="refund",
            amount=Decimal("4699.50"),
            key="d4",
            principal=FINANCE,
        )
        assert settlement.deposit_balance(s, network_id=net.id) == 0
        assert ledger.balance(s, "platform:bank") == Decimal("300.50")
        assert ledger.unbalanced_transactions(s) == []
