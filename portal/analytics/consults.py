"""Expert consults on the people board: how many tickets needed one, how many each such
ticket had, and how long engineers waited for the first expert answer.

Over the filtered tickets (created in the period, matching every filter), every consult
about any of them: `per_ticket` is consults per consulted ticket; the wait is from the
consult's opening to its first expert answer (consults not yet answered are counted apart,
not as a time). Per expert: the consults whose first answer was theirs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import mean, median

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.analytics.filters import Filters
from portal.analytics.measures import F, c
from portal.consults.models import Consult


@dataclass(frozen=True, slots=True)
class ExpertAnswers:
    """One expert's first answers in the period."""

    user_id: int
    name: str
    answered: int
    median_s: float


@dataclass(frozen=True, slots=True)
class ConsultFigures:
    """Consults about the filtered tickets."""

    tickets: int
    consulted: int
    consults: int
    answered: int
    waiting: int  # not answered yet and not resolved
    median_s: float | None
    mean_s: float | None
    experts: tuple[ExpertAnswers, ...]

    @property
    def per_ticket(self) -> float | None:
        """Consults per consulted ticket, one decimal."""
        return round(self.consults / self.consulted, 1) if self.consulted else None

    @property
    def share(self) -> float | None:
        """Tickets that needed a consult, in percent of the tickets, one decimal."""
        return round(self.consulted * 100 / self.tickets, 1) if self.tickets else None


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def consult_figures(session: Session, f: Filters) -> ConsultFigures:
    """Consults per ticket and the time to the first expert answer, over the filters."""
    tickets = select(c.ticket_id).where(*f.where())
    total = session.scalar(select(func.count()).select_from(F).where(*f.where()))
    rows = session.execute(
        select(
            Consult.ticket_id,
            Consult.status,
            Consult.created_at,
            Consult.first_answer_at,
            Consult.first_answer_by,
        ).where(Consult.ticket_id.in_(tickets.scalar_subquery()))
    ).all()
    waits = [_seconds(r.created_at, r.first_answer_at) for r in rows if r.first_answer_at]
    by_expert: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        if r.first_answer_at is not None and r.first_answer_by is not None:
            by_expert[r.first_answer_by].append(_seconds(r.created_at, r.first_answer_at))
    names = (
        dict(
            session.execute(
                select(User.id, User.display_name).where(User.id.in_(list(by_expert)))
            ).all()
        )
        if by_expert
        else {}
    )
    experts = sorted(
        (
            ExpertAnswers(uid, names.get(uid) or str(uid), len(times), median(times))
            for uid, times in by_expert.items()
        ),
        key=lambda e: (-e.answered, e.median_s, e.name),
    )
    return ConsultFigures(
        tickets=int(total or 0),
        consulted=len({r.ticket_id for r in rows}),
        consults=len(rows),
        answered=len(waits),
        waiting=sum(1 for r in rows if r.first_answer_at is None and r.status != "resolved"),
        median_s=median(waits) if waits else None,
        mean_s=mean(waits) if waits else None,
        experts=tuple(experts),
    )
