"""After the engineer has been: the visit reads as the time they arrived (a tester's finding,
issue 19): a completed job's /my page and the engineer's job still said 尚未约定上门时间."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.customers.models import Customer
from portal.database import Database
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket
from tests.portal import factories as f
from tests.selfservice.support import sign_in

PHONE = "13911112222"
ARRIVED = datetime(2026, 12, 7, 3, 35, tzinfo=UTC)  # 11:35 in China


def _done(db: Database, *, through: tuple[str, ...]) -> str:
    with db.session() as s:
        engineer = f.engineer(s, network=f.network(s))
        me = s.scalars(select(Customer).where(Customer.phone == PHONE)).first()
        me = me or f.customer(s, phone_=PHONE)
        ticket = f.ticket(s, customer=me, engineer=engineer, actions=through)
        for event in ticket.events:
            if event.action == "arrive":
                event.created_at = ARRIVED
        return ticket.number


def _text(db: Database, number: str, lang: str) -> str:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return ticket_flows.expected_visit(s, ticket).text(lang)  # type: ignore[arg-type]


def test_a_visited_job_says_when_the_engineer_arrived(client: TestClient, db: Database) -> None:
    steps = ("accept", "dispatch", "engineer_accept", "depart", "arrive")
    on_site = _done(db, through=steps)
    completed = _done(db, through=(*steps, "complete"))
    for number in (on_site, completed):
        assert _text(db, number, "zh") == "师傅已于 12月7日 11:35 到场"
        assert _text(db, number, "en") == "The engineer arrived on 7 Dec 11:35"
    client.follow_redirects = False
    sign_in(client, db, PHONE)
    page = client.get(f"/my/tickets/{on_site}").text
    assert "师傅已于 12月7日 11:35 到场" in page and "尚未约定上门时间" not in page


def test_before_arrival_nothing_changes(db: Database) -> None:
    number = _done(db, through=("accept", "dispatch", "engineer_accept", "depart"))
    assert "到场" not in _text(db, number, "zh")
