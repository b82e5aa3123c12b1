"""What the self-service pages read: a customer's view of their tickets, and the FAQ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.analytics.sql import fault_code
from portal.assets import service as assets
from portal.assets.models import Asset
from portal.customers.models import Customer
from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.fees import service as fees
from portal.fees.models import Quote, Receipt
from portal.field.models import WorkRecord
from portal.knowledge import service as knowledge
from portal.networks.models import Engineer
from portal.security import Principal
from portal.tickets import flows as ticket_flows
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketEvent

# Intake fields a customer may add on top of what the template requires to open a ticket.
EXTRA_FIELDS = ("address", "preferred_time", "fault_started", "urgency")
URGENCIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True, slots=True)
class TicketView:
    """One ticket as its customer sees it."""

    ticket: Ticket
    events: list[TicketEvent]
    engineer_name: str
    engineer_phone: str
    eta: datetime | None
    can_rate: bool
    score: int | None
    comment: str


def ticket_view(session: Session, ticket: Ticket) -> TicketView:
    """The customer's view: timeline, engineer, ETA and rating."""
    engineer = session.get(Engineer, ticket.engineer_id) if ticket.engineer_id else None
    rated = [e for e in ticket.events if e.action == "evaluate"]
    payload: dict[str, Any] = rated[-1].payload if rated else {}
    score = payload.get("score")
    return TicketView(
        ticket=ticket,
        events=tickets.timeline(ticket),
        engineer_name=engineer.name if engineer else "",
        engineer_phone=engineer.phone if engineer else "",
        eta=ticket_flows.eta(session, ticket),
        can_rate="evaluate" in lifecycle.allowed_actions(ticket, lifecycle.CUSTOMER),
        score=int(score) if isinstance(score, int) else None,
        comment=str(payload.get("comment") or ""),
    )


# ---------------------------------------------------------------- warranty, quotes, receipt

# Once the work is done the warranty's proof no longer changes what was charged.
DONE = frozenset({"completed", "evaluated", "pending_settlement", "settled", "closed", "cancelled"})


@dataclass(frozen=True, slots=True)
class MoneyView:
    """What a ticket costs its customer: the warranty and how it was decided, the quotes, and
    once the work is done its record, the fee by the rate card and what was paid."""

    warranty: fees.Warranty
    evidence: dict[str, Any] | None
    can_give_evidence: bool
    quotes: list[Quote]
    record: WorkRecord | None
    completed_at: datetime | None
    pricing: fees.Pricing | None
    receipts: list[Receipt]
    # Completed and not reopened: the page is then the record, the fee and the receipt.
    done: bool

    @property
    def quote(self) -> Quote | None:
        """The latest quote."""
        return self.quotes[0] if self.quotes else None

    @property
    def accepted(self) -> Quote | None:
        """The quote the customer accepted, if any."""
        return next((q for q in self.quotes if q.status == "accepted"), None)

    @property
    def vs_quote(self) -> fees.VsQuote | None:
        """The charge beside the accepted quote, once the work is done."""
        return fees.against_quote(self.pricing, self.accepted) if self.pricing else None

    @property
    def paid(self) -> Decimal:
        """What the customer paid so far."""
        return sum((r.amount for r in self.receipts), Decimal("0.00"))


def money_view(session: Session, ticket: Ticket) -> MoneyView:
    """The customer's view of the ticket's money, warranty and work record."""
    completed_at = next(
        (e.created_at for e in reversed(ticket.events) if e.action == "complete"), None
    )
    day = fees.service_day(ticket) if completed_at else utcnow().astimezone(fees.LOCAL).date()
    record = None
    if completed_at is not None:
        record = session.scalars(
            select(WorkRecord)
            .where(WorkRecord.ticket_id == ticket.id)
            .order_by(WorkRecord.id.desc())
            .limit(1)
        ).first()
    return MoneyView(
        warranty=fees.warranty(session, ticket=ticket, on=day),
        evidence=fees.evidence_of(ticket),
        can_give_evidence=ticket.asset_id is None and ticket.status not in DONE,
        quotes=fees.quotes_of(session, ticket_id=ticket.id),
        record=record,
        completed_at=completed_at,
        done=completed_at is not None and ticket.status in DONE,
        pricing=fees.price_ticket(session, ticket=ticket) if completed_at else None,
        receipts=fees.receipts_of(session, ticket_id=ticket.id),
    )


def give_evidence(
    session: Session,
    *,
    ticket: Ticket,
    purchase_date: date | None,
    invoice: bytes,
    filename: str,
    principal: Principal,
    root: Path,
    max_bytes: int,
) -> None:
    """Keep the customer's proof of purchase (the date and an invoice photo) on a ticket
    without a registered unit; the warranty is then judged from it (fees.warranty)."""
    if ticket.asset_id is not None or ticket.status in DONE:
        raise Conflict("my.warranty.closed")
    today = utcnow().astimezone(fees.LOCAL).date()
    if purchase_date is None or purchase_date > today or purchase_date.year < 1990:
        raise Invalid("my.warranty.bad_date", field="purchase_date")
    if not invoice:
        raise Invalid("my.warranty.invoice_missing", field="invoice")
    attachment = tickets.save_attachment(
        session,
        ticket=ticket,
        filename=filename or "invoice",
        data=invoice,
        principal=principal,
        root=root,
        max_bytes=max_bytes,
    )
    ticket.details = {
        **ticket.details,
        fees.EVIDENCE: {
            "purchase_date": purchase_date.isoformat(),
            "invoice_id": attachment.id,
            "at": utcnow().isoformat(),
        },
    }
    session.flush()


def quote_of(session: Session, *, ticket: Ticket, quote_id: int) -> Quote:
    """One of the ticket's quotes (404 for any other)."""
    quote = session.get(Quote, quote_id)
    if quote is None or quote.ticket_id != ticket.id:
        raise NotFound("object.quote")
    return quote


# ---------------------------------------------------------------- the help centre


@dataclass(frozen=True, slots=True)
class FaqItem:
    """One FAQ entry ready to show."""

    id: str
    question: str
    answer: Markup
    category: str


def answer_html(text: str) -> Markup:
    """An FAQ answer's Markdown as safe HTML (the knowledge base's one renderer)."""
    return knowledge.answer_html(text)


def _item(entry: Any) -> FaqItem:
    return FaqItem(
        id=str(entry.id),
        question=str(entry.question),
        answer=answer_html(str(entry.answer)),
        category=str(getattr(entry, "category", "")),
    )


def _in_lang(entries: list[Any], lang: str) -> list[Any]:
    # Entries say which language they are in; show the reader's, or all when none match.
    matching = [e for e in entries if getattr(e, "lang", "zh") == lang]
    return matching or entries


def faq_categories(kb: Any, lang: str) -> list[str]:
    """The categories that have entries in the reader's language."""
    return sorted({str(e.category) for e in _in_lang(list(kb.entries()), lang)})


def faq_entries(kb: Any, *, category: str | None, lang: str, limit: int = 50) -> list[FaqItem]:
    """Entries of one category (or all), in the reader's language."""
    return [_item(e) for e in _in_lang(list(kb.entries(category)), lang)[:limit]]


def faq_hits(hits: list[Any]) -> list[FaqItem]:
    """Search hits ready to show; weak matches (band "none") are left out."""
    return [_item(h) for h in hits if str(getattr(h.band, "value", h.band)) != "none"]


def faq_entry(kb: Any, entry_id: str) -> FaqItem | None:
    """One entry ready to show, or None."""
    entry = kb.get(entry_id)
    return _item(entry) if entry is not None else None


def faq_related(kb: Any, item: FaqItem, *, k: int = 4) -> list[FaqItem]:
    """Other entries close to this one's question."""
    return [i for i in faq_hits(kb.search(item.question, k=k + 1)) if i.id != item.id][:k]


@dataclass(frozen=True, slots=True)
class Ranked:
    """An FAQ entry on a ranked list, with its date (newest) or its reads (most read)."""

    item: FaqItem
    at: datetime | None = None
    reads: int = 0


def _shown(kb: Any, entry_id: str, lang: str) -> FaqItem | None:
    entry = kb.get(entry_id)
    if entry is None or getattr(entry, "lang", "zh") != lang:
        return None
    return _item(entry)


def newest_entries(session: Session, kb: Any, *, lang: str, limit: int = 5) -> list[Ranked]:
    """The entries editors created or changed last, in the reader's language."""
    out: list[Ranked] = []
    for entry_id, at in knowledge.newest(session):
        item = _shown(kb, entry_id, lang)
        if item is not None:
            out.append(Ranked(item, at=at))
        if len(out) == limit:
            break
    return out


def popular_entries(session: Session, kb: Any, *, lang: str, limit: int = 5) -> list[Ranked]:
    """The entries customers opened most, in the reader's language."""
    out: list[Ranked] = []
    for entry_id, reads in knowledge.most_read(session):
        item = _shown(kb, entry_id, lang)
        if item is not None:
            out.append(Ranked(item, reads=reads))
        if len(out) == limit:
            break
    return out


# ---------------------------------------------------------------- my products, my search


def today() -> date:
    """Today in the customers' zone."""
    return utcnow().astimezone(fees.LOCAL).date()


def my_units(session: Session, *, customer_id: int) -> list[Asset]:
    """The customer's registered units, newest first."""
    return sorted(
        assets.list_assets(session, customer_id=customer_id),
        key=lambda a: (a.created_at, a.id),
        reverse=True,
    )


def unit_address(unit: Asset, customer: Customer) -> str:
    """Where the unit is installed, as one line ("" when not on file)."""
    place = next((a for a in customer.addresses if a.id == unit.address_id), None)
    return place.full if place is not None else ""


def usual_address(session: Session, *, customer: Customer) -> str:
    """The address a new request starts with: the last one the customer reported a fault
    at, else their profile's (the default one, else the first); "" when there is none."""
    last = session.scalars(
        select(Ticket.address)
        .where(Ticket.customer_id == customer.id, Ticket.address != "")
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()
    if last:
        return last
    kept = sorted(customer.addresses, key=lambda a: (not a.is_default, a.id))
    return kept[0].full if kept else ""


def _words(q: str) -> list[str]:
    return [w for w in q.replace("，", " ").replace(",", " ").split() if w]


def ticket_matches(ticket: Ticket, q: str) -> bool:
    """Whether a ticket is what the customer searched for: its number, its product (line,
    model or serial), its fault code or words of its fault description."""
    text = q.strip().upper()
    if not text:
        return False
    fields = [
        ticket.number,
        ticket.product,
        ticket.model_code,
        ticket.serial_number,
        ticket.fault_description,
    ]
    haystack = " ".join(f.upper() for f in fields if f)
    code = fault_code(text)
    if code and code == fault_code(ticket.fault_description):
        return True
    if ticket.product and ticket.product.upper() in text:
        return True
    return all(word in haystack for word in _words(text))


def search_my_tickets(session: Session, *, principal: Principal, q: str) -> list[Ticket]:
    """The signed-in customer's own tickets that match (only theirs: the ticket list is
    scoped to the principal), newest first."""
    rows, _total = tickets.list_tickets(session, principal=principal, page_size=100)
    return [t for t in rows if ticket_matches(t, q)][:20]
