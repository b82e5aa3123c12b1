"""Issue 18, finding 9: the ledger's promises held by the database, not only the ORM.

Append-only against Core and plain SQL (triggers, migration 0007c); an idempotency key
replayed with other money is refused; deposit deductions racing on threads never overdraw
(SELECT ... FOR UPDATE on PostgreSQL, SQLite's write lock), on both databases.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.database import Database
from portal.errors import Conflict
from portal.security import Principal
from portal.settlement import ledger
from portal.settlement import service as settlement
from portal.settlement.ledger import Posting
from portal.settlement.models import LedgerEntry, LedgerTransaction
from tests.portal import factories as f

FINANCE = Principal(kind="staff", role="finance", name="fin")
BANK_TO_STOCK = [Posting("platform:bank", "inventory:parts", Decimal("5"), "adjustment")]


def _post_one(db: Database, key: str = "one") -> None:
    with db.session() as s:
        ledger.post(
            s, key=key, kind="settlement", period="2026-03", postings=BANK_TO_STOCK, actor="t"
        )


@pytest.mark.parametrize(
    "statement",
    [
        update(LedgerEntry).values(amount=Decimal("6.00")),
        update(LedgerTransaction).values(description="edited"),
        delete(LedgerEntry),
        delete(LedgerTransaction),
        text("UPDATE ledger_entries SET amount = 0"),
        text("DELETE FROM ledger_transactions"),
    ],
    ids=[
        "core-update-entry",
        "core-update-txn",
        "core-delete-entry",
        "core-delete-txn",
        "sql-update",
        "sql-delete",
    ],
)
def test_the_database_refuses_edits_and_deletes(db: Database, statement: object) -> None:
    _post_one(db)
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(statement)  # type: ignore[call-overload]
        conn.rollback()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2
        assert {e.amount for e in s.scalars(select(LedgerEntry))} == {Decimal("5"), Decimal("-5")}


def test_truncate_is_refused_on_postgresql(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused above")
    _post_one(db)
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("TRUNCATE ledger_entries CASCADE"))
        conn.rollback()


def test_a_key_replayed_with_other_money_is_refused(db: Database) -> None:
    _post_one(db)
    other = [
        [Posting("platform:bank", "inventory:parts", Decimal("50"), "adjustment")],
        [Posting("platform:bank", "mfr:parts_cost", Decimal("5"), "adjustment")],
        [Posting("platform:bank", "inventory:parts", Decimal("5"), "adjustment", rule="x")],
        BANK_TO_STOCK * 2,
    ]
    for postings in other:
        with db.session() as s:
            with pytest.raises(Conflict) as refused:
                ledger.post(
                    s, key="one", kind="settlement", period="2026-03", postings=postings, actor="t"
                )
            assert refused.value.key == "error.idempotency_conflict"
    with db.session() as s, pytest.raises(Conflict):
        ledger.post(
            s, key="one", kind="deposit", period="2026-03", postings=BANK_TO_STOCK, actor="t"
        )
    # The same money with other words (period, actor, memo) is the same request: the first
    # answer, nothing new.
    with db.session() as s:
        first = s.scalars(select(LedgerTransaction)).one()
        again, created = ledger.post(
            s,
            key="one",
            kind="settlement",
            period="2026-04",
            postings=[
                Posting("platform:bank", "inventory:parts", Decimal("5.00"), "adjustment", memo="m")
            ],
            actor="someone else",
            description="retried",
        )
        assert again.id == first.id and not created
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 1


def test_a_deposit_key_replayed_with_another_amount_is_refused(db: Database) -> None:
    with db.session() as s:
        network = f.network(s)
        net_id = network.id
    with db.session() as s:
        settlement.move_deposit(
            s,
            network_id=net_id,
            action="receive",
            amount=Decimal("100"),
            key="r1",
            principal=FINANCE,
        )
    with db.session() as s, pytest.raises(Conflict):
        settlement.move_deposit(
            s,
            network_id=net_id,
            action="receive",
            amount=Decimal("1000"),
            key="r1",
            principal=FINANCE,
        )
    with db.session() as s:
        assert settlement.deposit_balance(s, network_id=net_id) == Decimal("100.00")


def _race(db: Database, workers: int, work: object) -> list[str]:
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            with db.session() as s:
                work(s, i)  # type: ignore[operator]
            result = "ok"
        except Conflict as exc:
            result = exc.key
        except Exception as exc:  # noqa: BLE001 - reported below, as the test's failure
            result = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_racing_deductions_never_overdraw_the_deposit(db: Database) -> None:
    with db.session() as s:
        net_id = f.network(s).id
    with db.session() as s:
        settlement.move_deposit(
            s,
            network_id=net_id,
            action="receive",
            amount=Decimal("100"),
            key="in",
            principal=FINANCE,
        )

    def deduct(s: object, i: int) -> None:
        settlement.move_deposit(
            s,  # type: ignore[arg-type]
            network_id=net_id,
            action="deduct",
            amount=Decimal("30"),
            key=f"out-{i}",
            principal=FINANCE,
        )

    outcomes = _race(db, 8, deduct)
    assert Counter(outcomes) == {"ok": 3, "settlement.deposit_short": 5}, outcomes
    with db.session() as s:
        assert settlement.deposit_balance(s, network_id=net_id) == Decimal("10.00")
        assert ledger.unbalanced_transactions(s) == []


def test_racing_replays_of_one_key_post_once(db: Database) -> None:
    def post(s: object, _i: int) -> None:
        ledger.post(
            s,  # type: ignore[arg-type]
            key="same",
            kind="settlement",
            period="2026-03",
            postings=BANK_TO_STOCK,
            actor="t",
        )

    outcomes = _race(db, 6, post)
    assert outcomes == ["ok"] * 6, outcomes
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 1
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 2
