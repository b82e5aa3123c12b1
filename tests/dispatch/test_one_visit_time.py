"""One visit time for everyone (issue 19, a tester's findings): a customer who chose 后天下午
was shown a day nobody agreed with them, the dispatcher's candidates and day plan used
tomorrow, and the engineer, the customer and the bot each read a different time.

Dispatch plans a ticket on the customer's day and window; a reschedule takes the job out of
the old day's route; every view says the one time `tickets.flows.expected_visit` gives."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.botapi.service import reschedule as bot_reschedule
from portal.botapi.service import to_bot_ticket
from portal.database import Database, utcnow
from portal.dispatch import flows
from portal.dispatch.models import DispatchVisit
from portal.intake.windows import ZONE, now_local, read_canonical
from portal.networks.models import Engineer
from portal.security import Principal
from portal.selfservice import visits
from portal.selfservice.service import ticket_view
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket
from tests.dispatch import helpers as h
from tests.selfservice.support import sign_in

PARTS = {"morning": "08:00-12:00", "afternoon": "13:00-18:00", "evening": "18:00-20:00"}


def _day(ahead: int) -> date:
    return (now_local() + timedelta(days=ahead)).date()


def _world(db: Database, *, wish: date, part: str = "afternoon") -> tuple[int, int, str]:
    """An engineer of a Pudong network and a waiting ticket asking for `wish`, `part`."""
    with db.session() as s:
        net = h.network(s, coverage=("浦东新区",), at=h.MID)
        engineer = h.engineer(s, net, at=h.NEAR, name="林师傅")
        ticket = h.ticket(
            s,
            h.customer(s),
            at=utcnow() - timedelta(minutes=30),
            preferred_time=f"{wish} {PARTS[part]}",
        )
        return engineer.id, ticket.id, ticket.number


def _visit(db: Database, ticket_id: int) -> DispatchVisit | None:
    with db.session() as s:
        visit = s.scalars(select(DispatchVisit).where(DispatchVisit.ticket_id == ticket_id)).first()
        if visit is not None:
            s.expunge(visit)
        return visit


def _plan(db: Database, day: date) -> flows.DayPlan:
    with db.session() as s:
        return flows.plan_day(s, day=day, principal=h.DISPATCHER, settings=h.SETTINGS, apply=True)


def test_a_day_plan_for_another_day_leaves_the_ticket_out_and_says_why(db: Database) -> None:
    wish = _day(2)
    engineer_id, ticket_id, _ = _world(db, wish=wish)
    tomorrow = _plan(db, _day(1))
    assert ticket_id not in {p.job_id for p in tomorrow.plan.picks}
    assert tomorrow.other_day == {ticket_id: wish}
    assert _visit(db, ticket_id) is None, "nothing booked on a day the customer did not choose"
    on_the_day = _plan(db, wish)
    assert [(p.job_id, p.worker_id) for p in on_the_day.plan.picks] == [(ticket_id, engineer_id)]
    visit = _visit(db, ticket_id)
    assert visit is not None and visit.visit_date == wish
    assert visit.eta is not None
    assert time(13, 0) <= visit.eta.astimezone(ZONE).time() <= time(18, 0), visit.eta


def test_a_published_stop_on_another_day_is_refused(db: Database) -> None:
    wish = _day(2)
    engineer_id, ticket_id, _ = _world(db, wish=wish)
    with db.session() as s:
        version = len(s.get_one(Ticket, ticket_id).events)
        done = flows.publish_plan(
            s,
            day=_day(1),
            stops=[flows.PlannedStop(ticket_id, engineer_id, 1, version)],
            principal=h.DISPATCHER,
            settings=h.SETTINGS,
        )
        assert [(tid, exc.key) for tid, exc in done.skipped] == [
            (ticket_id, "dispatch.not_customer_day")
        ]
    assert _visit(db, ticket_id) is None


def test_automatic_and_manual_dispatch_book_the_customers_day(db: Database) -> None:
    wish = _day(2)
    engineer_id, ticket_id, _ = _world(db, wish=wish)
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        with pytest.raises(Exception) as refused:
            flows.assign(
                s,
                ticket=ticket,
                principal=h.DISPATCHER,
                engineer_id=engineer_id,
                day=_day(1),
                settings=h.SETTINGS,
            )
        assert getattr(refused.value, "key", "") == "dispatch.not_customer_day"
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        done = flows.assign(
            s, ticket=ticket, principal=h.DISPATCHER, engineer_id=engineer_id, settings=h.SETTINGS
        )
        assert done.visit_day == wish


def _login(client: TestClient, username: str, next_: str) -> None:
    page = client.post("/login", data={"username": username, "password": "pw", "next": next_})
    assert page.status_code == 200, page.text


def test_the_candidates_are_for_the_customers_day(client: TestClient, db: Database) -> None:
    wish = _day(2)
    _, _, number = _world(db, wish=wish)
    with db.session() as s:
        dispatcher = h.user(s, role="dispatcher").username
    _login(client, dispatcher, "/dispatch")
    # The queue's links carry the workbench's day (tomorrow): the customer's day still wins.
    page = client.get(f"/dispatch?ticket={number}&date={_day(1)}").text
    panel = page[page.index('data-testid="dispatch-panel"') :]
    assert f"上门日 {wish}" in panel, panel[:1500]
    assert f'name="date" value="{wish}"' in panel
    assert f"上门日 {_day(1)}" not in panel


def _sign_in_customer(client: TestClient, db: Database, phone: str) -> None:
    client.follow_redirects = False  # the sign-in helper reads the redirects
    sign_in(client, db, phone)
    client.follow_redirects = True


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_customer_engineer_dispatcher_and_bot_read_one_time(
    client: TestClient, db: Database
) -> None:
    wish = _day(2)
    engineer_id, ticket_id, number = _world(db, wish=wish)
    _plan(db, wish)
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        expected = ticket_flows.expected_visit(s, ticket)
        said = expected.text("zh")
        eta = ticket_flows.eta(s, ticket)
        bot = to_bot_ticket(s, ticket, "check_code")
        web = ticket_view(s, ticket)
        phone = ticket.customer.phone
        engineer_login = s.get_one(User, s.get_one(Engineer, engineer_id).user_id).username
    window = read_canonical(f"{wish} 13:00-18:00")
    assert window is not None and window.label("zh") in said
    assert eta is not None and expected.eta == eta == bot.eta == web.eta
    assert eta.astimezone(ZONE).strftime("%H:%M") in said
    # The bot's progress answer says the same sentence.
    assert bot.visit_text == said
    # The customer's /my page: the same sentence, no other day.
    _sign_in_customer(client, db, phone)
    mine = _text(client.get(f"/my/tickets/{number}").text)
    assert said in mine
    assert "待网点确认" not in mine
    client.cookies.clear()
    # The engineer's job page.
    _login(client, engineer_login, f"/field/jobs/{number}")
    job = _text(client.get(f"/field/jobs/{number}").text)
    assert said in job, job[:2000]
    # The engineer's day list: the time the customer was told.
    day_list = _text(client.get(f"/field?date={wish}").text)
    assert f"预计 {eta.astimezone(ZONE):%H:%M} 到达" in day_list, day_list[:2000]
    client.cookies.clear()
    # The dispatcher's ticket page.
    with db.session() as s:
        dispatcher = h.user(s, role="dispatcher").username
    _login(client, dispatcher, "/dispatch")
    desk = _text(client.get(f"/dispatch?ticket={number}").text)
    assert said in desk


def _booked(db: Database, *, day: date, part: str) -> tuple[int, int, str]:
    """A ticket asking for `day`, `part`, planned and published on that day."""
    engineer_id, ticket_id, number = _world(db, wish=day, part=part)
    _plan(db, day)
    visit = _visit(db, ticket_id)
    assert visit is not None and visit.eta is not None and visit.visit_date == day
    return engineer_id, ticket_id, number


def test_a_reschedule_takes_the_job_out_of_the_old_days_route(db: Database) -> None:
    old, new = _day(1), _day(3)
    engineer_id, ticket_id, _ = _booked(db, day=old, part="morning")
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        customer = Principal(
            kind="customer", role="customer", name="c", customer_id=ticket.customer_id
        )
        window = visits.reschedule(
            s, ticket=ticket, day=new.isoformat(), part="evening", principal=customer
        )
    visit = _visit(db, ticket_id)
    assert visit is not None and visit.visit_date == new
    assert visit.eta is None and visit.sequence is None, "to be planned for the new day"
    with db.session() as s:
        engineer = s.get_one(Engineer, engineer_id)
        before = flows.route(s, engineer=engineer, day=old, settings=h.SETTINGS)
        assert ticket_id not in [leg.stop.id for leg in before.legs]
        after = flows.route(s, engineer=engineer, day=new, settings=h.SETTINGS)
        assert [leg.stop.id for leg in after.legs] == [ticket_id]
        ticket = s.get_one(Ticket, ticket_id)
        expected = ticket_flows.expected_visit(s, ticket)
        said = expected.text("zh")
        assert expected.eta is None and ticket_view(s, ticket).eta is None
    assert window.label("zh") in said
    assert f"{old.month}月{old.day}日" not in said


def test_the_reschedule_form_preselects_the_booking(client: TestClient, db: Database) -> None:
    _, ticket_id, number = _booked(db, day=_day(1), part="morning")
    with db.session() as s:
        phone = s.get_one(Ticket, ticket_id).customer.phone
    _sign_in_customer(client, db, phone)
    page = client.get(f"/my/tickets/{number}").text
    picked = re.search(r'<option value="(\w+)" selected', page)
    assert picked is not None and picked.group(1) == "morning", page
    # One ETA: the planned one, beside the agreed window, never the arrival deadline.
    eta = re.search(r'data-testid="ticket-eta">([^<]+)<', page)
    with db.session() as s:
        planned = ticket_flows.eta(s, s.get_one(Ticket, ticket_id))
    assert planned is not None and eta is not None
    assert planned.astimezone(ZONE).strftime("%H:%M") in eta.group(1)


def test_the_plan_pages_say_another_day_and_a_moved_job(client: TestClient, db: Database) -> None:
    old, new = _day(1), _day(3)
    _, ticket_id, number = _booked(db, day=old, part="morning")
    _, _, later = _world(db, wish=_day(2))
    with db.session() as s:
        dispatcher = h.user(s, role="dispatcher").username
    _login(client, dispatcher, "/dispatch")
    run = client.get(f"/dispatch/plan?date={old}&run=1").text
    other = run[run.index('data-testid="plan-other-day"') :]
    assert f'data-number="{later}" data-day="{_day(2)}"' in other
    assert f"客户约在 {_day(2)}，不排入本日计划" in other
    with db.session() as s:
        ticket = s.get_one(Ticket, ticket_id)
        visits.reschedule(
            s,
            ticket=ticket,
            day=new.isoformat(),
            part="evening",
            principal=Principal(
                kind="customer", role="customer", name="c", customer_id=ticket.customer_id
            ),
        )
    before = client.get(f"/dispatch/plan?date={old}").text
    assert f'data-number="{number}"' not in before
    after = client.get(f"/dispatch/plan?date={new}").text
    stop = after[after.index(f'data-number="{number}"') :]
    stop = stop[: stop.index("</li>")]
    assert 'data-testid="stop-to-plan"' in stop and 'data-testid="stop-eta"' not in stop


def test_the_plan_api_lists_tickets_asked_for_another_day(client: TestClient, db: Database) -> None:
    wish = _day(2)
    _, ticket_id, number = _world(db, wish=wish)
    with db.session() as s:
        headers = h.bearer(client.app.state.settings, h.user(s, role="dispatcher"))
    plan = client.post("/api/v1/dispatch/plan", json={"date": str(_day(1))}, headers=headers)
    assert plan.status_code == 200, plan.text
    assert plan.json()["other_day"] == [
        {"ticket_id": ticket_id, "number": number, "asked_day": wish.isoformat()}
    ]
    assert all(a["ticket_id"] != ticket_id for a in plan.json()["assignments"])
    candidates = client.get(f"/api/v1/dispatch/tickets/{number}/candidates", headers=headers)
    assert candidates.status_code == 200, candidates.text
    assert candidates.json()["date"] == wish.isoformat()


def test_a_reschedule_through_the_bot_moves_the_booked_visit(db: Database) -> None:
    old, new = _day(1), _day(3)
    _, ticket_id, _ = _booked(db, day=old, part="morning")
    with db.session() as s:
        bot_reschedule(
            s,
            ticket=s.get_one(Ticket, ticket_id),
            window=f"{new} 18:00-20:00",
            principal=Principal(kind="service", role="bot", name="bot"),
        )
    visit = _visit(db, ticket_id)
    assert visit is not None and visit.visit_date == new
    assert visit.eta is None and visit.sequence is None
