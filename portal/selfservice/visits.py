"""The customer's visit under /my: when it is booked, and moving or cancelling it with the
rules the bot's customer API applies (moved only until the engineer is on site, cancelled
only while the lifecycle lets a customer cancel), the window read as the console reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.dispatch.models import DispatchVisit
from portal.errors import Conflict, Invalid
from portal.i18n import STATUS_LABELS, Lang, t
from portal.intake.windows import (
    DAY_PARTS,
    MAX_AHEAD,
    VisitWindow,
    WindowError,
    bookable,
    now_local,
    read_canonical,
)
from portal.security import Principal
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketUpdate

# The parts of the day a customer picks from (the intake's table: 8–12, 13–18, 18–20).
PARTS = tuple(p for p in DAY_PARTS if p.key in ("morning", "afternoon", "evening"))


@dataclass(frozen=True, slots=True)
class VisitView:
    """The visit as its customer sees it."""

    window: VisitWindow | None  # the time the customer asked for
    asked: str  # what the ticket holds when it is no window (e.g. free words)
    visit_date: date | None  # the day dispatch booked
    can_move: bool
    can_cancel: bool
    first_day: date
    last_day: date


def visit_view(session: Session, ticket: Ticket, *, now: datetime | None = None) -> VisitView:
    """The booked time of the ticket's visit and what the customer may do with it."""
    asked = str((ticket.details or {}).get("preferred_time") or "")
    visit = session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()
    today = (now or now_local()).date()
    return VisitView(
        window=read_canonical(asked),
        asked=asked,
        visit_date=visit.visit_date if visit else None,
        can_move=ticket.status in lifecycle.BEFORE_ARRIVAL,
        can_cancel="cancel" in lifecycle.allowed_actions(ticket, lifecycle.CUSTOMER),
        first_day=today,
        last_day=today + MAX_AHEAD,
    )


def read_choice(day: str, part: str, *, now: datetime | None = None) -> VisitWindow:
    """The window a day and a part of the day name, as it can be booked now, or why not."""
    try:
        picked = date.fromisoformat(day.strip())
    except ValueError:
        raise Invalid("my.visit.bad_day", field="preferred_time") from None
    chosen = next((p for p in PARTS if p.key == part), None)
    if chosen is None:
        raise Invalid("my.visit.bad_part", field="preferred_time")
    zone = (now or now_local()).tzinfo
    start = datetime.combine(picked, chosen.start, tzinfo=zone)
    end = datetime.combine(picked, chosen.end, tzinfo=zone)
    try:
        return bookable(VisitWindow(start, end), now)
    except WindowError as exc:
        raise Invalid(f"console.error.window_{exc.reason}", field="preferred_time") from None


def reschedule(
    session: Session,
    *,
    ticket: Ticket,
    day: str,
    part: str,
    principal: Principal,
    now: datetime | None = None,
) -> VisitWindow:
    """Move the visit to another window; refused once the engineer is on site."""
    if ticket.status not in lifecycle.BEFORE_ARRIVAL:
        current_zh, current_en = STATUS_LABELS.get(ticket.status, (ticket.status, ticket.status))
        raise Conflict("error.reschedule_not_allowed", current=current_zh, current_en=current_en)
    window = read_choice(day, part, now=now)
    moved = TicketUpdate(preferred_time=window.canonical)
    tickets.update_ticket(session, ticket=ticket, data=moved)
    # The engineer and the dispatcher read the ticket's notes: the change is said there.
    tickets.add_comment(
        session,
        ticket=ticket,
        body=t("bot.rescheduled_note", window=window.label("zh")),
        internal=True,
        principal=principal,
    )
    return window


def day_label(day: date, lang: Lang) -> str:
    """A day as the customer reads it: 12月9日（周三）."""
    return t(
        "visit.day",
        lang,
        month=t(f"visit.month.{day.month}", lang),
        day=day.day,
        weekday=t(f"handoff.weekday.{day.isoweekday()}", lang),
    )


def statement(view: VisitView, lang: Lang) -> str:
    """The visit in one sentence that cannot contradict itself: the day dispatch agreed, with
    the asked-for window when it falls on that day; else what the customer asked for, not yet
    scheduled; else that nothing is agreed."""
    asked = view.window.label(lang) if view.window else view.asked.strip()
    if view.visit_date is not None:
        if view.window is not None and view.window.start.date() == view.visit_date:
            return t("my.visit.agreed", lang, window=asked)
        day = day_label(view.visit_date, lang)
        if view.window is not None:
            # Asked for another day (moved after dispatch agreed, or booked apart from what
            # was asked): the agreed day stands until the network confirms the other.
            return t("my.visit.agreed_moved", lang, day=day, window=asked)
        return t("my.visit.agreed_day", lang, day=day)
    if asked:
        return t("my.visit.asked_only", lang, asked=asked)
    return t("my.visit.none", lang)


def default_day(view: VisitView) -> date:
    """The day the form offers first: the asked-for day while ahead, else tomorrow."""
    if view.window and view.window.start.date() >= view.first_day:
        return view.window.start.date()
    return view.first_day + timedelta(days=1)
