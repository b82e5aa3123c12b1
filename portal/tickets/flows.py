"""Ticket work that reads other domains: when the customer may expect the engineer.

The customer's /my pages, the engineer's job page, the dispatcher's panel, the bot's
customer routes and the notifications all promise the same time, so they all ask here
(`expected_visit`): the window the customer asked for, which dispatch books on its day, and
the ETA the published route gives that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.dispatch.models import DispatchVisit
from portal.i18n import Lang, t
from portal.intake.windows import ZONE, VisitWindow, read_canonical
from portal.tickets import lifecycle
from portal.tickets.models import Ticket

# From dispatch until the engineer is on site; before dispatch nobody has the job yet, so no
# time is promised (the response deadline is the desk's, not the customer's visit).
EXPECTING_ENGINEER = frozenset(lifecycle.BEFORE_ARRIVAL - {"new", "accepted"})
# The engineer has been on site (a job waiting for parts expects its second visit instead).
VISITED = frozenset(
    {"arrived", "completed", "evaluated", "pending_settlement", "settled", "closed"}
)


@dataclass(frozen=True, slots=True)
class ExpectedVisit:
    """The one time a ticket's visit is expected, as every view says it."""

    window: VisitWindow | None  # the window the customer asked for (dispatch books its day)
    asked: str  # what the ticket holds when it is no window (free words)
    day: date | None  # the day dispatch booked
    eta: datetime | None  # the published route's time at the door, on that day
    arrived_at: datetime | None = None  # when the engineer arrived, once they have

    @property
    def agreed(self) -> bool:
        """Whether dispatch booked the visit on the day the customer asked for (or, when
        they named no day, on some day)."""
        if self.day is None:
            return False
        return self.window is None or self.window.start.date() == self.day

    def text(self, lang: Lang = "zh") -> str:
        """The visit in one sentence that cannot contradict itself: the agreed window (or
        day) with the ETA once a route is published; else what the customer asked for, not
        yet scheduled; else that nothing is agreed."""
        if self.arrived_at is not None:
            local = self.arrived_at.astimezone(ZONE)
            day = t("visit.day_time", lang, month=t(f"visit.month.{local.month}", lang),
                    day=local.day, time=f"{local:%H:%M}")  # fmt: skip
            return t("my.visit.arrived", lang, when=day)
        asked = self.window.label(lang) if self.window else self.asked.strip()
        eta = t("visit.eta_at", lang, time=f"{self.eta.astimezone(ZONE):%H:%M}") if self.eta else ""
        if self.agreed and self.day is not None:
            if self.window is not None:
                return t("my.visit.agreed", lang, window=asked) + eta
            day = t(
                "visit.day",
                lang,
                month=t(f"visit.month.{self.day.month}", lang),
                day=self.day.day,
                weekday=t(f"handoff.weekday.{self.day.isoweekday()}", lang),
            )
            return t("my.visit.agreed_day", lang, day=day) + eta
        if asked:
            return t("my.visit.asked_only", lang, asked=asked)
        return t("my.visit.none", lang)


def _visit(session: Session, ticket: Ticket) -> DispatchVisit | None:
    return session.scalars(
        select(DispatchVisit).where(DispatchVisit.ticket_id == ticket.id)
    ).first()


def expected_visit(session: Session, ticket: Ticket) -> ExpectedVisit:
    """When the ticket's visit is expected: the customer's window, the day dispatch booked,
    and the ETA of the route published for that day (while the engineer is expected)."""
    asked = str((ticket.details or {}).get("preferred_time") or "")
    window = read_canonical(asked)
    visit = _visit(session, ticket)
    day = visit.visit_date if visit is not None else None
    eta = visit.eta if visit is not None else None
    if (
        eta is None
        or ticket.status not in EXPECTING_ENGINEER
        or eta.astimezone(ZONE).date() != day
        or (window is not None and window.start.date() != day)
    ):
        # An ETA of another day than the one booked (a route since moved) promises nothing.
        eta = None
    arrived = None
    if ticket.status in VISITED:
        arrivals = [e.created_at for e in ticket.events if e.action == "arrive"]
        arrived = max(arrivals) if arrivals else None
    return ExpectedVisit(window=window, asked=asked, day=day, eta=eta, arrived_at=arrived)


def planned_visit(session: Session, ticket: Ticket) -> datetime | None:
    """The ETA dispatch planned for the ticket's visit, if any."""
    return expected_visit(session, ticket).eta


def eta(session: Session, ticket: Ticket) -> datetime | None:
    """When the engineer is expected: the ETA of the route published for the booked day;
    None before a route is published (the booked window is the promise then), before
    dispatch and once the engineer has arrived. Never the SLA's arrival deadline: that is
    the desk's limit, not a time anyone planned (a tester read 预计到达 13:00 beside a
    morning booking)."""
    return expected_visit(session, ticket).eta
