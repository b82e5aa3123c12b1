"""Setting off for a visit booked on another day (a tester's finding, issue 19): the
engineer accepted, set off and arrived two days early with nothing but "已执行「出发」", and
the customer could no longer move or cancel. The job page says the visit is booked for
another day, and setting off needs the engineer to confirm they agreed today with the
customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.botapi.service import to_bot_ticket
from portal.database import Database
from portal.dispatch.models import DispatchVisit
from portal.intake.windows import ZONE, now_local
from portal.notifications.models import Notification
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket, TicketComment
from tests.field.support import World, build, csrf, log_in
from tests.selfservice.support import sign_in


@pytest.fixture
def world(db: Database) -> World:
    return build(db)


def _book(db: Database, number: str, ahead: int) -> str:
    day = (now_local() + timedelta(days=ahead)).date()
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.engineer_id is not None
        s.add(DispatchVisit(ticket_id=ticket.id, engineer_id=ticket.engineer_id, visit_date=day))
    return day.isoformat()


def _status(db: Database, number: str) -> str:
    with db.session() as s:
        return s.scalars(select(Ticket.status).where(Ticket.number == number)).one()


def test_setting_off_early_needs_the_customer_s_agreement(
    client: TestClient, world: World, db: Database
) -> None:
    day = _book(db, world.job, ahead=2)
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    client.post(f"{url}/accept", data={"csrf_token": csrf(client)})
    page = client.get(url).text
    assert 'data-testid="depart-other-day"' in page and day in page
    assert 'data-testid="depart-confirm"' in page
    refused = client.post(f"{url}/depart", data={"csrf_token": csrf(client)})
    assert refused.status_code == 200  # back on the job page, which says why
    assert "请先与客户确认改为今天" in refused.text and day in refused.text
    assert _status(db, world.job) == "engineer_accepted"
    client.post(f"{url}/depart", data={"csrf_token": csrf(client), "confirm": "yes"})
    assert _status(db, world.job) == "departed"


def test_a_visit_booked_today_sets_off_as_before(
    client: TestClient, world: World, db: Database
) -> None:
    _book(db, world.job, ahead=0)
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    client.post(f"{url}/accept", data={"csrf_token": csrf(client)})
    assert 'data-testid="depart-other-day"' not in client.get(url).text
    client.post(f"{url}/depart", data={"csrf_token": csrf(client)})
    assert _status(db, world.job) == "departed"


def test_an_early_departure_books_the_visit_today_everywhere(
    client: TestClient, world: World, db: Database
) -> None:
    """A tester set off early with the customer's agreement: the customer's page and the
    chat's progress answer still said the booked day (two days on) until the engineer
    arrived. The departure books the visit today with the time the engineer should be at
    the door, for the customer (page, chat, the on-the-way message) and staff alike."""
    booked = _book(db, world.job, ahead=2)
    log_in(client, world.username)
    url = f"/field/jobs/{world.job}"
    client.post(f"{url}/accept", data={"csrf_token": csrf(client)})
    client.post(f"{url}/depart", data={"csrf_token": csrf(client), "confirm": "yes"})
    assert _status(db, world.job) == "departed"
    today = now_local().date()
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.job)).one()
        expected = ticket_flows.expected_visit(s, ticket)
        assert expected.day == today
        assert expected.eta is not None and expected.eta > ticket.events[-1].created_at
        eta = f"{expected.eta.astimezone(ZONE):%H:%M}"
        said = expected.text("zh")
        assert f"{today.month}月{today.day}日" in said and eta in said, said
        bot = to_bot_ticket(s, ticket, "check_code")
        assert bot.visit_text == said and bot.eta == expected.eta
        assert eta in bot.visit_text_en
        told = s.scalars(
            select(Notification).where(
                Notification.ticket_id == ticket.id,
                Notification.template.like("engineer_on_the_way%"),
            )
        ).all()
        assert told and all(n.template == "engineer_on_the_way_eta" for n in told)
        assert all(n.payload["eta"] == eta for n in told)
        notes = s.scalars(
            select(TicketComment.body).where(
                TicketComment.ticket_id == ticket.id, TicketComment.internal.is_(True)
            )
        ).all()
        assert any(booked in body for body in notes), notes
        phone = ticket.phone
    # The engineer's job page (staff) says today too, and no longer "booked for another day".
    page = client.get(url).text
    assert 'data-testid="depart-other-day"' not in page
    assert eta in page
    # The customer's own page.
    customer = TestClient(client.app, follow_redirects=False)
    sign_in(customer, db, phone)
    mine = customer.get(f"/my/tickets/{world.job}").text
    assert f'data-day="{today.isoformat()}"' in mine and eta in mine
    assert f'data-day="{booked}"' not in mine
