"""What the self-service pages read: a customer's view of their tickets, and the FAQ."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.dispatch.models import DispatchVisit
from portal.knowledge import service as knowledge
from portal.networks.models import Engineer
from portal.sla.service import timers_of
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


def eta(session: Session, ticket: Ticket) -> datetime | None:
    """When the engineer is expected: the planned visit's ETA, else the arrival deadline."""
    if ticket.status not in lifecycle.BEFORE_ARRIVAL or ticket.status in ("new", "accepted"):
        return None
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    if visit is not None and visit.eta is not None:
        return visit.eta
    arrival = timers_of(session, ticket_id=ticket.id, kinds=("arrival",), states=("pending",))
    return arrival[-1].due_at if arrival else None


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
        eta=eta(session, ticket),
        can_rate="evaluate" in lifecycle.allowed_actions(ticket, lifecycle.CUSTOMER),
        score=int(score) if isinstance(score, int) else None,
        comment=str(payload.get("comment") or ""),
    )


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


def faq_search(kb: Any, query: str, *, k: int = 8) -> list[FaqItem]:
    """The best FAQ entries for a question; weak matches are left out."""
    return faq_hits(kb.search(query, k=k))


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
