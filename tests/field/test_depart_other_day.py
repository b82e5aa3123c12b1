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

from portal.database import Database
from portal.dispatch.models import DispatchVisit
from portal.intake.windows import now_local
from portal.tickets.models import Ticket
from tests.field.support import World, build, csrf, log_in


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
