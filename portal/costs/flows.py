"""Cost centres in the ledger: an in-warranty ticket's parts, labour and logistics costs,
posted by settlement to the manufacturer's cost accounts, are allocated to the cost centre its
fault cause names (工厂 for a quality problem, 市场销售中心 otherwise); the factory's
appraisal that reclassifies a case moves them to the other centre by reversal.

A ticket's allocation is one balanced transaction under `costs:ticket:<id>` (kind
"allocation"): debit the centre's account, credit the cost account settlement debited, one
line per settled cost line. Allocating again computes the lines afresh from the standing
settlement: the same lines write nothing; other lines (a reclassification, a settlement
correction) reverse the standing allocation and post the next version's key. Posted lines
are never edited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.costs import causes
from portal.costs import service as costs
from portal.costs.models import CostCase
from portal.database import utcnow
from portal.errors import Conflict, Invalid
from portal.security import Principal
from portal.settlement import ledger, memos
from portal.settlement.ledger import Posting
from portal.settlement.models import LedgerAccount, LedgerEntry, LedgerTransaction
from portal.tickets.models import Ticket

ALLOCATION = "allocation"
# The manufacturer's in-warranty cost accounts settlement debits (ledger.HOUSE_ACCOUNTS).
HOUSE_COSTS = frozenset({"mfr:service_cost", "mfr:parts_cost"})
ZERO = ledger.ZERO


def _standing(
    session: Session, *, ticket_id: int, kind: str
) -> tuple[LedgerTransaction | None, int]:
    """The ticket's latest transaction of this kind that no reversal cancelled, and how many
    of that kind were ever posted."""
    posted = list(
        session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.ticket_id == ticket_id, LedgerTransaction.kind == kind)
            .order_by(LedgerTransaction.id)
        )
    )
    if not posted:
        return None, 0
    cancelled = set(
        session.scalars(
            select(LedgerTransaction.reverses_id).where(
                LedgerTransaction.reverses_id.in_([p.id for p in posted])
            )
        )
    )
    standing = [p for p in posted if p.id not in cancelled]
    return (standing[-1] if standing else None), len(posted)


def wanted(case: CostCase, settled: LedgerTransaction) -> list[Posting]:
    """The allocation lines of a case: each settled cost line of the manufacturer, moved to
    the case's centre's account of its kind (parts, labour, logistics)."""
    out = []
    for e in settled.entries:
        group = causes.GROUP_OF_KIND.get(e.kind)
        if group is None or e.account.code not in HOUSE_COSTS or e.amount <= ZERO:
            continue
        out.append(
            Posting(
                debit=causes.account_code(case.centre, group),
                credit=e.account.code,
                amount=e.amount,
                kind=e.kind,
                memo=e.memo,
                memo_parts=tuple(e.memo_parts or ()),
                ticket_id=case.ticket_id,
            )
        )
    return out


def _signature(session: Session, postings: Sequence[Posting]) -> list[tuple[int, Decimal, str]]:
    out = []
    for p in postings:
        amount = ledger.money(p.amount)
        out.append((ledger.account(session, p.debit).id, amount, p.kind))
        out.append((ledger.account(session, p.credit).id, -amount, p.kind))
    return sorted(out)


def allocate(
    session: Session,
    *,
    ticket: Ticket,
    actor: str,
    period: str | None = None,
    run_id: int | None = None,
    at: datetime | None = None,
    reason: tuple[memos.Segment, ...] = (),
) -> str:
    """Put the ticket's settled in-warranty costs on its case's cost centre, once: "posted",
    "moved" (reversed and posted again), "reversed" (nothing to allocate any more),
    "unchanged" or "nothing". `period`: the month the postings fall in (default: the
    settlement's)."""
    case = costs.case_of(session, ticket_id=ticket.id)
    settled, _ = _standing(session, ticket_id=ticket.id, kind="settlement")
    postings = wanted(case, settled) if case is not None and settled is not None else []
    standing, count = _standing(session, ticket_id=ticket.id, kind=ALLOCATION)
    when = at or utcnow()
    month = period or (settled.period if settled is not None else ledger.period_of(when))
    if standing is not None:
        mine = sorted((e.account_id, ledger.money(e.amount), e.kind) for e in standing.entries)
        if _signature(session, postings) == mine:
            return "unchanged"
        ledger.reverse(
            session,
            txn=standing,
            actor=actor,
            period=month,
            run_id=run_id,
            reason_parts=reason or (memos.said("costs.txn.reversal", number=ticket.number),),
            at=at,
        )
        if not postings:
            return "reversed"
    elif not postings:
        return "nothing"
    assert case is not None
    ledger.post(
        session,
        key=f"costs:ticket:{ticket.id}" + (f":v{count + 1}" if count else ""),
        kind=ALLOCATION,
        period=month,
        postings=postings,
        actor=actor,
        description_parts=(
            memos.said(
                "costs.txn", number=ticket.number, centre=memos.said("costs.centre." + case.centre)
            ),
        ),
        ticket_id=ticket.id,
        run_id=run_id,
        at=at,
    )
    return "moved" if standing is not None else "posted"


def appraise(
    session: Session,
    *,
    row: costs.CaseRow,
    action: str,
    principal: Principal,
    reason: str = "",
    cause: str = "",
    at: datetime | None = None,
) -> CostCase:
    """Factory quality's appraisal (鉴定) of a quality case: confirm it, or reclassify it with
    a reason (a cause of the other class; "other" when none is named), which moves its cost
    lines to the other centre by reversal. Each case is appraised once."""
    case, ticket = row.case, row.ticket
    if case.status != costs.APPRAISABLE:
        raise Conflict("costs.already_appraised")
    reason = reason.strip()
    when = at or utcnow()
    if action == "reclassify":
        if not reason:
            raise Invalid("costs.reason_required", field="reason")
        target = causes.other_class(case.cause_class)
        new = cause or causes.OTHER_OF[case.cause_class]
        if causes.CAUSES.get(new) != target:
            raise Invalid("costs.cause_wrong_class", field="cause")
        case.cause, case.cause_class, case.centre = new, target, causes.CENTRE_OF[target]
        ticket.details = {**(ticket.details or {}), "fault_cause": new}
        case.status = "reclassified"
    elif action == "confirm":
        case.status = "confirmed"
    else:
        raise Invalid("costs.unknown_action", field="action")
    case.appraised_by, case.appraised_at = principal.actor, when
    case.appraisal_reason = reason[:2000]
    session.flush()
    if action == "reclassify":
        allocate(
            session,
            ticket=ticket,
            actor=principal.actor,
            period=ledger.period_of(when),
            at=when,
            reason=(memos.said("costs.txn.reclassified", number=ticket.number),),
        )
    return case


# ---- finance's month ---------------------------------------------------------------------


@dataclass(slots=True)
class CentreMonth:
    """A cost centre's month: parts, labour and logistics, and the tickets they came from."""

    centre: str
    totals: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(causes.GROUPS, ZERO))
    tickets: set[int] = field(default_factory=set)

    @property
    def total(self) -> Decimal:
        """Everything the centre carries this month."""
        return sum(self.totals.values(), ZERO)


@dataclass(slots=True)
class CaseLines:
    """One ticket's lines on a cost centre in a month (reversals included)."""

    ticket: Ticket
    case: CostCase | None
    lines: list[tuple[LedgerEntry, LedgerTransaction, str]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """What the ticket put on the centre this month (a reversal takes it off)."""
        return sum((e.amount for e, _t, _g in self.lines), ZERO)


def _centre_entries(
    session: Session, *, period: str, centre: str | None = None
) -> list[tuple[LedgerEntry, LedgerTransaction, str]]:
    prefix = f"cc:{centre}:" if centre else "cc:"
    rows = session.execute(
        select(LedgerEntry, LedgerTransaction, LedgerAccount.code)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code.startswith(prefix), LedgerTransaction.period == period)
        .order_by(LedgerEntry.ticket_id, LedgerEntry.id)
    ).all()
    return [(e, txn, code) for e, txn, code in rows]


def centre_months(session: Session, *, period: str) -> list[CentreMonth]:
    """Each cost centre's month, the factory first. Sums are taken here: SQLite keeps NUMERIC
    as floats (see `ledger`)."""
    out = {c: CentreMonth(c) for c in causes.CENTRES}
    for entry, _txn, code in _centre_entries(session, period=period):
        _cc, centre, group = code.split(":")
        month = out[centre]
        month.totals[group] = month.totals[group] + entry.amount
        if entry.ticket_id is not None:
            month.tickets.add(entry.ticket_id)
    return [out[c] for c in causes.CENTRES]


def centre_cases(session: Session, *, centre: str, period: str) -> list[CaseLines]:
    """The tickets behind a cost centre's month, each with its lines on the centre."""
    found: dict[int, CaseLines] = {}
    entries = _centre_entries(session, period=period, centre=centre)
    ids = {e.ticket_id for e, _t, _c in entries if e.ticket_id is not None}
    tickets = {tk.id: tk for tk in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    cases = {
        c.ticket_id: c for c in session.scalars(select(CostCase).where(CostCase.ticket_id.in_(ids)))
    }
    for entry, txn, code in entries:
        if entry.ticket_id is None:
            continue
        row = found.get(entry.ticket_id)
        if row is None:
            row = found[entry.ticket_id] = CaseLines(
                tickets[entry.ticket_id], cases.get(entry.ticket_id)
            )
        row.lines.append((entry, txn, code.split(":")[2]))
    return sorted(found.values(), key=lambda r: r.ticket.number)
