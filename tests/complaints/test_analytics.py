"""Complaint cases on the operations board, against figures worked out by hand."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.analytics.complaints import complaint_figures
from portal.analytics.filters import Filters
from portal.analytics.refresh import refresh
from portal.complaints import flows
from portal.complaints.models import Complaint
from portal.database import Database, utcnow
from portal.security import Principal
from portal.tickets import lifecycle
from tests.complaints.support import completed, rate
from tests.portal import factories as f
from tests.portal.test_pages import login
from tests.sla.support import act, make_crew, open_ticket

DESK = Principal(kind="staff", role="agent", name="desk", user_id=None)


def _world(s: Session) -> None:
    """Four tickets completed this month and one only accepted, five cases in all:

    T1 rated 1 "师傅迟到了"  -> late, open
    T2 rated 2 "态度很差"    -> attitude, open
    T3 by hand, late         -> taken and resolved
    T5 (not completed) by hand, no_show -> open
    and an old ticket, outside the period, rated 1 -> not counted.
    """
    settings = lifecycle.consequences_of(s).context.settings
    crew = make_crew(s)
    t1, t2, t3, _t4 = (completed(s, crew=crew) for _ in range(4))
    t5 = open_ticket(s, customer=f.customer(s))
    act(s, t5, "accept")
    rate(s, t1, 1, "师傅迟到了")
    rate(s, t2, 2, "态度很差")
    for ticket, reason in ((t3, "late"), (t5, "no_show")):
        case = flows.open_complaint(
            s,
            ticket=ticket,
            source="phone",
            reason=reason,
            description="客户来电投诉",
            actor="user:1",
            settings=settings,
        )
        if ticket is t3:
            flows.act(s, complaint=case, action="take", principal=DESK)
            flows.act(s, complaint=case, action="resolve", principal=DESK, note="已致歉")
    old = completed(s, crew=crew, at=utcnow() - timedelta(days=60))
    rate(s, old, 1, "迟到", at=utcnow() - timedelta(days=60))


def complaint_cases(s: Session) -> list[Complaint]:
    """Every case, oldest first."""
    return list(s.scalars(select(Complaint).order_by(Complaint.id)).all())


def test_cases_per_100_completed_and_their_reasons(db: Database) -> None:
    with db.session() as s:
        _world(s)
        now = utcnow()
        refresh(s, now=now, full=True)
        got = complaint_figures(s, Filters.last(30, now=now), now=now)
        # 4 cases about this period's tickets, 4 of which were completed: 4 * 100 / 4.
        assert (got.cases, got.completed, got.per_100) == (4, 4, 100.0)
        assert got.reasons == (("late", 2), ("attitude", 1), ("no_show", 1))
        assert got.share(2) == 50.0
        assert (got.active, got.overdue) == (3, 0)
        # A month on, the three still open are past their deadline.
        later = now + timedelta(days=30)
        assert complaint_figures(s, Filters.last(30, now=now), now=later).overdue == 3
        # Over 90 days the old ticket counts too: 5 cases, 5 completed.
        wide = complaint_figures(s, Filters.last(90, now=now), now=now)
        assert (wide.cases, wide.completed, wide.per_100) == (5, 5, 100.0)
        assert wide.reasons[0] == ("late", 3)


def test_the_operations_board_shows_them(client: TestClient, db: Database) -> None:
    with db.session() as s:
        _world(s)
        username = f.user(s, role="dispatcher").username
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    login(client, username)
    page = client.get("/analytics/operations")
    assert page.status_code == 200, page.text
    assert re.search(r'data-testid="complaints-per100">100\.0<', page.text)
    assert re.search(r'data-testid="complaints-cases">4<', page.text)
    reasons = re.findall(r'<tr data-reason="(\w+)">', page.text)
    assert reasons == ["late", "attitude", "no_show"]
    assert 'href="/complaints?status=&amp;reason=late"' in page.text


def test_cases_waiting_for_the_customer_and_repeat_repairs_on_the_board(
    client: TestClient, db: Database
) -> None:
    """A resolved case waiting for the customer's answer is not active; one the customer
    turned down is active (and overdue) again; one closed unanswered still counts as a case;
    a repeat repair is a reason of its own."""
    with db.session() as s:
        crew = make_crew(s)
        t1, t2, t3, t4 = (completed(s, crew=crew) for _ in range(4))
        rate(s, t1, 1, "修完又坏了")
        cases = []
        # Resolved in this order, so the first one's answer is due first.
        for ticket, comment in ((t4, "收费太贵"), (t3, "迟到"), (t2, "态度很差")):
            rate(s, ticket, 1, comment)
            [case] = [c for c in complaint_cases(s) if c.ticket_id == ticket.id]
            flows.act(s, complaint=case, action="take", principal=DESK)
            flows.act(s, complaint=case, action="resolve", principal=DESK, note="已处理")
            cases.append(case)
        unanswered, turned_down, _waiting = cases
        flows.answer(s, complaint=turned_down, accept=False, words="没人联系我", actor="customer:1")
        assert unanswered.confirm_due_at is not None
        flows.lapse_unconfirmed(s, now=unanswered.confirm_due_at)
        assert [c.status for c in cases] == ["closed", "in_progress", "resolved"]
        now = utcnow()
        refresh(s, now=now, full=True)
        got = complaint_figures(s, Filters.last(30, now=now), now=now)
        assert (got.cases, got.completed, got.active, got.overdue) == (4, 4, 2, 0)
        assert dict(got.reasons)["repeat_repair"] == 1
        later = complaint_figures(s, Filters.last(30, now=now), now=now + timedelta(days=30))
        assert later.overdue == 2  # the open repeat repair and the turned-down one
        username = f.user(s, role="dispatcher").username
    client.app.state.analytics_max_age_s = 0  # type: ignore[attr-defined]
    login(client, username)
    page = client.get("/analytics/operations")
    assert '<tr data-reason="repeat_repair">' in page.text and "重复维修" in page.text
