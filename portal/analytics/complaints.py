"""Complaint cases on the dashboards: how many per 100 completed tickets, why, and how many
are still open or overdue.

Over the filtered tickets (created in the period, matching every filter): the completed
ones (a completion recorded) and the complaint cases about any of them, whoever opened the
case (a rating of 1-2, or staff by hand).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.analytics.filters import Filters
from portal.analytics.measures import F, c
from portal.complaints.models import Complaint
from portal.complaints.service import ACTIVE, REASONS


@dataclass(frozen=True, slots=True)
class ComplaintFigures:
    """The complaint cases about the filtered tickets."""

    cases: int
    completed: int
    active: int
    overdue: int
    reasons: tuple[tuple[str, int], ...]  # most frequent first; only reasons that occur

    @property
    def per_100(self) -> float | None:
        """Cases per 100 completed tickets, one decimal; None when none was completed."""
        return round(self.cases * 100 / self.completed, 1) if self.completed else None

    def share(self, n: int) -> float | None:
        """One reason's share of the cases, in percent."""
        return round(n * 100 / self.cases, 1) if self.cases else None


def complaint_figures(session: Session, f: Filters, *, now: datetime) -> ComplaintFigures:
    """Cases per 100 completed tickets, the reasons, the open and overdue cases."""
    tickets = select(c.ticket_id).where(*f.where())
    completed = session.scalar(
        select(func.count()).select_from(F).where(*f.where(), c.completed_ts.is_not(None))
    )
    rows = session.execute(
        select(Complaint.reason, Complaint.status, Complaint.deadline_at).where(
            Complaint.ticket_id.in_(tickets.scalar_subquery())
        )
    ).all()
    reasons = Counter(reason for reason, _status, _due in rows)
    order = {r: i for i, r in enumerate(REASONS)}
    return ComplaintFigures(
        cases=len(rows),
        completed=int(completed or 0),
        active=sum(1 for _r, status, _d in rows if status in ACTIVE),
        overdue=sum(1 for _r, status, due in rows if status in ACTIVE and due < now),
        reasons=tuple(
            sorted(reasons.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order))))
        ),
    )
