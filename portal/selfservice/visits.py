"""The customer's visit under /my: when it is booked, and moving or cancelling it with the
rules the bot's customer API applies (moved only until the engineer is on site, cancelled
only while the lifecycle lets a customer cancel), the window read as the console reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.dispatch import service as dispatch
from portal.errors import Conflict, Invalid
from portal.i18n import STATUS_LABELS, Lang, Term, t
from portal.intake.windows import (
    DAY_PARTS,
    MAX_AHEAD,
    VisitWindow,
    WindowError,
    bookable,
    now_local,
    part_of,
)
from portal.security import Principal
from portal.tickets import flows as ticket_flows
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket
from portal.tickets.schemas import TicketUpdate

# The parts of the day a customer picks from (the intake's table: 8–12, 13–18, 18–20).
PARTS = tuple(p for p in DAY_PARTS if p.key in ("morning", "afternoon", "evening"))


@dataclass(frozen=True, slots=True)
class VisitView:
    """The visit as its customer sees it."""

    expected: ticket_flows.ExpectedVisit  # the one time every view says
    can_move: bool
    can_cancel: bool
    first_day: date
    last_day: date

    @property
    def window(self) -> VisitWindow | None:
        """The window the customer asked for (dispatch books its day)."""
        return self.expected.window

    @property
    def visit_date(self) -> date | None:
        """The day dispatch booked."""
        return self.expected.day


def visit_view(session: Session, ticket: Ticket, *, now: datetime | None = None) -> VisitView:
    """The booked time of the ticket's visit and what the customer may do with it."""
    today = (now or now_local()).date()
    return VisitView(
        expected=ticket_flows.expected_visit(session, ticket),
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
    """Move the visit to another window; refused once the engineer is on site. A booked
    visit moves with it, out of the old day's route, to be planned on the new day."""
    if ticket.status not in lifecycle.BEFORE_ARRIVAL:
        raise Conflict(
            "error.reschedule_not_allowed", current=Term.of(STATUS_LABELS, ticket.status)
        )
    window = read_choice(day, part, now=now)
    moved = TicketUpdate(preferred_time=window.canonical)
    tickets.update_ticket(session, ticket=ticket, data=moved)
    dispatch.follow_customer_window(session, ticket=ticket)
    # The engineer and the dispatcher read the ticket's notes: the change is said there.
    tickets.add_comment(
        session,
        ticket=ticket,
        body=t("bot.rescheduled_note", window=window.label("zh")),
        internal=True,
        principal=principal,
    )
    return window


def statement(view: VisitView, lang: Lang) -> str:
    """The visit in one sentence, the same every view says (tickets.flows.expected_visit)."""
    return view.expected.text(lang)


def default_day(view: VisitView) -> date:
    """The day the form offers first: the asked-for day while ahead, else tomorrow."""
    if view.window and view.window.start.date() >= view.first_day:
        return view.window.start.date()
    return view.first_day + timedelta(days=1)


def default_part(view: VisitView) -> str:
    """The part of the day the form offers first: the booked one, else the afternoon."""
    booked = part_of(view.window) if view.window else None
    return next((p.key for p in PARTS if p.key == booked), "afternoon")
