"""Settlement rules, monthly statements (draft -> confirmed -> approved -> paid, disputes),
their CSV and Excel exports, and network deposits (押金). Keyword-only; flushes, never commits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.i18n import Term, t
from portal.networks.models import Engineer, ServiceNetwork
from portal.security import Principal
from portal.settlement import ledger, memos, policies
from portal.settlement.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    SettlementRule,
    Statement,
    StatementComment,
    StatementLine,
)
from portal.tickets.models import Ticket

ZERO = ledger.ZERO
TRIGGERS = (
    "response_late",
    "arrival_late",
    "completion_late",
    "low_rating",
    "high_rating",
    "complaint",
    "repeat_repair",
)
PARTIES = ("network", "engineer")
# Entries that never appear on a statement: the payment of a statement itself.
NOT_ON_STATEMENTS = frozenset({"payment"})
LINE_KINDS = (
    "service_fee",
    "labour_time",
    "mileage",
    "parts",
    "incentive",
    "penalty",
    "deposit",
    "adjustment",
)


# ---- rules -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A default rule: code, trigger, party, threshold and signed amount."""

    code: str
    trigger: str
    party: str
    threshold: int
    amount: str


# Thresholds: minutes for the SLA triggers, the score for ratings (<= low, >= high), days
# for complaints and repeat repairs. Amounts: positive rewards, negative deductions.
DEFAULT_RULES: tuple[RuleSpec, ...] = (
    RuleSpec("sla_response_network", "response_late", "network", 10, "-10.00"),
    RuleSpec("sla_arrival_network", "arrival_late", "network", 240, "-20.00"),
    RuleSpec("sla_arrival_engineer", "arrival_late", "engineer", 240, "-10.00"),
    RuleSpec("sla_completion_network", "completion_late", "network", 1440, "-30.00"),
    RuleSpec("sla_completion_engineer", "completion_late", "engineer", 1440, "-15.00"),
    RuleSpec("rating_low_network", "low_rating", "network", 2, "-20.00"),
    RuleSpec("rating_low_engineer", "low_rating", "engineer", 2, "-20.00"),
    RuleSpec("rating_high_network", "high_rating", "network", 5, "5.00"),
    RuleSpec("rating_high_engineer", "high_rating", "engineer", 5, "10.00"),
    RuleSpec("complaint_network", "complaint", "network", 30, "-50.00"),
    RuleSpec("complaint_engineer", "complaint", "engineer", 30, "-30.00"),
    RuleSpec("repeat_repair_network", "repeat_repair", "network", 30, "-40.00"),
    RuleSpec("repeat_repair_engineer", "repeat_repair", "engineer", 30, "-20.00"),
)


def ensure_default_rules(session: Session) -> None:
    """Install the default rules when none were ever configured."""
    if session.scalars(select(SettlementRule.id)).first() is not None:
        return
    session.add_all(
        SettlementRule(
            code=r.code,
            trigger=r.trigger,
            party=r.party,
            threshold=r.threshold,
            amount=Decimal(r.amount),
        )
        for r in DEFAULT_RULES
    )
    session.flush()


def active_rules(session: Session, *, on: date | None = None) -> list[SettlementRule]:
    """The rules in force (on a day, when given)."""
    ensure_default_rules(session)
    rules = session.scalars(
        select(SettlementRule).where(SettlementRule.active.is_(True)).order_by(SettlementRule.id)
    )
    return [r for r in rules if on is None or r.effective_from is None or r.effective_from <= on]


def list_rules(session: Session) -> list[SettlementRule]:
    """Every rule, active or not."""
    ensure_default_rules(session)
    return list(session.scalars(select(SettlementRule).order_by(SettlementRule.id)))


def save_rule(
    session: Session,
    *,
    code: str,
    trigger: str,
    party: str,
    threshold: int,
    amount: Decimal,
    active: bool = True,
    effective_from: date | None = None,
) -> SettlementRule:
    """Create or change a rule (tickets already settled keep their lines until re-settled)."""
    if trigger not in TRIGGERS:
        raise Invalid("validation.invalid", field="trigger")
    if party not in PARTIES:
        raise Invalid("validation.invalid", field="party")
    ensure_default_rules(session)
    rule = session.scalars(select(SettlementRule).where(SettlementRule.code == code)).first()
    if rule is None:
        rule = SettlementRule(code=code)
        session.add(rule)
    rule.trigger, rule.party, rule.threshold = trigger, party, threshold
    rule.amount, rule.active, rule.effective_from = ledger.money(amount), active, effective_from
    session.flush()
    return rule


# ---- statements --------------------------------------------------------------------------


def _party_account(party: str, network_id: int, engineer_id: int) -> str:
    if party == "network":
        return ledger.network_account(network_id)
    return ledger.engineer_account(engineer_id)


def _unstated_entries(session: Session, *, code: str, period: str) -> list[LedgerEntry]:
    """The account's entries up to the period that are on no statement yet."""
    stated = select(StatementLine.entry_id)
    return list(
        session.scalars(
            select(LedgerEntry)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                LedgerAccount.code == code,
                LedgerTransaction.period <= period,
                LedgerEntry.kind.not_in(NOT_ON_STATEMENTS),
                LedgerEntry.id.not_in(stated),
            )
            .order_by(LedgerEntry.ticket_id, LedgerEntry.id)
        )
    )


def _fill(statement: Statement, entries: Iterable[LedgerEntry]) -> None:
    for e in entries:
        statement.lines.append(
            StatementLine(
                entry_id=e.id,
                ticket_id=e.ticket_id,
                kind=e.kind,
                rule=e.rule,
                memo=e.memo,
                memo_parts=e.memo_parts,
                amount=-e.amount,  # a credit on the party's account is money owed to them
            )
        )
    totals: dict[str, Decimal] = {}
    for line in statement.lines:
        totals[line.kind] = totals.get(line.kind, ZERO) + line.amount
    statement.total = sum(totals.values(), ZERO)
    statement.summary = {k: str(v) for k, v in sorted(totals.items())}


def _parties(session: Session, *, period: str) -> list[tuple[str, int, int]]:
    """(party, network, engineer) of every account with entries up to the period."""
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.network_id, LedgerAccount.engineer_id)
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerTransaction.period <= period)
        .distinct()
    )
    out = set()
    for code, network_id, engineer_id in rows:
        parts = code.split(":")
        if parts[0] == "network" and len(parts) == 2 and network_id is not None:
            out.add(("network", network_id, 0))
        elif parts[0] == "engineer" and network_id is not None and engineer_id is not None:
            out.add(("engineer", network_id, engineer_id))
    return sorted(out)


def generate_statements(
    session: Session, *, period: str, network_id: int | None = None
) -> list[Statement]:
    """Draft (or refresh the drafts of) the month's statements of every network and engineer
    with entries on their account; a statement past draft is left alone, and what it missed
    goes on the next month's."""
    _check_period(period)
    out = []
    for party, net, eng in _parties(session, period=period):
        if network_id is not None and net != network_id:
            continue
        st = session.scalars(
            select(Statement).where(
                Statement.party == party,
                Statement.network_id == net,
                Statement.engineer_id == eng,
                Statement.period == period,
            )
        ).first()
        if st is not None and st.status != "draft":
            out.append(st)
            continue
        entries = _unstated_entries(session, code=_party_account(party, net, eng), period=period)
        if st is None:
            if not entries:
                continue
            suffix = f"N{net}" if party == "network" else f"E{eng}"
            st = Statement(
                number=f"JS{period.replace('-', '')}-{suffix}",
                party=party,
                network_id=net,
                engineer_id=eng,
                period=period,
                status="draft",
            )
            session.add(st)
        _fill(st, entries)
        session.flush()
        out.append(st)
    return out


def _check_period(period: str) -> None:
    ok = len(period) == 7 and period[4] == "-" and period[:4].isdigit() and period[5:].isdigit()
    if not ok or not 1 <= int(period[5:]) <= 12 or not 2000 <= int(period[:4]) <= 2099:
        raise Invalid("settlement.bad_period", field="period")


def list_statements(
    session: Session,
    *,
    period: str | None = None,
    party: str | None = None,
    network_id: int | None = None,
    engineer_id: int | None = None,
    status: str | None = None,
) -> list[Statement]:
    """Statements, newest month first."""
    stmt = select(Statement).order_by(
        Statement.period.desc(), Statement.party.desc(), Statement.network_id, Statement.engineer_id
    )
    if period:
        stmt = stmt.where(Statement.period == period)
    if party:
        stmt = stmt.where(Statement.party == party)
    if network_id is not None:
        stmt = stmt.where(Statement.network_id == network_id)
    if engineer_id is not None:
        stmt = stmt.where(Statement.engineer_id == engineer_id)
    if status:
        stmt = stmt.where(Statement.status == status)
    return list(session.scalars(stmt))


def visible_to(statement: Statement, principal: Principal) -> bool:
    """Whether the caller sees this statement (the settlement policy's rule)."""
    return policies.statement_visible(statement, principal)


def get_statement(
    session: Session, *, statement_id: int, principal: Principal | None = None
) -> Statement:
    """A statement by id; 404 also when the caller may not see it."""
    st = session.get(Statement, statement_id)
    if st is None or (principal is not None and not visible_to(st, principal)):
        raise NotFound("object.statement")
    return st


def party_name(session: Session, statement: Statement) -> str:
    """Whose statement it is, as people call them."""
    if statement.party == "engineer":
        eng = session.get(Engineer, statement.engineer_id)
        return eng.name if eng else str(statement.engineer_id)
    net = session.get(ServiceNetwork, statement.network_id)
    return net.name if net else str(statement.network_id)


# Workflow: action -> (statuses it starts from, where it leads, roles that may take it).
# action -> (the statuses it starts from, the status it leads to); who may take it is
# `policies.STEP_ROLES`.
WORKFLOW: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({"draft"}), "confirmed"),
    "dispute": (frozenset({"draft", "confirmed"}), "disputed"),
    "resolve": (frozenset({"disputed"}), "draft"),
    "approve": (frozenset({"confirmed"}), "approved"),
    "pay": (frozenset({"approved"}), "paid"),
}


def act(
    session: Session,
    *,
    statement: Statement,
    action: str,
    principal: Principal,
    comment: str = "",
    at: datetime | None = None,
) -> Statement:
    """Move a statement through its workflow; dispute and resolve need a comment. Paying
    posts the payment to the ledger (once) and settles the tickets it covers."""
    if action not in WORKFLOW:
        raise Invalid("error.unknown_action", field="action", action=action)
    sources, target = WORKFLOW[action]
    if not policies.may_take_step(principal, action) or not visible_to(statement, principal):
        raise Forbidden("error.forbidden")
    if statement.status not in sources:
        raise Conflict("settlement.bad_step", status=statement.status, action=action)
    if action in ("dispute", "resolve") and not comment.strip():
        raise Invalid(
            "validation.missing", field="comment", field_name=Term.key("field.statement_comment")
        )
    when = at or utcnow()
    if action == "confirm":
        statement.confirmed_by = principal.actor
    elif action == "approve":
        statement.approved_by = principal.actor
    elif action == "pay":
        _post_payment(session, statement=statement, actor=principal.actor, at=when)
        statement.paid_by = principal.actor
    if comment.strip():
        kind = action if action in ("dispute", "resolve") else "note"
        statement.comments.append(
            StatementComment(
                kind=kind, author=principal.actor, body=comment.strip(), created_at=when
            )
        )
    statement.status = target
    statement.updated_at = when
    session.flush()
    return statement


def add_comment(
    session: Session, *, statement: Statement, principal: Principal, body: str
) -> StatementComment:
    """A note on a statement."""
    if not body.strip():
        raise Invalid("validation.missing", field="body")
    row = StatementComment(
        statement_id=statement.id, kind="note", author=principal.actor, body=body.strip()
    )
    session.add(row)
    session.flush()
    return row


def _post_payment(session: Session, *, statement: Statement, actor: str, at: datetime) -> None:
    if statement.party == "network":
        party, payer = ledger.network_account(statement.network_id), "platform:bank"
    else:
        party = ledger.engineer_account(statement.engineer_id)
        payer = ledger.network_account(statement.network_id, "cash")
    txn, _ = ledger.post(
        session,
        key=f"pay:statement:{statement.id}",
        kind="payment",
        period=statement.period,
        # Debit the party's account by what it was owed (a negative total reverses the sides).
        postings=[
            ledger.Posting(
                debit=party,
                credit=payer,
                amount=statement.total,
                kind="payment",
                memo=statement.number,
            )
        ],
        actor=actor,
        description_parts=(memos.said("settlement.txn_payment", number=statement.number),),
        at=at,
    )
    statement.payment_transaction_id = txn.id


def statement_tickets(session: Session, *, statement: Statement) -> list[Ticket]:
    """The tickets a statement's lines come from."""
    ids = {line.ticket_id for line in statement.lines if line.ticket_id is not None}
    if not ids:
        return []
    return list(session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)))


# ---- an engineer's month ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Earning:
    """One line of an engineer's month as they read it (positive: paid to them); a line of a
    correction names the posting it reverses and when that was booked."""

    ticket_number: str
    kind: str
    rule: str
    memo: str
    amount: Decimal
    booked_at: datetime
    memo_parts: list[Any] | None = None
    reverses_id: int | None = None
    reverses_at: datetime | None = None


def engineer_month(
    session: Session, *, engineer_id: int, period: str
) -> tuple[list[Earning], Statement | None]:
    """What the month booked to the engineer's account (the lines their statement is drafted
    from, corrections included), newest first, and the month's statement if there is one."""
    _check_period(period)
    rows = session.execute(
        select(LedgerEntry, LedgerTransaction, Ticket.number)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .outerjoin(Ticket, Ticket.id == LedgerEntry.ticket_id)
        .where(
            LedgerAccount.code == ledger.engineer_account(engineer_id),
            LedgerTransaction.period == period,
            LedgerEntry.kind.not_in(NOT_ON_STATEMENTS),
        )
        .order_by(LedgerTransaction.created_at.desc(), LedgerEntry.id.desc())
    )
    lines = []
    for e, txn, number in rows:
        undone = session.get(LedgerTransaction, txn.reverses_id) if txn.reverses_id else None
        lines.append(
            Earning(
                number or "",
                e.kind,
                e.rule,
                e.memo,
                -e.amount,
                txn.created_at,
                memo_parts=e.memo_parts,
                reverses_id=undone.id if undone else None,
                reverses_at=undone.created_at if undone else None,
            )
        )
    statement = session.scalars(
        select(Statement).where(
            Statement.party == "engineer",
            Statement.engineer_id == engineer_id,
            Statement.period == period,
        )
    ).first()
    return lines, statement


# ---- exports -----------------------------------------------------------------------------


def _kind_label(kind: str) -> str:
    key = f"settlement.kind.{kind}"
    try:
        return t(key)
    except KeyError:
        return kind


def export_rows(session: Session, *, statement: Statement) -> list[list[str]]:
    """The statement as rows: a header, one row per line, then the total."""
    numbers = {tk.id: tk.number for tk in statement_tickets(session, statement=statement)}
    rows = [
        [t("settlement.col.statement"), statement.number],
        [t("settlement.col.party"), party_name(session, statement)],
        [t("settlement.col.period"), statement.period],
        [t("settlement.col.status"), t(f"settlement.status.{statement.status}")],
        [],
        [
            t("settlement.col.ticket"),
            t("settlement.col.kind"),
            t("settlement.col.rule"),
            t("settlement.col.memo"),
            t("settlement.col.amount"),
        ],
    ]
    for line in statement.lines:
        rows.append(
            [
                numbers.get(line.ticket_id or 0, ""),
                _kind_label(line.kind),
                line.rule,
                memos.of(line),
                str(line.amount),
            ]
        )
    rows.append(["", "", "", t("settlement.col.total"), str(statement.total)])
    return rows


def export_csv(session: Session, *, statement: Statement) -> bytes:
    """The statement as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(export_rows(session, statement=statement))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export_xlsx(session: Session, *, statement: Statement) -> bytes:
    """The statement as an Excel workbook; amounts are numbers with two places."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = statement.period
    for row in export_rows(session, statement=statement):
        ws.append(row)
    header_row = 6
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=header_row + 1, min_col=5, max_col=5):
        for cell in row:
            if isinstance(cell.value, str) and cell.value:
                cell.value = Decimal(cell.value)  # openpyxl writes a Decimal as a number
                cell.number_format = "#,##0.00"
    for col, width in zip("ABCDE", (22, 12, 26, 40, 14), strict=True):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- deposits ----------------------------------------------------------------------------

DEPOSIT_ACTIONS = ("receive", "deduct", "refund")


def deposit_balance(session: Session, *, network_id: int) -> Decimal:
    """What the platform holds as the network's deposit."""
    return -ledger.balance(session, ledger.network_account(network_id, "deposit"))


def deposit_entries(session: Session, *, network_id: int) -> list[LedgerEntry]:
    """The deposit account's entries, oldest first."""
    return list(
        session.scalars(
            select(LedgerEntry)
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .where(LedgerAccount.code == ledger.network_account(network_id, "deposit"))
            .order_by(LedgerEntry.id)
        )
    )


def move_deposit(
    session: Session,
    *,
    network_id: int,
    action: str,
    amount: Decimal,
    key: str,
    principal: Principal,
    memo: str = "",
    at: datetime | None = None,
) -> LedgerTransaction:
    """Take a deposit, deduct from it what the network owes (credited to its current
    account), or refund it. Idempotent per key."""
    if action not in DEPOSIT_ACTIONS:
        raise Invalid("error.unknown_action", field="action", action=action)
    amount = ledger.money(amount)
    if amount <= ZERO:
        raise Invalid("fees.amount_positive", field="amount")
    if session.get(ServiceNetwork, network_id) is None:
        raise NotFound("object.network")
    deposit = ledger.network_account(network_id, "deposit")
    debit, credit = {
        "receive": ("platform:bank", deposit),
        "deduct": (deposit, ledger.network_account(network_id)),
        "refund": (deposit, "platform:bank"),
    }[action]
    when = at or utcnow()

    def post() -> LedgerTransaction:
        txn, _ = ledger.post(
            session,
            key=f"deposit:{key}",
            kind="deposit",
            period=ledger.period_of(when),
            postings=[
                ledger.Posting(
                    debit=debit,
                    credit=credit,
                    amount=amount,
                    kind="deposit",
                    rule=action,
                    memo=memo,
                )
            ],
            actor=principal.actor,
            description_parts=(memos.said(f"settlement.deposit.{action}"),),
            at=when,
        )
        return txn

    if ledger.find(session, f"deposit:{key}") is not None:
        return post()  # a replay: the first answer, if it asked for the same (else 409)
    if action != "receive":
        # Locked before the balance is read, so two deductions cannot both pass the check
        # on the same money; the lock holds until this request's transaction commits.
        ledger.lock_account(session, deposit)
        if amount > deposit_balance(session, network_id=network_id):
            raise Conflict("settlement.deposit_short")
    return post()
