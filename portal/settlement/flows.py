"""Settling tickets: the lines a ticket's job earns (fees from the rate card, parts, mileage,
incentives and penalties derived from its events), posted once to the ledger; monthly runs
with an idempotency key; corrections as reversals.

A ticket's settlement is one balanced transaction under the key `settle:ticket:<id>`. Settling
again computes the lines afresh: when they match what is posted nothing is written; when they
differ the posted transaction is reversed and the new lines posted under the next version's
key. A run under a key already used returns that run and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.fees import service as fees
from portal.i18n import t
from portal.security import Principal
from portal.settlement import ledger
from portal.settlement import service as settlement
from portal.settlement.ledger import Posting
from portal.settlement.models import (
    LedgerEntry,
    LedgerTransaction,
    SettlementRule,
    SettlementRun,
)
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

ACTOR = "system:settlement"
SYSTEM = Principal(kind="service", role="system", name="settlement")
ZERO = ledger.ZERO
# Tickets whose evaluation stands (a reopened ticket is settled after its next one).
SETTLEABLE = frozenset({"evaluated", "pending_settlement", "settled", "closed"})
_REOPEN_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Line:
    """One settlement line: what a party gets (negative: pays) for a ticket, and why."""

    kind: str
    party: str  # network | engineer | manufacturer
    amount: Decimal
    network_id: int | None
    engineer_id: int | None
    rule: str = ""
    memo: str = ""

    def posting(self, ticket_id: int) -> Posting:
        """The ledger posting of the line."""
        a = self.amount
        if self.party == "manufacturer":  # warranty parts: the manufacturer bears the cost
            return Posting(
                "mfr:parts_cost", "inventory:parts", a, self.kind, self.rule, self.memo, ticket_id
            )
        if self.party == "engineer":
            assert self.network_id is not None and self.engineer_id is not None
            labour = ledger.network_account(self.network_id, "labour")
            mine = ledger.engineer_account(self.engineer_id)
            debit, credit = (labour, mine) if a > 0 else (mine, labour)
            return Posting(debit, credit, abs(a), self.kind, self.rule, self.memo, ticket_id)
        assert self.network_id is not None
        net = ledger.network_account(self.network_id)
        if a > 0:
            return Posting("mfr:service_cost", net, a, self.kind, self.rule, self.memo, ticket_id)
        other = "inventory:parts" if self.kind == "parts" else "mfr:penalty_income"
        return Posting(net, other, -a, self.kind, self.rule, self.memo, ticket_id)


# ---- what the events say -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timings:
    """How long the ticket took at each promise, from its events (None: not reached)."""

    response: timedelta | None
    arrival: timedelta | None
    completion: timedelta | None


def timings(events: Sequence[TicketEvent]) -> Timings:
    """Response: report to acceptance. Arrival: the (last) acceptance or resumption before
    the first arrival, to that arrival. Completion: report to the first completion, less the
    time spent waiting for parts."""
    ordered = sorted(events, key=lambda e: (e.created_at, e.id or 0))
    created = next((e.created_at for e in ordered if e.action == "create"), None)
    accepted = next(
        (e.created_at for e in ordered if e.action in ("accept", "resolve_remotely")), None
    )
    response = accepted - created if created and accepted else None
    arrive = next((e for e in ordered if e.action == "arrive"), None)
    arrival = None
    if arrive is not None:
        start = next(
            (
                e.created_at
                for e in reversed(ordered)
                if e.action in ("accept", "resume") and e.created_at <= arrive.created_at
            ),
            None,
        )
        arrival = arrive.created_at - start if start else None
    done = next((e.created_at for e in ordered if e.action == "complete"), None)
    completion = None
    if created and done:
        waited = timedelta(0)
        since: datetime | None = None
        for e in ordered:
            if e.created_at > done:
                break
            if e.action == "wait_parts":
                since = e.created_at
            elif e.action == "resume" and since is not None:
                waited += e.created_at - since
                since = None
        completion = done - created - waited
    return Timings(response, arrival, completion)


def score(events: Sequence[TicketEvent]) -> int | None:
    """The customer's score from the last evaluation."""
    last = next((e for e in reversed(list(events)) if e.action == "evaluate"), None)
    value = last.payload.get("score") if last is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _completed_at(ticket: Ticket) -> datetime | None:
    return next((e.created_at for e in reversed(ticket.events) if e.action == "complete"), None)


def earlier_job(session: Session, *, ticket: Ticket, days: int, same_asset: bool) -> Ticket | None:
    """The customer's latest other job completed within `days` before this ticket was
    reported (on the same asset, when asked): the job a complaint or a repeat repair is
    about."""
    stmt = select(Ticket).where(
        Ticket.customer_id == ticket.customer_id,
        Ticket.id != ticket.id,
        Ticket.created_at < ticket.created_at,
        Ticket.created_at >= ticket.created_at - timedelta(days=days + 30),
        Ticket.type != "complaint",
    )
    if same_asset:
        if ticket.asset_id is None:
            return None
        stmt = stmt.where(Ticket.asset_id == ticket.asset_id)
    best: tuple[datetime, Ticket] | None = None
    for other in session.scalars(stmt):
        done = _completed_at(other)
        if done is None or done > ticket.created_at:
            continue
        if ticket.created_at - done > timedelta(days=days):
            continue
        if best is None or done > best[0]:
            best = (done, other)
    return best[1] if best else None


# ---- the lines of a ticket ---------------------------------------------------------------


def ticket_lines(
    session: Session, *, ticket: Ticket, rules: Sequence[SettlementRule] | None = None
) -> list[Line]:
    """Everything the ticket's job earns or costs each party."""
    rules = list(rules) if rules is not None else settlement.active_rules(session)
    out: list[Line] = []
    net, eng = ticket.network_id, ticket.engineer_id
    visited = any(e.action == "arrive" for e in ticket.events)
    if net is not None and visited:
        p = fees.price_ticket(session, ticket=ticket)
        covered = p.warranty.covered
        if covered:
            out.append(Line("service_fee", "network", p.service_fee, net, eng, memo=_memo_fee(p)))
            out.append(
                Line("labour_time", "network", p.labour_time_fee, net, eng, memo=_memo_time(p))
            )
            out.append(Line("mileage", "network", p.mileage_fee, net, eng, memo=_memo_km(p)))
        for part in p.parts:
            memo = f"{part.part.code} {part.part.name} ×{part.quantity}"
            if covered:
                out.append(Line("parts", "manufacturer", part.cost, net, eng, memo=memo))
            else:  # the network sold it to the customer: it owes the platform the cost
                out.append(Line("parts", "network", -part.cost, net, eng, memo=memo))
        if eng is not None:
            out.append(Line("service_fee", "engineer", p.engineer_pay, net, eng, memo=_memo_fee(p)))
            out.append(
                Line("labour_time", "engineer", p.engineer_time_pay, net, eng, memo=_memo_time(p))
            )
            out.append(Line("mileage", "engineer", p.engineer_mileage, net, eng, memo=_memo_km(p)))
    out += _rule_lines(session, ticket=ticket, rules=rules)
    return [ln for ln in out if ln.amount != ZERO]


def _memo_fee(p: fees.Pricing) -> str:
    warranty = t("fees.warranty.in") if p.warranty.covered else t("fees.warranty.out")
    return f"{t('fees.service.' + p.service_type)} · {p.category} · {warranty}"


def _memo_time(p: fees.Pricing) -> str:
    return t("fees.memo.time", minutes=p.on_site_minutes, halves=p.extra_half_hours)


def _memo_km(p: fees.Pricing) -> str:
    return t("fees.memo.km", km=p.distance_km)


def _late(spent: timedelta | None, rule: SettlementRule) -> str | None:
    if spent is None or spent <= timedelta(minutes=rule.threshold):
        return None
    return t("settlement.memo.late", minutes=spent // timedelta(minutes=1))


def _rule_lines(session: Session, *, ticket: Ticket, rules: Sequence[SettlementRule]) -> list[Line]:
    """Incentives and penalties: each rule that fires gives its party its amount."""
    out: list[Line] = []
    times = timings(ticket.events)
    rating = score(ticket.events)
    visited = any(e.action == "arrive" for e in ticket.events)
    for rule in rules:
        net, eng = ticket.network_id, ticket.engineer_id
        memo: str | None = None
        trigger = rule.trigger
        if trigger == "response_late":
            memo = _late(times.response, rule)
        elif trigger == "arrival_late":
            memo = _late(times.arrival, rule)
        elif trigger == "completion_late":
            memo = _late(times.completion, rule)
        elif trigger in ("low_rating", "high_rating") and rating is not None and visited:
            low = trigger == "low_rating"
            if (low and rating <= rule.threshold) or (not low and rating >= rule.threshold):
                memo = t("settlement.memo.score", score=rating)
        elif trigger in ("complaint", "repeat_repair"):
            # The penalty falls on whoever did the earlier job the new ticket is about.
            complaint = trigger == "complaint"
            if ticket.type == ("complaint" if complaint else "repair"):
                about = earlier_job(
                    session, ticket=ticket, days=rule.threshold, same_asset=not complaint
                )
                if about is not None and (complaint or about.type == "repair"):
                    net, eng = about.network_id, about.engineer_id
                    memo = t("settlement.memo.about", number=about.number)
        if memo is None or net is None or (rule.party == "engineer" and eng is None):
            continue
        amount = ledger.money(rule.amount)
        kind = "incentive" if amount > 0 else "penalty"
        out.append(Line(kind, rule.party, amount, net, eng, rule=rule.code, memo=memo))
    return out


# ---- posting -----------------------------------------------------------------------------


def _active(session: Session, *, ticket_id: int) -> tuple[LedgerTransaction | None, int]:
    """The ticket's standing settlement transaction, and how many were ever posted."""
    posted = list(
        session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.ticket_id == ticket_id, LedgerTransaction.kind == "settlement")
            .order_by(LedgerTransaction.id)
        )
    )
    reversed_ids = (
        set(
            session.scalars(
                select(LedgerTransaction.reverses_id).where(
                    LedgerTransaction.reverses_id.in_([p.id for p in posted])
                )
            )
        )
        if posted
        else set()
    )
    standing = [p for p in posted if p.id not in reversed_ids]
    return (standing[-1] if standing else None), len(posted)


def _signature(entries: Sequence[LedgerEntry]) -> list[tuple[int, Decimal, str, str]]:
    return sorted((e.account_id, e.amount, e.kind, e.rule) for e in entries)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What settling one ticket did: "posted", "corrected", "unchanged" or "nothing"."""

    ticket_id: int
    result: str
    transaction_id: int | None = None


def settle_ticket(
    session: Session,
    *,
    ticket: Ticket,
    period: str,
    actor: str = ACTOR,
    run_id: int | None = None,
    at: datetime | None = None,
    rules: Sequence[SettlementRule] | None = None,
    request: bool = True,
) -> Outcome:
    """Post the ticket's lines once; post a correction (reversal + new version) when they
    changed since; write nothing when they did not. With `request`, an evaluated ticket whose
    lines stand then waits for settlement (lifecycle t8)."""
    lines = ticket_lines(session, ticket=ticket, rules=rules)
    postings = [ln.posting(ticket.id) for ln in lines]
    standing, count = _active(session, ticket_id=ticket.id)
    if standing is not None:
        fresh = []
        for p in postings:
            amount = ledger.money(p.amount)
            if amount == ZERO:
                continue
            fresh.append((ledger.account(session, p.debit).id, amount, p.kind, p.rule))
            fresh.append((ledger.account(session, p.credit).id, -amount, p.kind, p.rule))
        if sorted(fresh) == _signature(standing.entries):
            if request:  # posted when it was evaluated; the run now asks for settlement
                _request_settlement(session, ticket=ticket)
            return Outcome(ticket.id, "unchanged", standing.id)
        ledger.reverse(
            session,
            txn=standing,
            actor=actor,
            period=period,
            run_id=run_id,
            reason=t("settlement.correction", number=ticket.number),
            at=at,
        )
        if not postings:
            return Outcome(ticket.id, "corrected")
    elif not postings:
        return Outcome(ticket.id, "nothing")
    key = f"settle:ticket:{ticket.id}" + (f":v{count + 1}" if count else "")
    txn, created = ledger.post(
        session,
        key=key,
        kind="settlement",
        period=period,
        postings=postings,
        actor=actor,
        description=t("settlement.txn", number=ticket.number),
        ticket_id=ticket.id,
        run_id=run_id,
        at=at,
    )
    if not created:
        return Outcome(ticket.id, "unchanged", txn.id)
    if request:
        _request_settlement(session, ticket=ticket)
    return Outcome(ticket.id, "corrected" if standing is not None else "posted", txn.id)


def _request_settlement(session: Session, *, ticket: Ticket) -> None:
    """An evaluated ticket whose lines are posted now waits for settlement (lifecycle t8)."""
    if ticket.status != "evaluated":
        return
    tickets.transition(
        session,
        ticket=ticket,
        req=TransitionRequest(action="request_settlement"),
        principal=SYSTEM,
        reopen_window=_REOPEN_WINDOW,
    )


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The month's first and next month's first moment, China time, in UTC."""
    settlement._check_period(period)
    year, month = int(period[:4]), int(period[5:])
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=ledger.PERIOD_ZONE).astimezone(UTC)
    end = datetime(nxt[0], nxt[1], 1, tzinfo=ledger.PERIOD_ZONE).astimezone(UTC)
    return start, end


def tickets_for(session: Session, *, period: str) -> list[Ticket]:
    """The tickets whose last evaluation fell in the month and still stands."""
    start, end = period_bounds(period)
    ids = set(
        session.scalars(
            select(TicketEvent.ticket_id).where(
                TicketEvent.action == "evaluate",
                TicketEvent.created_at >= start,
                TicketEvent.created_at < end,
            )
        )
    )
    out = []
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)):
        last = next(e for e in reversed(ticket.events) if e.action == "evaluate")
        if start <= last.created_at < end and ticket.status in SETTLEABLE:
            out.append(ticket)
    return out


def run_settlement(
    session: Session,
    *,
    period: str,
    key: str,
    actor: str,
    at: datetime | None = None,
) -> tuple[SettlementRun, bool]:
    """Settle every ticket evaluated in the month and draft the statements. Under a key
    already used: that run, and nothing written. Returns the run and whether it is new."""
    found = session.scalars(
        select(SettlementRun).where(SettlementRun.idempotency_key == key)
    ).first()
    if found is not None:
        return found, False
    period_bounds(period)
    run = SettlementRun(
        idempotency_key=key, period=period, started_by=actor, created_at=at or utcnow()
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        again = session.scalars(
            select(SettlementRun).where(SettlementRun.idempotency_key == key)
        ).one()
        return again, False
    rules = settlement.active_rules(session)  # read once: every ticket gets the same set
    posted = corrected = txns = 0
    for ticket in tickets_for(session, period=period):
        outcome = settle_ticket(
            session, ticket=ticket, period=period, actor=actor, run_id=run.id, at=at, rules=rules
        )
        if outcome.result == "posted":
            posted += 1
            txns += 1
        elif outcome.result == "corrected":
            corrected += 1
            txns += 2 if outcome.transaction_id else 1
    run.tickets_settled, run.tickets_corrected, run.transactions = posted, corrected, txns
    session.flush()
    settlement.generate_statements(session, period=period)
    return run, True


def on_ticket_event(session: Session, *, ticket: Ticket, action: str) -> Outcome | None:
    """The lifecycle hook: an evaluation posts the ticket's lines into the month it happened
    in. The ticket stays "evaluated": finance's request (or the month's run) moves it on, so
    the customer who rated sees their rating, and t8 measures finance, not this hook."""
    if action != "evaluate" or ticket.status not in SETTLEABLE:
        return None
    rated = next((e.created_at for e in reversed(ticket.events) if e.action == "evaluate"), None)
    period = ledger.period_of(rated or utcnow())
    return settle_ticket(session, ticket=ticket, period=period, request=False)


def settle_paid_tickets(session: Session, *, statement_id: int, principal: Principal) -> int:
    """Once a network's statement is paid, its tickets waiting for settlement are settled."""
    st = settlement.get_statement(session, statement_id=statement_id)
    if st.party != "network" or st.status != "paid":
        return 0
    n = 0
    for ticket in settlement.statement_tickets(session, statement=st):
        if ticket.status == "pending_settlement":
            tickets.transition(
                session,
                ticket=ticket,
                req=TransitionRequest(action="settle"),
                principal=principal,
                reopen_window=_REOPEN_WINDOW,
            )
            n += 1
    return n


def ticket_entries(session: Session, *, ticket_id: int) -> list[LedgerTransaction]:
    """Every transaction of the ticket (settlements, reversals, receipts), oldest first."""
    return list(
        session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.ticket_id == ticket_id)
            .order_by(LedgerTransaction.id)
        )
    )
