"""A small world for the field app: two engineers of one network, each with a dispatched job
at a customer whose unit is in warranty, and page helpers (log in, CSRF token)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import Database
from portal.networks.models import Engineer
from portal.tickets.models import Ticket
from tests.portal import factories as f

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    """Who and what the field tests use."""

    engineer_id: int
    username: str
    other_engineer_id: int
    other_username: str
    agent: str
    job: str  # dispatched to the engineer
    others_job: str  # dispatched to the other engineer
    asset_id: int


def dispatched_job(s: Session, *, engineer: Engineer, name: str = "王女士") -> Ticket:
    """A repair ticket of a customer with an in-warranty unit, dispatched to the engineer."""
    customer = f.customer(s, with_asset=False, name=name)
    model = f.product_model(s, product_=f.product(s, category="洗衣机"), warranty_months=24)
    unit = f.asset(
        s,
        customer=customer,
        address_=customer.addresses[0],
        model=model,
        install_date=date.today() - timedelta(days=60),
    )
    return f.ticket(
        s,
        customer=customer,
        actions=("accept", "dispatch"),
        engineer=engineer,
        serial_number=unit.serial_number,
        preferred_time="下午",
    )


def build(db: Database) -> World:
    """Two engineers of one Shanghai network, a job each, and an agent."""
    with db.session() as s:
        net = f.network(s, city="上海")
        mine = f.engineer(s, network=net, name="李师傅")
        theirs = f.engineer(s, network=net, name="赵师傅")
        job = dispatched_job(s, engineer=mine)
        others = dispatched_job(s, engineer=theirs, name="陈先生")
        agent = f.user(s, role="agent")
        return World(
            engineer_id=mine.id,
            username=s.get_one(User, mine.user_id).username,
            other_engineer_id=theirs.id,
            other_username=s.get_one(User, theirs.user_id).username,
            agent=agent.username,
            job=job.number,
            others_job=others.number,
            asset_id=job.asset_id or 0,
        )


def log_in(client: TestClient, username: str, next_: str = "/field") -> None:
    """Log in through the staff login form."""
    response = client.post(
        "/login",
        data={"username": username, "password": f.PASSWORD, "next": next_},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_


def csrf(client: TestClient, url: str = "/field") -> str:
    """The page session's CSRF token, read from a page."""
    page = client.get(url)
    found = TOKEN.search(page.text)
    assert found, page.text[:500]
    return found.group(1)
