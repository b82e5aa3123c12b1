"""Settling tickets: the lines a ticket's job earns (fees from the rate card, parts, mileage,
incentives and penalties derived from its events), posted once to the ledger; monthly runs
with an idempotency key; corrections as reversals.

A ticket's settlement is one balanced transaction under the key `settle:ticket:<id>`. Settling
again computes the lines afresh: when they match what is posted nothing is written; when they
differ the posted transaction is reversed and the new lines posted under the next version's
key. A run under a key already used returns that run and writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.costs import flows as cost_centres
from portal.database import utcnow
from portal.dispatch.parts import PartLine, Reservation
from portal.errors import Conflict, NotFound
from portal.fees import service as fees
from portal.fees.models import Quote, QuoteLine
from portal.i18n import STATUS_LABELS, Term, t
from portal.networks import service as networks
from portal.notifications import quotes as notify_quotes
from portal.parts import flows as parts_flows
from portal.parts import service as parts_service
from portal.parts.models import Part
from portal.security import Principal, Role
from portal.settlement import ledger, memos
from portal.settlement import service as settlement
from portal.settlement.ledger import Posting
from portal.settlement.models import (
    LedgerEntry,
    LedgerTransaction,
    SettlementRule,
    SettlementRun,
)
from portal.sop import service as sop
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent
from portal.tickets.schemas import TransitionRequest

ACTOR = "system:settlement"
SYSTEM = Principal(kind="service", role=Role.SYSTEM, name="settlement")
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
    memo: tuple[memos.Segment, ...] = ()  # what the line is for, in any reader's language

    def posting(self, ticket_id: int) -> Posting:
        """The ledger posting of the line."""
        a = self.amount
        if self.party == "manufacturer":  # warranty parts: the manufacturer bears the cost
            return self._posting("mfr:parts_cost", "inventory:parts", a, ticket_id)
        if self.party == "engineer":
            assert self.network_id is not None and self.engineer_id is not None
            labour = ledger.network_account(self.network_id, "labour")
            mine = ledger.engineer_account(self.engineer_id)
            debit, credit = (labour, mine) if a > 0 else (mine, labour)
            return self._posting(debit, credit, abs(a), ticket_id)
        assert self.network_id is not None
        net = ledger.network_account(self.network_id)
        if a > 0:
            return self._posting("mfr:service_cost", net, a, ticket_id)
        other = "inventory:parts" if self.kind == "parts" else "mfr:penalty_income"
        return self._posting(net, other, -a, ticket_id)

    def _posting(self, debit: str, credit: str, amount: Decimal, ticket_id: int) -> Posting:
        return Posting(
            debit, credit, amount, self.kind, self.rule, ticket_id=ticket_id, memo_parts=self.memo
        )


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
            # The part's code and name are the company's words, shown as written.
            memo = (memos.text(f"{part.part.code} {part.part.name} ×{part.quantity}"),)
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
    return [_through_parent(session, ln) for ln in out if ln.amount != ZERO]


def _through_parent(session: Session, line: Line) -> Line:
    """A 伞下店's line goes on its parent network's account (so on the parent's statement),
    marked with the outlet's name; the outlet has no account or statement of its own."""
    if line.network_id is None or line.party == "manufacturer":
        return line
    parent_id, outlet = networks.settling_network(session, network_id=line.network_id)
    if outlet is None:
        return line
    mark = memos.said("settlement.memo.outlet", name=outlet.name)
    return replace(line, network_id=parent_id, memo=(mark, *line.memo))


def _memo_fee(p: fees.Pricing) -> tuple[memos.Segment, ...]:
    warranty = "fees.warranty.in" if p.warranty.covered else "fees.warranty.out"
    service = memos.said(f"fees.service.{p.service_type}")
    return (service, memos.category(p.category), memos.said(warranty))


def _memo_time(p: fees.Pricing) -> tuple[memos.Segment, ...]:
    return (memos.said("fees.memo.time", minutes=p.on_site_minutes, halves=p.extra_half_hours),)


def _memo_km(p: fees.Pricing) -> tuple[memos.Segment, ...]:
    return (memos.said("fees.memo.km", km=p.distance_km),)


def _late(spent: timedelta | None, rule: SettlementRule) -> tuple[memos.Segment, ...] | None:
    if spent is None or spent <= timedelta(minutes=rule.threshold):
        return None
    return (memos.said("settlement.memo.late", minutes=spent // timedelta(minutes=1)),)


def _rule_lines(session: Session, *, ticket: Ticket, rules: Sequence[SettlementRule]) -> list[Line]:
    """Incentives and penalties: each rule that fires gives its party its amount."""
    out: list[Line] = []
    times = timings(ticket.events)
    rating = score(ticket.events)
    visited = any(e.action == "arrive" for e in ticket.events)
    for rule in rules:
        net, eng = ticket.network_id, ticket.engineer_id
        memo: tuple[memos.Segment, ...] | None = None
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
                memo = (memos.said("settlement.memo.score", score=rating),)
        elif trigger in ("complaint", "repeat_repair"):
            # The penalty falls on whoever did the earlier job the new ticket is about.
            complaint = trigger == "complaint"
            if ticket.type == ("complaint" if complaint else "repair"):
                about = earlier_job(
                    session, ticket=ticket, days=rule.threshold, same_asset=not complaint
                )
                if about is not None and (complaint or about.type == "repair"):
                    net, eng = about.network_id, about.engineer_id
                    memo = (memos.said("settlement.memo.about", number=about.number),)
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
    lines stand then waits for settlement (lifecycle t8). The in-warranty costs then go to
    the cost centre of the ticket's fault cause (`costs.flows.allocate`, idempotent too)."""
    outcome = _settle_lines(
        session,
        ticket=ticket,
        period=period,
        actor=actor,
        run_id=run_id,
        at=at,
        rules=rules,
        request=request,
    )
    cost_centres.allocate(session, ticket=ticket, actor=actor, period=period, run_id=run_id, at=at)
    return outcome


def _settle_lines(
    session: Session,
    *,
    ticket: Ticket,
    period: str,
    actor: str,
    run_id: int | None,
    at: datetime | None,
    rules: Sequence[SettlementRule] | None,
    request: bool,
) -> Outcome:
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
            reason_parts=(memos.said("settlement.correction", number=ticket.number),),
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
        description_parts=(memos.said("settlement.txn", number=ticket.number),),
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


def on_ticket_event(
    session: Session, *, ticket: Ticket, event: TicketEvent, ctx: lifecycle.Context
) -> Sequence[lifecycle.FollowUp]:
    """The lifecycle subscriber: an evaluation posts the ticket's lines into the month it
    happened in. The ticket stays "evaluated": finance's request (or the month's run) moves
    it on, so the customer who rated sees their rating, and t8 measures finance, not this
    subscriber. Asks for no follow-up."""
    post_evaluated(session, ticket=ticket, action=event.action)
    return ()


def post_evaluated(session: Session, *, ticket: Ticket, action: str) -> Outcome | None:
    """Post an evaluated ticket's lines (what `on_ticket_event` does); None for any other
    action, or a ticket whose evaluation does not stand."""
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


# ---- quotes the engineer sends from the field --------------------------------------------

# Where a quote may be made: the job is the engineer's and not done yet.
QUOTABLE = frozenset({"engineer_accepted", "departed", "arrived", "waiting_parts"})
# Where a sent quote may still be answered: the job is not done. Parts that arrive put the
# ticket back in the dispatch queue ("accepted"); the customer's answer must still count.
ANSWERABLE = QUOTABLE | {"accepted", "dispatched"}
_TOKEN_CHARS = 32
WITHDRAWN = "withdrawn"
# ticket.details key: quote number -> why the customer declined it (their words).
DECLINE_REASONS = "quote_decline_reasons"
DECLINE_REASON_CHARS = 200


def decline_reason(ticket: Ticket, quote: Quote | None) -> str:
    """Why the customer declined this quote, as they wrote it ("" when they did not say)."""
    if quote is None or not isinstance(ticket.details, dict):
        return ""
    reasons = ticket.details.get(DECLINE_REASONS)
    return str(reasons.get(quote.number) or "") if isinstance(reasons, dict) else ""


@dataclass(slots=True)
class QuoteDraft:
    """What a quote will say: the warranty, the labour the standard job takes at the rate
    card's prices, mileage and the parts chosen, and what the customer pays in all."""

    warranty: fees.Warranty
    labour_hours: Decimal
    included_minutes: int
    extra_half_hours: int
    lines: list[QuoteLine]

    @property
    def total(self) -> Decimal:
        """What the customer pays (nothing in warranty)."""
        if self.warranty.covered:
            return ZERO
        return sum((ln.amount for ln in self.lines), ZERO)


def draft_quote(
    session: Session,
    *,
    ticket: Ticket,
    parts: Sequence[tuple[Part, int]],
    on: date,
    order: Sequence[tuple[Part, int]] = (),
    minutes_on_site: int = 0,
) -> QuoteDraft:
    """Price the job before it is done: the visit fee with the minutes it includes, the
    standard job's labour hours (SOP quota) beyond them at the card's hourly rate, mileage
    by distance band, and each part at its price: those of `parts` from the van, those of
    `order` marked to be ordered (a second visit fits them). `minutes_on_site`: a new quote
    while on site prices the time already spent when it is more than the standard job's."""
    pricing = fees.price_ticket(session, ticket=ticket, on=on)
    line = pricing.line
    if line is None:
        raise Conflict("fees.no_rate")
    hours = sop.labour_quota(session, ticket=ticket)
    actual = minutes_on_site > int(hours * 60)
    halves = fees.extra_half_hours(max(int(hours * 60), minutes_on_site), line.included_minutes)
    lines = [
        QuoteLine(
            kind="labour",
            description=t("quote.line.labour", minutes=line.included_minutes),
            description_parts=[memos.said("quote.line.labour", minutes=line.included_minutes)],
            quantity=1,
            unit_price=ledger.money(line.service_fee),
            amount=ledger.money(line.service_fee),
        )
    ]
    if halves and line.hour_rate:
        half = ledger.money(line.hour_rate / 2)
        key, values = (
            ("quote.line.labour_time_actual", {"minutes": minutes_on_site, "halves": halves})
            if actual
            else ("quote.line.labour_time", {"hours": hours, "halves": halves})
        )
        lines.append(
            QuoteLine(
                kind="labour_time",
                description=t(key, **values),
                description_parts=[memos.said(key, **values)],
                quantity=halves,
                unit_price=half,
                amount=ledger.money(half * halves),
            )
        )
    if pricing.mileage_fee:
        lines.append(
            QuoteLine(
                kind="mileage",
                description=t("quote.line.mileage", km=pricing.distance_km),
                description_parts=[memos.said("quote.line.mileage", km=pricing.distance_km)],
                quantity=1,
                unit_price=pricing.mileage_fee,
                amount=pricing.mileage_fee,
            )
        )
    chosen = [(p, q, False) for p, q in parts] + [(p, q, True) for p, q in order]
    for part, quantity, to_order in chosen:
        price = ledger.money(part.unit_price)
        lines.append(
            QuoteLine(
                kind="part",
                description=f"{part.name}（{part.code}）",
                description_parts=[memos.part(part.code, part.name, part.name_en)],
                part_id=part.id,
                quantity=quantity,
                unit_price=price,
                amount=ledger.money(price * quantity),
                to_order=to_order,
            )
        )
    return QuoteDraft(pricing.warranty, hours, line.included_minutes, halves, lines)


def orderable_parts(session: Session, *, ticket: Ticket, besides: Sequence[str] = ()) -> list[Part]:
    """The catalogue parts a quote may name "to order": active, fitting the ticket's product
    and model, less those (`besides`, by code) the engineer carries."""
    skip = set(besides)
    return [
        p
        for p in parts_service.list_parts(session)
        if p.active
        and p.code not in skip
        and parts_flows.fits_ticket(session, ticket=ticket, part=p)
    ]


def quote_token(secret: str, quote: Quote) -> str:
    """The customer's key to answer this quote without signing in (the widget's buttons):
    its id and an HMAC of id and number under the app's secret."""
    mac = hmac.new(secret.encode(), f"quote:{quote.id}:{quote.number}".encode(), hashlib.sha256)
    return f"{quote.id}.{mac.hexdigest()[:_TOKEN_CHARS]}"


def quote_by_token(session: Session, *, secret: str, token: str) -> Quote:
    """The quote a token opens; 404 for a token that opens none."""
    head, _, _sig = token.partition(".")
    quote = session.get(Quote, int(head)) if head.isdigit() and len(head) < 12 else None
    if quote is None or not hmac.compare_digest(quote_token(secret, quote), token):
        raise NotFound("object.quote")
    return quote


def _check_quotable(ticket: Ticket, allowed: frozenset[str] = QUOTABLE) -> None:
    if ticket.status not in allowed:
        raise Conflict("quote.not_now", status=Term.of(STATUS_LABELS, ticket.status))


def send_quote(
    session: Session,
    *,
    ticket: Ticket,
    parts: Sequence[tuple[str, int]],
    actor: str,
    link_base: str,
    secret: str,
    at: datetime | None = None,
    order: Sequence[tuple[str, int]] = (),
) -> Quote:
    """The engineer's quote: priced by `draft_quote` from the parts (code, quantity) they
    will fit from the van and those (`order`) to be ordered, catalogue parts that fit the
    unit; stored as sent (an open earlier quote is superseded) and told to the customer on
    each of their channels, with their link to answer it."""
    _check_quotable(ticket)
    # What the customer accepted is what the job is done and charged for: no second price.
    if session.scalar(
        select(Quote.number).where(Quote.ticket_id == ticket.id, Quote.status == "accepted")
    ):
        raise Conflict("quote.already_accepted")
    when = at or utcnow()
    chosen: list[tuple[Part, int]] = []
    for code, quantity in parts:
        part = parts_service.find_part(session, ref=code)
        if part is None:
            raise Conflict("parts.unknown_part", part=code)
        chosen.append((part, quantity))
    ordered: list[tuple[Part, int]] = []
    for code, quantity in order:
        part = parts_service.find_part(session, ref=code)
        if part is None or not part.active:
            raise Conflict("parts.unknown_part", part=code)
        if not parts_flows.fits_ticket(session, ticket=ticket, part=part):
            raise Conflict("quote.part_unfit", part=part.name)
        ordered.append((part, quantity))
    day = when.astimezone(fees.LOCAL).date()
    draft = draft_quote(session, ticket=ticket, parts=chosen, on=day, order=ordered)
    quote = _send_draft(session, ticket=ticket, draft=draft, actor=actor, when=when)
    announce_quote(session, ticket=ticket, quote=quote, link_base=link_base, secret=secret)
    return quote


def _send_draft(
    session: Session,
    *,
    ticket: Ticket,
    draft: QuoteDraft,
    actor: str,
    when: datetime,
    parts_ordered_at: datetime | None = None,
) -> Quote:
    """The draft as the ticket's sent quote; one still unanswered is superseded by it."""
    for old in session.scalars(
        select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "sent")
    ):
        old.status, old.decided_at, old.decided_by = "superseded", when, actor
    quote = Quote(
        number=fees.quote_number(when),
        ticket_id=ticket.id,
        warranty=draft.warranty.code,
        payer="manufacturer" if draft.warranty.covered else "customer",
        total=draft.total,
        status="sent",
        created_by=actor,
        created_at=when,
        lines=draft.lines,
        parts_ordered_at=parts_ordered_at,
    )
    session.add(quote)
    session.flush()
    return quote


def revise_quote(
    session: Session,
    *,
    ticket: Ticket,
    actor: str,
    link_base: str,
    secret: str,
    at: datetime | None = None,
) -> Quote:
    """On site, the work runs past the accepted quote: a new quote with the same parts and
    the time spent so far. The accepted quote stays the price until the customer accepts
    this one (declined, it still is); an earlier new quote still unanswered is superseded."""
    if ticket.status != "arrived":
        raise Conflict("quote.not_now", status=Term.of(STATUS_LABELS, ticket.status))
    accepted = fees.accepted_quote(session, ticket_id=ticket.id)
    if accepted is None:
        raise Conflict("quote.nothing_to_revise")
    when = at or utcnow()
    van = [
        (session.get_one(Part, ln.part_id), ln.quantity)
        for ln in accepted.lines
        if ln.part_id is not None and not ln.to_order
    ]
    order = [
        (session.get_one(Part, ln.part_id), ln.quantity)
        for ln in accepted.lines
        if ln.part_id is not None and ln.to_order
    ]
    day = when.astimezone(fees.LOCAL).date()
    minutes = fees.on_site_minutes(ticket, until=when)
    draft = draft_quote(
        session, ticket=ticket, parts=van, on=day, order=order, minutes_on_site=minutes
    )
    quote = _send_draft(
        session,
        ticket=ticket,
        draft=draft,
        actor=actor,
        when=when,
        # The parts it marks to order were ordered on the accepted quote: not again.
        parts_ordered_at=accepted.parts_ordered_at,
    )
    announce_quote(session, ticket=ticket, quote=quote, link_base=link_base, secret=secret)
    return quote


def announce_quote(
    session: Session, *, ticket: Ticket, quote: Quote, link_base: str, secret: str
) -> None:
    """Tell the customer of a sent quote on each channel, with their link and token."""
    notify_quotes.quote_sent(
        session,
        ticket=ticket,
        quote=quote,
        link=my_link(link_base, ticket),
        token=quote_token(secret, quote),
        at=quote.created_at,
    )


def check_answerable(session: Session, *, quote: Quote) -> None:
    """Refuse, as `decide_quote` would, a quote that takes no answer now: withdrawn, its job
    over, or answered already."""
    if quote.status == WITHDRAWN:
        raise Conflict("quote.withdrawn", number=quote.number)
    _check_quotable(session.get_one(Ticket, quote.ticket_id), ANSWERABLE)
    if quote.status != "sent":
        raise Conflict("fees.quote_decided")


def decide_quote(
    session: Session,
    *,
    quote: Quote,
    accept: bool,
    actor: str,
    at: datetime | None = None,
    reason: str = "",
) -> Quote:
    """The customer accepts or declines a sent quote; the engineer hears of it in the app
    and the customer's chat keeps the answer. A decline may say why (`reason`): kept with
    the ticket for the engineer and staff (`decline_reason`)."""
    ticket = session.get_one(Ticket, quote.ticket_id)
    if quote.status == WITHDRAWN:  # before the job's state: this is the reason that counts
        raise Conflict("quote.withdrawn", number=quote.number)
    _check_quotable(ticket, ANSWERABLE)  # a job that is over takes no answer to a quote
    fees.decide_quote(session, quote=quote, accept=accept, actor=actor, at=at)
    why = " ".join(reason.split())[:DECLINE_REASON_CHARS]
    if not accept and why:
        details = dict(ticket.details or {})
        details[DECLINE_REASONS] = {**(details.get(DECLINE_REASONS) or {}), quote.number: why}
        ticket.details = details
        session.flush()
    notify_quotes.quote_decided(session, ticket=ticket, quote=quote, at=quote.decided_at)
    return quote


def withdraw_quote(
    session: Session, *, ticket: Ticket, actor: str, at: datetime | None = None
) -> Quote:
    """The engineer takes back the quote the customer has not answered yet (they want to
    think it over, or it named the wrong thing): it no longer stands, the customer's
    channels are told so, and an answer to it is refused."""
    quote = session.scalars(
        select(Quote)
        .where(Quote.ticket_id == ticket.id, Quote.status == "sent")
        .order_by(Quote.id.desc())
    ).first()
    if quote is None:
        raise Conflict("quote.nothing_to_withdraw")
    quote.status, quote.decided_by, quote.decided_at = WITHDRAWN, actor, at or utcnow()
    session.flush()
    notify_quotes.quote_withdrawn(session, ticket=ticket, quote=quote, at=quote.decided_at)
    return quote


def quote_to_order(quote: Quote | None) -> list[QuoteLine]:
    """The accepted quote's part lines still to be ordered for the job (none once ordered)."""
    if quote is None or quote.status != "accepted" or quote.parts_ordered_at is not None:
        return []
    return [ln for ln in quote.lines if ln.to_order and ln.part_id is not None]


def order_quoted_parts(
    session: Session, *, ticket: Ticket, principal: Principal, at: datetime | None = None
) -> Reservation:
    """Order what the accepted quote marks "to order", in one go: held at the network's
    store, and what the store lacks ordered (the job then waits for the parts, lifecycle
    `wait_parts`, and goes back to dispatch when they are in). The engineer collects them
    (领料) on the second visit and completing the job consumes them. A job that is over
    orders nothing."""
    if ticket.status not in ANSWERABLE:
        raise Conflict("quote.order_not_now", status=Term.of(STATUS_LABELS, ticket.status))
    accepted = session.scalars(
        select(Quote)
        .where(Quote.ticket_id == ticket.id, Quote.status == "accepted")
        .order_by(Quote.id.desc())
    ).first()
    lines = quote_to_order(accepted)
    if accepted is None or not lines:
        raise Conflict("quote.nothing_to_order")
    wanted = []
    for ln in lines:
        part = session.get_one(Part, ln.part_id)
        wanted.append(PartLine(part.code, ln.quantity, part.name))
    result = parts_flows.request_parts(session, ticket=ticket, lines=wanted, principal=principal)
    accepted.parts_ordered_at = at or utcnow()
    session.flush()
    return result


def my_link(base: str, ticket: Ticket, page: str = "") -> str:
    """The customer's page of the ticket in the self-service portal (absolute when the
    portal's address is known)."""
    path = f"/my/tickets/{ticket.number}" + (f"/{page}" if page else "")
    return base.rstrip("/") + path if base else path
