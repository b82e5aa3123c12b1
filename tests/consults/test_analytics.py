"""Consults on the people board, against figures worked out by hand."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from portal.analytics.consults import consult_figures
from portal.analytics.filters import Filters
from portal.analytics.refresh import refresh
from portal.consults.models import Consult
from portal.database import Database, utcnow
from portal.tickets.models import Ticket
from tests.field.support import log_in
from tests.portal import factories as f


def _consult(
    s: Session,
    ticket: Ticket,
    *,
    answered_after_min: float | None,
    by: int | None,
    status: str = "answered",
    opened_min_ago: float = 120,
) -> None:
    opened = utcnow() - timedelta(minutes=opened_min_ago)
    s.add(
        Consult(
            ticket_id=ticket.id,
            question="?",
            status=status,
            opened_by="user:0",
            created_at=opened,
            updated_at=opened,
            first_answer_at=opened + timedelta(minutes=answered_after_min)
            if answered_after_min is not None
            else None,
            first_answer_by=by,
            expert_id=by,
            resolved_by="",
            measure="",
        )
    )


def _world(s: Session) -> tuple[int, int]:
    """Four tickets this month and one two months old:

    T1: two consults, first answers after 10 and 30 minutes (both by 王专家)
    T2: one consult, answered after 20 minutes by 孙专家
    T3: one consult nobody has answered yet
    T4: no consult
    old ticket: a consult answered after 5 minutes, outside the 30-day period.
    """
    wang = f.user(s, role="expert", display_name="王专家").id
    sun = f.user(s, role="expert", display_name="孙专家").id
    t1, t2, t3, _t4 = (f.ticket(s, customer=f.customer(s)) for _ in range(4))
    _consult(s, t1, answered_after_min=10, by=wang)
    _consult(s, t1, answered_after_min=30, by=wang, status="resolved")
    _consult(s, t2, answered_after_min=20, by=sun)
    _consult(s, t3, answered_after_min=None, by=None, status="open")
    old = f.ticket(s, customer=f.customer(s), at=utcnow() - timedelta(days=60))
    _consult(s, old, answered_after_min=5, by=sun, opened_min_ago=60 * 24 * 59)
    s.flush()
    return wang, sun


def test_consults_per_ticket_and_the_first_answer_by_hand(db: Database) -> None:
    with db.session() as s:
        wang, sun = _world(s)
        now = utcnow()
        refresh(s, now=now, full=True)
        got = consult_figures(s, Filters.last(30, now=now))
        # 4 tickets, 3 with a consult (T1-T3), 4 consults: 4 / 3 = 1.3 per consulted ticket.
        assert (got.tickets, got.consulted, got.consults) == (4, 3, 4)
        assert got.per_ticket == 1.3 and got.share == 75.0
        # Answered after 10, 30, 20 minutes: median 20, mean 20; T3's still waits.
        assert (got.answered, got.waiting) == (3, 1)
        assert got.median_s == 20 * 60 and got.mean_s == 20 * 60
        # 王专家 first-answered two (10 and 30: median 20 min), 孙专家 one (20 min).
        assert [(e.user_id, e.answered, e.median_s) for e in got.experts] == [
            (wang, 2, 1200.0),
            (sun, 1, 1200.0),
        ]
        # Over 90 days the old ticket counts: 5 tickets, 4 consulted, 5 consults; answers
        # after 5, 10, 20, 30 minutes: median 15, mean 16.25.
        wide = consult_figures(s, Filters.last(90, now=now))
        assert (wide.tickets, wide.consulted, wide.consults) == (5, 4, 5)
        assert wide.median_s == 15 * 60 and wide.mean_s == 16.25 * 60
        assert wide.per_ticket == 1.2


def test_the_people_board_shows_them(client: TestClient, db: Database) -> None:
    with db.session() as s:
        _world(s)
        username = f.user(s, role="dispatcher").username
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    log_in(client, username, next_="/analytics/people")
    page = client.get("/analytics/people")
    assert page.status_code == 200, page.text
    assert re.search(r'data-testid="consults-count">4<', page.text)
    assert re.search(r'data-testid="consults-per-ticket">1\.3<', page.text)
    assert re.search(r'data-testid="consults-tickets">3 / 4 · 75\.0%<', page.text)
    assert re.search(r'data-testid="consults-median">20 ?分钟<', page.text), re.findall(
        r'data-testid="consults-median">[^<]*<', page.text
    )
    assert re.search(r'data-testid="consults-waiting">1<', page.text)
