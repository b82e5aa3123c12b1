"""The double-entry ledger: accounts by code, balanced idempotent postings, reversals.

Every amount is a Decimal with two places; a posting whose entries do not sum to zero is
refused before anything is written. Transactions and entries are append-only: the database
refuses UPDATE and DELETE on them (triggers, migration 0007c) and a flush hook says so early;
a correction is a reversing transaction. Each posting carries an idempotency key (unique), so
posting the same thing twice returns the first one, and the same key with other money
movements is refused (409), as tickets compare their request hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import Lang, t
from portal.networks.models import Engineer, ServiceNetwork
from portal.settlement import memos
from portal.settlement.models import LedgerAccount, LedgerEntry, LedgerTransaction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PERIOD_ZONE = ZoneInfo("Asia/Shanghai")

# The manufacturer's (platform's) own accounts: code -> (kind, name); the names in both
# languages are `ledger.account.<code>` in portal/i18n.py.
HOUSE_ACCOUNTS: dict[str, tuple[str, str]] = {
    code: (kind, t(f"ledger.account.{code}"))
    for code, kind in (
        ("mfr:service_cost", "expense"),
        ("mfr:parts_cost", "expense"),
        ("mfr:penalty_income", "income"),
        ("inventory:parts", "asset"),
        ("platform:bank", "asset"),
        # Cost centres of in-warranty work (portal/costs): the factory carries quality
        # problems, the market and sales centre everything else; parts, labour and logistics.
        ("cc:factory:parts", "expense"),
        ("cc:factory:labour", "expense"),
        ("cc:factory:logistics", "expense"),
        ("cc:sales:parts", "expense"),
        ("cc:sales:labour", "expense"),
        ("cc:sales:logistics", "expense"),
    )
}
_NETWORK_KINDS = {
    "": "liability",
    "deposit": "liability",
    "labour": "expense",
    "cash": "asset",
    "revenue": "income",
}


def money(value: Decimal | int | str) -> Decimal:
    """A money amount rounded to the cent; floats are refused, not converted."""
    if isinstance(value, float):  # pragma: no cover - a programming error, loudly
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(CENT)


def period_of(at: datetime) -> str:
    """The settlement month (YYYY-MM) of a moment, on the China calendar."""
    return at.astimezone(PERIOD_ZONE).strftime("%Y-%m")


def account(session: Session, code: str) -> LedgerAccount:
    """The account with this code, opened on first use."""
    row = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if row is not None:
        return row
    kind, name, network_id, engineer_id = _describe(session, code)
    row = LedgerAccount(
        code=code, kind=kind, name=name, network_id=network_id, engineer_id=engineer_id
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Opened by a concurrent caller between our look and our insert: theirs stands.
        existing = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one()
        return existing
    return row


def lock_account(session: Session, code: str) -> LedgerAccount:
    """The account, locked until this transaction ends, so a balance read after this holds
    until our posting is written: SELECT ... FOR UPDATE on PostgreSQL; on SQLite a no-op
    UPDATE, which takes the database's single write lock before the read."""
    row = account(session, code)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(LedgerAccount.id).where(LedgerAccount.id == row.id).with_for_update()
        )
    else:
        session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == row.id)
            .values(code=LedgerAccount.code)
            .execution_options(synchronize_session=False)
        )
    return row


def _describe(session: Session, code: str) -> tuple[str, str, int | None, int | None]:
    if code in HOUSE_ACCOUNTS:
        kind, name = HOUSE_ACCOUNTS[code]
        return kind, name, None, None
    parts = code.split(":")
    if parts[0] == "network" and len(parts) in (2, 3) and parts[1].isdigit():
        net = session.get(ServiceNetwork, int(parts[1]))
        label = net.name if net else parts[1]
        sub = parts[2] if len(parts) == 3 else ""
        kind = _NETWORK_KINDS[sub]
        return kind, t(_name_key(code), name=label), int(parts[1]), None
    if parts[0] == "engineer" and len(parts) == 2 and parts[1].isdigit():
        eng = session.get(Engineer, int(parts[1]))
        return (
            "liability",
            t(_name_key(code), name=eng.name if eng else parts[1]),
            eng.network_id if eng else None,
            int(parts[1]),
        )
    raise ValueError(f"unknown account code {code!r}")


def _name_key(code: str) -> str:
    """The message an account's name is made with: its own, or its party's with their name."""
    parts = code.split(":")
    if parts[0] == "network":
        return "ledger.account.network" + (f".{parts[2]}" if len(parts) == 3 else "")
    if parts[0] == "engineer":
        return "ledger.account.engineer"
    return f"ledger.account.{code}"


def account_label(row: LedgerAccount, lang: Lang = "zh") -> str:
    """An account's name in `lang`. Names are kept in Chinese; a party's account is named
    after the party, whose name is read back out of it."""
    if lang == "zh" or row.code.split(":")[0] not in ("network", "engineer", *_HOUSE_HEADS):
        return row.name
    key = _name_key(row.code)
    if row.code in HOUSE_ACCOUNTS:
        return t(key, lang)
    prefix, suffix = t(key, "zh", name="\0").split("\0")
    if not (row.name.startswith(prefix) and row.name.endswith(suffix)):
        return row.name  # renamed by hand: as it stands
    return t(key, lang, name=row.name[len(prefix) : len(row.name) - len(suffix)])


_HOUSE_HEADS = tuple({code.split(":")[0] for code in HOUSE_ACCOUNTS})


def network_account(network_id: int, sub: str = "") -> str:
    """The code of a network's account ("" current account, deposit, labour, cash, revenue)."""
    return f"network:{network_id}" + (f":{sub}" if sub else "")


def engineer_account(engineer_id: int) -> str:
    """The code of an engineer's pay account."""
    return f"engineer:{engineer_id}"


@dataclass(frozen=True, slots=True)
class Posting:
    """Money moving from one account to another: debit `debit`, credit `credit`.

    `memo_parts` says what the memo means (portal/settlement/memos.py), read in each
    reader's language; `memo` is its Chinese sentence, or words typed by a person."""

    debit: str
    credit: str
    amount: Decimal
    kind: str
    rule: str = ""
    memo: str = ""
    ticket_id: int | None = None
    memo_parts: tuple[memos.Segment, ...] = field(default=())


def find(session: Session, key: str) -> LedgerTransaction | None:
    """The transaction posted under an idempotency key, if any."""
    return session.scalars(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
    ).first()


def post(
    session: Session,
    *,
    key: str,
    kind: str,
    period: str,
    postings: Sequence[Posting],
    actor: str,
    description: str = "",
    description_parts: Sequence[memos.Segment] = (),
    ticket_id: int | None = None,
    run_id: int | None = None,
    reverses_id: int | None = None,
    at: datetime | None = None,
) -> tuple[LedgerTransaction, bool]:
    """Post a balanced transaction once per key; returns it and whether it is new.

    A key already posted with other money movements (accounts, amounts, kinds, rules,
    ticket) is refused with 409; what only describes the posting (period, run, actor,
    description, memo, time) may differ on a replay. `description_parts` says what the
    description means, for readers of either language (its Chinese goes in `description`)."""
    entries = []
    for p in postings:
        amount = money(p.amount)
        if amount == ZERO:
            continue
        memo = p.memo or memos.render(p.memo_parts, "zh")
        for code, signed in ((p.debit, amount), (p.credit, -amount)):
            entries.append(
                LedgerEntry(
                    account_id=account(session, code).id,
                    amount=signed,
                    kind=p.kind,
                    rule=p.rule,
                    memo=memo[:200],
                    memo_parts=list(p.memo_parts) or None,
                    ticket_id=p.ticket_id if p.ticket_id is not None else ticket_id,
                )
            )
    txn = LedgerTransaction(
        idempotency_key=key,
        kind=kind,
        description=(description or memos.render(description_parts, "zh"))[:200],
        description_parts=list(description_parts) or None,
        ticket_id=ticket_id,
        run_id=run_id,
        reverses_id=reverses_id,
        period=period,
        posted_by=actor,
        created_at=at or utcnow(),
    )
    existing = find(session, key)
    if existing is not None:
        return _replayed(existing, txn, entries), False
    return _insert(session, txn=txn, entries=entries)


def _fingerprint(txn: LedgerTransaction, entries: Sequence[LedgerEntry]) -> tuple[object, ...]:
    # The money a posting moves, order aside: what a replay of its key must repeat.
    lines = sorted(
        (e.account_id, str(money(e.amount)), e.kind, e.rule, e.ticket_id) for e in entries
    )
    return (txn.kind, txn.ticket_id, txn.reverses_id, tuple(lines))


def _replayed(
    existing: LedgerTransaction, txn: LedgerTransaction, entries: Sequence[LedgerEntry]
) -> LedgerTransaction:
    """The transaction posted under the key, when the replay moves the same money; else 409."""
    if _fingerprint(existing, existing.entries) != _fingerprint(txn, entries):
        raise Conflict("error.idempotency_conflict")
    return existing


def _insert(
    session: Session, *, txn: LedgerTransaction, entries: list[LedgerEntry]
) -> tuple[LedgerTransaction, bool]:
    if sum((e.amount for e in entries), ZERO) != ZERO:
        raise Invalid("settlement.unbalanced")
    try:
        with session.begin_nested():
            session.add(txn)
            session.flush()
            for e in entries:
                e.transaction_id = txn.id
            session.add_all(entries)
            session.flush()
    except IntegrityError:
        # Posted under the same key by a concurrent caller: theirs stands, if it is ours too.
        existing = find(session, txn.idempotency_key)
        if existing is None:
            raise
        return _replayed(existing, txn, entries), False
    session.refresh(txn, ["entries"])
    return txn, True


def reverse(
    session: Session,
    *,
    txn: LedgerTransaction,
    actor: str,
    period: str,
    run_id: int | None = None,
    reason: str = "",
    reason_parts: Sequence[memos.Segment] = (),
    at: datetime | None = None,
) -> tuple[LedgerTransaction, bool]:
    """Cancel a transaction by posting its mirror image (once: the key is the original's);
    `reason` (words typed by a person) or `reason_parts` says why."""
    if txn.kind == "reversal":
        raise Conflict("settlement.reverse_reversal")
    key = f"reverse:{txn.id}"
    existing = find(session, key)
    if existing is not None:
        return existing, False
    parts = tuple(reason_parts) or (memos.said("settlement.reverses_txn", id=txn.id),)
    mirror = [
        LedgerEntry(
            account_id=e.account_id,
            amount=-e.amount,
            kind=e.kind,
            rule=e.rule,
            memo=e.memo,
            memo_parts=e.memo_parts,
            ticket_id=e.ticket_id,
        )
        for e in txn.entries
    ]
    return _insert(
        session,
        txn=LedgerTransaction(
            idempotency_key=key,
            kind="reversal",
            description=(reason or memos.render(parts, "zh"))[:200],
            description_parts=list(parts) if not reason else None,
            ticket_id=txn.ticket_id,
            run_id=run_id,
            reverses_id=txn.id,
            period=period,
            posted_by=actor,
            created_at=at or utcnow(),
        ),
        entries=mirror,
    )


def get_transaction(session: Session, *, transaction_id: int) -> LedgerTransaction:
    """A transaction by id."""
    row = session.get(LedgerTransaction, transaction_id)
    if row is None:
        raise NotFound("object.transaction")
    return row


# Sums are taken here, not in SQL: SQLite keeps NUMERIC as binary floating point, and
# adding those up in the database would bring float error into money.


def balance(session: Session, code: str) -> Decimal:
    """The account's balance (debits minus credits); zero for one never used."""
    amounts = session.scalars(
        select(LedgerEntry.amount)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code == code)
    )
    return sum(amounts, ZERO)


def trial_balance(session: Session) -> list[tuple[LedgerAccount, Decimal]]:
    """Every account with its balance; the balances sum to zero."""
    totals: dict[int, Decimal] = {}
    for account_id, amount in session.execute(select(LedgerEntry.account_id, LedgerEntry.amount)):
        totals[account_id] = totals.get(account_id, ZERO) + amount
    accounts = session.scalars(select(LedgerAccount).order_by(LedgerAccount.code))
    return [(acc, totals.get(acc.id, ZERO)) for acc in accounts]


def unbalanced_transactions(session: Session) -> list[int]:
    """Ids of transactions whose entries do not sum to zero (there should be none)."""
    totals: dict[int, Decimal] = {}
    for txn_id, amount in session.execute(select(LedgerEntry.transaction_id, LedgerEntry.amount)):
        totals[txn_id] = totals.get(txn_id, ZERO) + amount
    return sorted(t for t, total in totals.items() if total != ZERO)
