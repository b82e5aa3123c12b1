"""What the self-service pages read: a customer's view of their tickets, and the FAQ."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.dispatch.models import DispatchVisit
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


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def answer_html(text: str) -> Markup:
    """An FAQ answer's light Markdown (bold, "- " lists, paragraphs) as safe HTML."""
    blocks: list[str] = []
    items: list[str] = []

    def inline(line: str) -> str:
        return _BOLD.sub(r"<strong>\1</strong>", html.escape(line))

    def close_list() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in text.strip().splitlines():
        line = raw.strip()
        if line.startswith(("- ", "* ")):
            items.append(inline(line[2:]))
            continue
        close_list()
        if line:
            blocks.append(f"<p>{inline(line)}</p>")
    close_list()
    return Markup("".join(blocks))


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
    hits = kb.search(query, k=k)
    return [_item(h) for h in hits if str(getattr(h.band, "value", h.band)) != "none"]
