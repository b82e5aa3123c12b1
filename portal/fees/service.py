"""Pricing a ticket: in or out of warranty, the rate card in force, labour time, mileage and
parts at price; quotes the customer accepts and the receipts of what they paid.

Money is Decimal throughout; distances are Decimal kilometres to one place. Keyword-only;
flushes, never commits.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.assets import service as assets
from portal.assets.models import Asset, ProductModel
from portal.customers.models import CustomerAddress
from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.fees.models import ANY, DistanceBand, Quote, QuoteLine, RateCard, RateLine, Receipt
from portal.i18n import t
from portal.networks.models import ServiceNetwork
from portal.parts import service as parts
from portal.parts.models import Part
from portal.settlement import ledger, memos
from portal.tickets.models import Ticket

LOCAL = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")
HALF_HOUR = 30
# Ticket type -> the service type rate lines are keyed by (a complaint or consultation that
# needs a visit is priced as a repair visit).
SERVICE_TYPE = {
    "installation": "installation",
    "repair": "repair",
    "maintenance": "maintenance",
    "consultation": "repair",
    "complaint": "repair",
}
# Fault causes (ticket.details["fault_cause"]) that the warranty does not cover. Of the causes
# the engineer records on an in-warranty job (portal/costs/causes.py) only misuse is one: the
# published terms (FAQ "哪些情况不在保修范围内") exclude 人为损坏 and use against the manual,
# so 使用不当 is charged like an expired unit. The others decide which cost centre bears the
# job, not whether the manufacturer pays for it.
NOT_COVERED = frozenset(
    {"misuse", "improper_use", "external", "人为损坏", "使用不当", "外部原因", "非质量问题"}
)
PAYMENT_METHODS = ("cash", "wechat", "alipay", "card")
# ticket.details key of the customer's proof of purchase (see `evidence_of`).
EVIDENCE = "warranty_evidence"
# A unit's whole-unit warranty when neither its model nor its category's terms are known:
# the statutory year (三包). Categories' terms are master data (assets.standard_months).
DEFAULT_WARRANTY_MONTHS = assets.STATUTORY_MONTHS


@dataclass(frozen=True, slots=True)
class Warranty:
    """Whether the manufacturer pays, and why."""

    covered: bool
    reason: str  # in_warranty | expired | no_asset | cause | evidence | evidence_expired

    @property
    def code(self) -> str:
        """ "in" or "out", as rate lines are keyed."""
        return "in" if self.covered else "out"

    @property
    def status(self) -> str:
        """ "in", "out", or "unknown" while there is neither a unit on file nor a proof of
        purchase: what people are told. The price still follows `code` (a quote first)."""
        return "unknown" if self.reason == "no_asset" else self.code


@dataclass(frozen=True, slots=True)
class PricedPart:
    """A part on a ticket with what it costs and what it is charged at."""

    part: Part
    quantity: int

    @property
    def cost(self) -> Decimal:
        """Quantity at unit cost."""
        return ledger.money(self.part.unit_cost * self.quantity)

    @property
    def price(self) -> Decimal:
        """Quantity at unit price."""
        return ledger.money(self.part.unit_price * self.quantity)


@dataclass(slots=True)
class Pricing:
    """Everything a ticket's fees are made of."""

    warranty: Warranty
    service_type: str
    category: str
    card: RateCard | None
    line: RateLine | None
    on_site_minutes: int = 0
    extra_half_hours: int = 0
    distance_km: Decimal = Decimal("0.0")
    band: DistanceBand | None = None
    service_fee: Decimal = ZERO
    labour_time_fee: Decimal = ZERO
    mileage_fee: Decimal = ZERO
    engineer_pay: Decimal = ZERO
    engineer_time_pay: Decimal = ZERO
    engineer_mileage: Decimal = ZERO
    parts: list[PricedPart] = field(default_factory=list)
    # The total of the quote the customer accepted (out of warranty): the most they are
    # charged, whatever the time on site came to. None without an accepted quote.
    quote_cap: Decimal | None = None

    @property
    def labour_total(self) -> Decimal:
        """Visit, extra time and mileage."""
        return self.service_fee + self.labour_time_fee + self.mileage_fee

    @property
    def parts_price(self) -> Decimal:
        """The parts at price."""
        return sum((p.price for p in self.parts), ZERO)

    @property
    def parts_cost(self) -> Decimal:
        """The parts at cost."""
        return sum((p.cost for p in self.parts), ZERO)

    @property
    def work_total(self) -> Decimal:
        """The work done at the rate card's prices, before the accepted quote caps it."""
        return self.labour_total + self.parts_price

    @property
    def customer_total(self) -> Decimal:
        """What the customer pays: nothing in warranty, else the work done, but never more
        than the quote they accepted (less when less was done)."""
        if self.warranty.covered:
            return ZERO
        if self.quote_cap is not None:
            return min(self.work_total, self.quote_cap)
        return self.work_total

    @property
    def waived(self) -> Decimal:
        """What the work done came to beyond the accepted quote: not charged."""
        return ZERO if self.warranty.covered else self.work_total - self.customer_total


# ---- rate cards --------------------------------------------------------------------------


def card_for(session: Session, *, on: date, code: str | None = None) -> RateCard | None:
    """The rate card in force on that day: the latest start, then the highest version."""
    stmt = (
        select(RateCard)
        .where(
            RateCard.effective_from <= on,
            or_(RateCard.effective_to.is_(None), RateCard.effective_to > on),
        )
        .order_by(RateCard.effective_from.desc(), RateCard.version.desc(), RateCard.id.desc())
    )
    if code:
        stmt = stmt.where(RateCard.code == code)
    return session.scalars(stmt).first()


def list_cards(session: Session) -> list[RateCard]:
    """Every rate card version, newest first."""
    return list(
        session.scalars(
            select(RateCard).order_by(RateCard.code, RateCard.version.desc(), RateCard.id)
        )
    )


def add_card(
    session: Session,
    *,
    code: str,
    name: str,
    effective_from: date,
    lines: list[RateLine],
    bands: list[DistanceBand],
) -> RateCard:
    """A new version of a rate card; the previous open-ended version ends where it starts."""
    previous = session.scalars(
        select(RateCard).where(RateCard.code == code).order_by(RateCard.version.desc())
    ).first()
    if previous is not None and effective_from <= previous.effective_from:
        raise Invalid("fees.card_not_later", field="effective_from")
    if previous is not None and (
        previous.effective_to is None or previous.effective_to > effective_from
    ):
        previous.effective_to = effective_from
    for band in bands:
        if band.max_km is not None and band.max_km <= band.min_km:
            raise Invalid("fees.band_empty", field="bands", low=band.min_km, high=band.max_km)
    bounds = sorted(bands, key=lambda b: b.min_km)
    for lower, upper in zip(bounds, bounds[1:], strict=False):
        if lower.max_km is None or lower.max_km > upper.min_km:
            raise Invalid("fees.bands_overlap", field="bands")
    card = RateCard(
        code=code,
        version=(previous.version + 1) if previous else 1,
        name=name,
        effective_from=effective_from,
        lines=lines,
        bands=bounds,
    )
    session.add(card)
    session.flush()
    return card


def line_for(card: RateCard, *, service_type: str, category: str, warranty: str) -> RateLine | None:
    """The card's most specific line for the job ("*" matches any)."""
    best: tuple[int, RateLine] | None = None
    for line in card.lines:
        if line.warranty != warranty:
            continue
        if line.service_type not in (service_type, ANY) or line.product_category not in (
            category,
            ANY,
        ):
            continue
        score = (line.service_type != ANY) * 2 + (line.product_category != ANY)
        if best is None or score > best[0]:
            best = (score, line)
    return best[1] if best else None


def band_for(card: RateCard, *, km: Decimal) -> DistanceBand | None:
    """The distance band the kilometres fall in."""
    for band in card.bands:
        if band.min_km <= km and (band.max_km is None or km < band.max_km):
            return band
    return None


# ---- what the ticket was -----------------------------------------------------------------


def category_of(session: Session, *, ticket: Ticket) -> str:
    """The ticket's product category: its asset's, else what the ticket names."""
    if ticket.asset_id is not None:
        asset = session.get(Asset, ticket.asset_id)
        if asset is not None:
            return asset.model.product.category
    return ticket.product or ANY


def evidence_of(ticket: Ticket) -> dict[str, Any] | None:
    """The customer's proof of purchase on a ticket without a registered unit (the self-service
    page stores it): {"purchase_date": ISO date, "invoice_id": attachment id, "at": ISO time}."""
    raw = ticket.details.get(EVIDENCE) if isinstance(ticket.details, dict) else None
    return raw if isinstance(raw, dict) else None


def evidence_end(session: Session, *, ticket: Ticket, purchased: date) -> date:
    """The day the warranty of a unit bought on `purchased` ends: its model's whole-unit
    warranty when the ticket names a model, else its product category's published terms
    (master data, as the FAQ says them), else the statutory year (三包)."""
    model = (
        session.scalars(select(ProductModel).where(ProductModel.code == ticket.model_code)).first()
        if ticket.model_code
        else None
    )
    if model is not None:
        months = model.warranty_months
    else:
        category = assets.category_of(session, product=ticket.product)
        months = assets.standard_months(session, category=category, product=ticket.product)
    return purchased + relativedelta(months=months)


def warranty(session: Session, *, ticket: Ticket, on: date) -> Warranty:
    """In warranty when the asset's warranty runs on that day and the fault is one it covers.
    Without a registered unit, the customer's proof of purchase (date and invoice photo)
    stands in for it."""
    asset = session.get(Asset, ticket.asset_id) if ticket.asset_id is not None else None
    if asset is None:
        proof = evidence_of(ticket)
        try:
            purchased = date.fromisoformat(str(proof["purchase_date"])) if proof else None
        except ValueError:
            purchased = None
        if proof is None or purchased is None or not proof.get("invoice_id"):
            return Warranty(False, "no_asset")
        if on > evidence_end(session, ticket=ticket, purchased=purchased):
            return Warranty(False, "evidence_expired")
        cause = ticket.details.get("fault_cause")
        return Warranty(False, "cause") if cause in NOT_COVERED else Warranty(True, "evidence")
    if not asset.in_warranty(on):
        return Warranty(False, "expired")
    cause = ticket.details.get("fault_cause") if isinstance(ticket.details, dict) else None
    if cause in NOT_COVERED:
        return Warranty(False, "cause")
    return Warranty(True, "in_warranty")


@dataclass(frozen=True, slots=True)
class WarrantyFacts:
    """The warranty as staff read it: the decision, the day it ends, what it rests on."""

    warranty: Warranty
    until: date | None
    basis: str  # asset | evidence | none
    purchase_date: str = ""
    invoice_id: int | None = None


def warranty_facts(session: Session, *, ticket: Ticket, on: date) -> WarrantyFacts:
    """The ticket's warranty decision on that day with its end date and its evidence."""
    decided = warranty(session, ticket=ticket, on=on)
    asset = session.get(Asset, ticket.asset_id) if ticket.asset_id is not None else None
    if asset is not None:
        return WarrantyFacts(decided, asset.warranty_end, "asset")
    proof = evidence_of(ticket)
    if proof:
        bought = str(proof.get("purchase_date") or "")
        try:
            until = evidence_end(session, ticket=ticket, purchased=date.fromisoformat(bought))
        except ValueError:
            until = None
        invoice = proof.get("invoice_id")
        return WarrantyFacts(decided, until, "evidence", bought, int(invoice) if invoice else None)
    return WarrantyFacts(decided, None, "none")


def _last(ticket: Ticket, action: str) -> datetime | None:
    return next((e.created_at for e in reversed(ticket.events) if e.action == action), None)


def service_day(ticket: Ticket) -> date:
    """The day the work was done (the last completion), else the day it was opened."""
    when = _last(ticket, "complete") or ticket.created_at
    return when.astimezone(LOCAL).date()


def on_site_minutes(ticket: Ticket, *, until: datetime | None = None) -> int:
    """Whole minutes from the last arrival to the completion after it (before completion,
    to `until` when given: the time on site so far)."""
    done = _last(ticket, "complete") or until
    if done is None:
        return 0
    arrived = next(
        (
            e.created_at
            for e in reversed(ticket.events)
            if e.action == "arrive" and e.created_at <= done
        ),
        None,
    )
    if arrived is None:
        return 0
    return (done - arrived) // timedelta(minutes=1)


def extra_half_hours(minutes: int, included: int) -> int:
    """Started half hours beyond what the visit fee includes."""
    over = minutes - included
    return 0 if over <= 0 else -(-over // HALF_HOUR)


def _haversine_km(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> Decimal:
    # Geometry is done in float (trigonometry); only the result, rounded to 0.1 km through
    # its text, becomes a Decimal. No money is involved.
    lat1, lng1, lat2, lng2 = (math.radians(float(v)) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    km = 2 * 6371.0 * math.asin(math.sqrt(h))
    return Decimal(f"{km:.1f}")


def distance_km(session: Session, *, ticket: Ticket) -> Decimal:
    """The visit's distance: the mileage the engineer reported (details.distance_km), else the
    straight line from the network to the customer's address."""
    reported = ticket.details.get("distance_km") if isinstance(ticket.details, dict) else None
    if isinstance(reported, int | str) and not isinstance(reported, bool):
        try:
            km = Decimal(str(reported)).quantize(Decimal("0.1"))
        except ArithmeticError:
            km = None
        if km is not None and km.is_finite() and km >= 0:
            return km
    if ticket.network_id is None:
        return Decimal("0.0")
    net = session.get(ServiceNetwork, ticket.network_id)
    addresses = session.scalars(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == ticket.customer_id)
        .order_by(CustomerAddress.is_default.desc(), CustomerAddress.id)
    ).all()
    site = next((a for a in addresses if a.full == ticket.address), None) or (
        addresses[0] if addresses else None
    )
    if net is None or site is None or None in (net.lat, net.lng, site.lat, site.lng):
        return Decimal("0.0")
    return _haversine_km((net.lat, net.lng), (site.lat, site.lng))  # type: ignore[arg-type]


def _ticket_parts(session: Session, *, ticket: Ticket, planned: bool) -> list[PricedPart]:
    counts = parts.consumed_on(session, ticket_id=ticket.id)
    if planned and not counts:
        for res in parts.held_for(session, ticket_id=ticket.id):
            counts[res.part_id] = counts.get(res.part_id, 0) + res.quantity
        for order in parts.open_shortages(session, ticket_id=ticket.id):
            counts[order.part_id] = counts.get(order.part_id, 0) + order.quantity
    if not counts:
        return []
    rows = session.scalars(select(Part).where(Part.id.in_(counts)).order_by(Part.code))
    return [PricedPart(p, counts[p.id]) for p in rows]


def accepted_quote(session: Session, *, ticket_id: int) -> Quote | None:
    """The quote the customer accepted last (a newer accepted quote replaces an older one)."""
    return session.scalars(
        select(Quote)
        .where(Quote.ticket_id == ticket_id, Quote.status == "accepted")
        .order_by(Quote.id.desc())
    ).first()


def price_ticket(
    session: Session,
    *,
    ticket: Ticket,
    on: date | None = None,
    planned: bool = False,
    until: datetime | None = None,
    fitted: list[tuple[Part, int]] | None = None,
) -> Pricing:
    """What the ticket's job is worth by the rate card of its service day: to the network, to
    the engineer and (out of warranty) to the customer, at most the quote they accepted.
    `planned`: count the parts held or on order when none were fitted yet (for a quote);
    `until`: before completion, the time on site so far; `fitted`: the parts as the work
    record has them before completion consumes them."""
    day = on or service_day(ticket)
    cover = warranty(session, ticket=ticket, on=day)
    stype = SERVICE_TYPE.get(ticket.type, "repair")
    category = category_of(session, ticket=ticket)
    card = card_for(session, on=day)
    line = (
        line_for(card, service_type=stype, category=category, warranty=cover.code) if card else None
    )
    out = Pricing(warranty=cover, service_type=stype, category=category, card=card, line=line)
    out.parts = (
        [PricedPart(p, q) for p, q in fitted]
        if fitted is not None
        else _ticket_parts(session, ticket=ticket, planned=planned)
    )
    accepted = accepted_quote(session, ticket_id=ticket.id) if not cover.covered else None
    # A quote the manufacturer was to pay (in warranty when sent) promised the customer no
    # price; only one they agreed to pay caps what they pay.
    if accepted is not None and accepted.payer == "customer":
        out.quote_cap = ledger.money(accepted.total)
    if line is None:
        return out
    out.on_site_minutes = on_site_minutes(ticket, until=until)
    out.extra_half_hours = extra_half_hours(out.on_site_minutes, line.included_minutes)
    halves = Decimal(out.extra_half_hours) / 2
    out.service_fee = ledger.money(line.service_fee)
    out.labour_time_fee = ledger.money(line.hour_rate * halves)
    out.engineer_pay = ledger.money(line.engineer_pay)
    out.engineer_time_pay = ledger.money(line.engineer_hour_rate * halves)
    out.distance_km = distance_km(session, ticket=ticket)
    assert card is not None
    out.band = band_for(card, km=out.distance_km)
    if out.band is not None:
        out.mileage_fee = ledger.money(out.band.fee)
        out.engineer_mileage = ledger.money(out.band.engineer_pay)
    return out


# ---- quotes and receipts -----------------------------------------------------------------


def _number(prefix: str, at: datetime) -> str:
    return f"{prefix}{at.astimezone(LOCAL):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def quote_number(at: datetime) -> str:
    """A new quote's number (BJ, the day, a random suffix)."""
    return _number("BJ", at)


def quote_lines(pricing: Pricing) -> list[QuoteLine]:
    """A priced job's quote lines (the visit, mileage, each part), each keeping what it means
    so that it reads in the reader's language."""
    lines = [
        QuoteLine(
            kind="labour",
            description=t("quote.kind.labour"),
            description_parts=[memos.said("quote.kind.labour")],
            quantity=1,
            unit_price=pricing.service_fee,
            amount=pricing.service_fee,
        )
    ]
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
    for p in pricing.parts:
        lines.append(
            QuoteLine(
                kind="part",
                description=f"{p.part.name}（{p.part.code}）",
                description_parts=[memos.part(p.part.code, p.part.name, p.part.name_en)],
                part_id=p.part.id,
                quantity=p.quantity,
                unit_price=ledger.money(p.part.unit_price),
                amount=p.price,
            )
        )
    return lines


def create_quote(
    session: Session, *, ticket: Ticket, actor: str, at: datetime | None = None
) -> Quote:
    """Price the job for the customer (labour, mileage, the parts planned) and send the quote;
    an earlier quote still open is superseded."""
    when = at or utcnow()
    pricing = price_ticket(session, ticket=ticket, on=when.astimezone(LOCAL).date(), planned=True)
    if pricing.line is None:
        raise Conflict("fees.no_rate")
    for old in session.scalars(
        select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "sent")
    ):
        old.status, old.decided_at, old.decided_by = "superseded", when, actor
    lines = quote_lines(pricing)
    total = sum((ln.amount for ln in lines), ZERO)
    quote = Quote(
        number=_number("BJ", when),
        ticket_id=ticket.id,
        warranty=pricing.warranty.code,
        payer="manufacturer" if pricing.warranty.covered else "customer",
        total=total if not pricing.warranty.covered else ZERO,
        status="sent",
        created_by=actor,
        created_at=when,
        lines=lines,
    )
    session.add(quote)
    session.flush()
    return quote


def get_quote(session: Session, *, quote_id: int) -> Quote:
    """A quote by id."""
    row = session.get(Quote, quote_id)
    if row is None:
        raise NotFound("object.quote")
    return row


def quotes_of(session: Session, *, ticket_id: int) -> list[Quote]:
    """A ticket's quotes, newest first."""
    return list(
        session.scalars(select(Quote).where(Quote.ticket_id == ticket_id).order_by(Quote.id.desc()))
    )


def decide_quote(
    session: Session, *, quote: Quote, accept: bool, actor: str, at: datetime | None = None
) -> Quote:
    """The customer accepts or rejects a sent quote."""
    if quote.status != "sent":
        raise Conflict("fees.quote_decided")
    when = at or utcnow()
    if accept:  # a new quote accepted replaces the one accepted before (one price stands)
        for old in session.scalars(
            select(Quote).where(
                Quote.ticket_id == quote.ticket_id, Quote.status == "accepted", Quote.id != quote.id
            )
        ):
            old.status = "superseded"
    quote.status = "accepted" if accept else "rejected"
    quote.decided_by, quote.decided_at = actor, when
    session.flush()
    return quote


def require_accepted_quote(session: Session, *, ticket: Ticket, on: datetime) -> None:
    """Paid (out-of-warranty) work starts only after the customer accepted a quote."""
    cover = warranty(session, ticket=ticket, on=on.astimezone(LOCAL).date())
    if cover.covered:
        return
    accepted = session.scalars(
        select(Quote.id).where(Quote.ticket_id == ticket.id, Quote.status == "accepted")
    ).first()
    if accepted is None:
        raise Conflict("fees.quote_required")


def record_receipt(
    session: Session,
    *,
    ticket: Ticket,
    amount: Decimal,
    method: str,
    actor: str,
    note: str = "",
    at: datetime | None = None,
) -> Receipt:
    """The customer paid the network for an out-of-warranty job: the receipt is kept with the
    ticket and the cash is booked to the network (idempotent per receipt number)."""
    if method not in PAYMENT_METHODS:
        raise Invalid("validation.invalid", field="method")
    amount = ledger.money(amount)
    if amount <= ZERO:
        raise Invalid("fees.amount_positive", field="amount")
    if ticket.network_id is None:
        raise Conflict("parts.no_network")
    quote = session.scalars(
        select(Quote)
        .where(Quote.ticket_id == ticket.id, Quote.status == "accepted")
        .order_by(Quote.id.desc())
    ).first()
    when = at or utcnow()
    receipt = Receipt(
        number=_number("SJ", when),
        ticket_id=ticket.id,
        quote_id=quote.id if quote else None,
        network_id=ticket.network_id,
        amount=amount,
        method=method,
        note=note,
        recorded_by=actor,
        paid_at=when,
    )
    session.add(receipt)
    session.flush()
    ledger.post(
        session,
        key=f"receipt:{receipt.number}",
        kind="receipt",
        period=ledger.period_of(when),
        postings=[
            ledger.Posting(
                debit=ledger.network_account(ticket.network_id, "cash"),
                credit=ledger.network_account(ticket.network_id, "revenue"),
                amount=amount,
                kind="receipt",
                memo=receipt.number,
            )
        ],
        actor=actor,
        description_parts=(memos.said("settlement.txn_receipt", number=receipt.number),),
        ticket_id=ticket.id,
        at=when,
    )
    return receipt


def receipts_of(session: Session, *, ticket_id: int) -> list[Receipt]:
    """A ticket's receipts, oldest first."""
    return list(
        session.scalars(select(Receipt).where(Receipt.ticket_id == ticket_id).order_by(Receipt.id))
    )


# ---- the charge against the accepted quote -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    """One reason the charge is not what the accepted quote said: a text key and its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VsQuote:
    """What is charged beside the quote the customer accepted, and why the two differ."""

    quote: Quote
    charged: Decimal
    reasons: list[Difference]
    # What the work came to beyond the quote and is not charged (the quote is the ceiling).
    waived: Decimal = ZERO

    @property
    def same(self) -> bool:
        """The charge is the quoted total and the work came to no more."""
        return self.charged == self.quote.total and not self.waived

    @property
    def capped(self) -> bool:
        """The work came to more than the quote; the quote's total is charged."""
        return self.waived > ZERO


def _quoted_name(line: QuoteLine) -> str:
    # Part lines read "name（code）"; the reasons name the part as the receipt's lines do.
    return line.description.split("（", 1)[0]


def against_quote(pricing: Pricing, quote: Quote | None) -> VsQuote | None:
    """The charge (`pricing`, priced when the work was done) beside the accepted quote: the
    same, or each reason it differs (the warranty decided at completion, labour, mileage,
    parts fitted), so the receipt and the engineer's page say the same thing."""
    if quote is None:
        return None
    charged = pricing.customer_total
    waived = pricing.waived
    if charged == quote.total and not waived:
        return VsQuote(quote, charged, [])
    if pricing.warranty.covered:
        return VsQuote(quote, charged, [Difference("fees.diff.covered")])
    reasons: list[Difference] = []
    if quote.warranty == "in":
        cause = pricing.warranty.reason == "cause"
        reasons.append(Difference("fees.diff.cause" if cause else "fees.diff.not_covered"))
    quoted: dict[str, Decimal] = {}
    for line in quote.lines:
        quoted[line.kind] = quoted.get(line.kind, ZERO) + line.amount
    for kind, now, key in (
        ("labour", pricing.service_fee, "fees.diff.service_fee"),
        ("labour_time", pricing.labour_time_fee, "fees.diff.labour_time"),
        ("mileage", pricing.mileage_fee, "fees.diff.mileage"),
    ):
        then = ledger.money(quoted.get(kind, ZERO))
        if now != then:
            reasons.append(Difference(key, {"now": now, "then": then}))
    fitted = {p.part.id: (p.part.name, p.quantity) for p in pricing.parts}
    asked = {ln.part_id: (_quoted_name(ln), ln.quantity) for ln in quote.lines if ln.part_id}
    for part_id in [*asked, *(i for i in fitted if i not in asked)]:
        name, used = fitted.get(part_id, (asked.get(part_id, ("", 0))[0], 0))
        wanted = asked.get(part_id, (name, 0))[1]
        if used != wanted:
            reasons.append(
                Difference("fees.diff.part", {"name": name, "used": used, "quoted": wanted})
            )
    return VsQuote(quote, charged, reasons, waived)


@dataclass(frozen=True, slots=True)
class Charge:
    """What a done job charges its customer, and how that stands beside the accepted quote."""

    pricing: Pricing
    vs_quote: VsQuote | None


def charge_of(session: Session, *, ticket: Ticket) -> Charge | None:
    """The charge of a job once it was completed (None before): the figure the receipt shows."""
    if _last(ticket, "complete") is None:
        return None
    pricing = price_ticket(session, ticket=ticket)
    return Charge(pricing, against_quote(pricing, accepted_quote(session, ticket_id=ticket.id)))


@dataclass(frozen=True, slots=True)
class Overrun:
    """Before completion: the work so far comes to more than the accepted quote."""

    quote: Quote
    work_total: Decimal
    over: Decimal


def overrun(
    session: Session, *, ticket: Ticket, at: datetime, fitted: list[tuple[Part, int]] | None
) -> Overrun | None:
    """Whether completing now (the time on site so far, the parts `fitted`) would come to more
    than the quote the customer accepted: the engineer is told before completing, since only
    the quote's total is charged unless the customer accepts a new one. Without a work
    record, the parts held or ordered for the job count."""
    pricing = price_ticket(
        session,
        ticket=ticket,
        on=at.astimezone(LOCAL).date(),
        planned=True,
        until=at,
        fitted=fitted,
    )
    if pricing.quote_cap is None or pricing.waived <= ZERO:
        return None
    quote = accepted_quote(session, ticket_id=ticket.id)
    assert quote is not None
    return Overrun(quote, pricing.work_total, pricing.waived)
