"""The double-entry ledger (accounts, transactions, entries), settlement runs and rules,
monthly statements with their lines and comments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow

MONEY = Numeric(14, 2)


class LedgerAccount(Base):
    """An account: a party's current account, a network's deposit, a cost or cash account."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # asset | liability | expense | income
    name: Mapped[str] = mapped_column(String(100))
    network_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"), index=True)
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)


class LedgerTransaction(Base):
    """One balanced posting; append-only. A correction is a new transaction that reverses
    an old one (`reverses_id`), never an edit."""

    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # settlement | reversal | deposit | payment | receipt
    description: Mapped[str] = mapped_column(String(200), default="")
    # What the description means, read in each reader's language (settlement/memos.py).
    description_parts: Mapped[list[Any] | None] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_runs.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), unique=True
    )
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM, Asia/Shanghai
    posted_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", lazy="selectin", order_by="LedgerEntry.id"
    )


class LedgerEntry(Base):
    """One side of a posting: positive is a debit, negative a credit.

    `kind` says what the line is for (service_fee, mileage, parts, engineer_pay, incentive,
    penalty, deposit, payment ...) and `rule` which settlement rule made it, for drill-down.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    kind: Mapped[str] = mapped_column(String(24))
    rule: Mapped[str] = mapped_column(String(48), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")
    # What the memo means, read in each reader's language (portal/settlement/memos.py);
    # None on lines written before, whose `memo` is shown as written.
    memo_parts: Mapped[list[Any] | None] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship(lazy="joined")


class SettlementRun(Base):
    """One settlement of a month; its idempotency key makes a second run a no-op."""

    __tablename__ = "settlement_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    started_by: Mapped[str] = mapped_column(String(64))
    tickets_settled: Mapped[int] = mapped_column(Integer, default=0)
    tickets_corrected: Mapped[int] = mapped_column(Integer, default=0)
    transactions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettlementRule(Base):
    """An incentive or penalty: when `trigger` fires (past `threshold`), `party` gets
    `amount` (positive: a reward, negative: a deduction)."""

    __tablename__ = "settlement_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    trigger: Mapped[str] = mapped_column(String(32))
    party: Mapped[str] = mapped_column(String(16))  # network | engineer
    threshold: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    effective_from: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Statement(Base):
    """A month's statement of a network or an engineer.

    draft -> confirmed (by the network) -> approved (finance) -> paid; a dispute sends it
    to `disputed` until finance answers and it is regenerated as a draft."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("party", "network_id", "engineer_id", "period", name="uq_statement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    party: Mapped[str] = mapped_column(String(16))  # network | engineer
    network_id: Mapped[int] = mapped_column(ForeignKey("service_networks.id"), index=True)
    # 0 for a network's statement, so the unique constraint holds (NULLs never clash).
    engineer_id: Mapped[int] = mapped_column(Integer, default=0)
    period: Mapped[str] = mapped_column(String(7), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # kind -> amount (str)
    payment_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    paid_by: Mapped[str | None] = mapped_column(String(64))

    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement",
        lazy="selectin",
        order_by="StatementLine.id",
        cascade="all, delete-orphan",
    )
    comments: Mapped[list[StatementComment]] = relationship(
        back_populates="statement", lazy="selectin", order_by="StatementComment.id"
    )


class StatementLine(Base):
    """One ledger entry on a statement, as the party reads it (positive: paid to them).

    An entry is on at most one statement (unique), so nothing is paid twice."""

    __tablename__ = "statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    rule: Mapped[str] = mapped_column(String(48), default="")
    memo: Mapped[str] = mapped_column(String(200), default="")
    memo_parts: Mapped[list[Any] | None] = mapped_column(JSON)  # as its ledger entry's
    amount: Mapped[Decimal] = mapped_column(MONEY)

    statement: Mapped[Statement] = relationship(back_populates="lines")


class StatementComment(Base):
    """A remark on a statement: a dispute, finance's answer, or a note."""

    __tablename__ = "statement_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # dispute | resolve | note
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    statement: Mapped[Statement] = relationship(back_populates="comments")


def _append_only(session: Session, _context: object, _instances: object) -> None:
    """Ledger rows are never edited or deleted: a correction is a reversing transaction."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, LedgerTransaction | LedgerEntry) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise RuntimeError("the ledger is append-only")


event.listen(Session, "before_flush", _append_only)
