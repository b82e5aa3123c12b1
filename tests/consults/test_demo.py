"""The demo shows the scene: one consult waiting for an expert, one answered, resolved ones
on the demo engineer's finished jobs — on the demo login's jobs, so `make run` shows them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.consults.demo import SCRIPTS
from portal.consults.models import Consult
from portal.database import Database
from portal.demo.seed import seed
from portal.networks.models import Engineer
from portal.tickets.models import Ticket

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_has_an_open_and_an_answered_consult(db: Database) -> None:
    with db.session() as s:
        seed(s, tickets=150, now=NOW, progress=False)
        user = s.scalars(select(User).where(User.username == "engineer")).one()
        engineer = s.scalars(select(Engineer).where(Engineer.user_id == user.id)).one()
        expert = s.scalars(select(User).where(User.username == "expert")).one()
        rows = list(s.scalars(select(Consult).order_by(Consult.id)))
        by_status = {st: [c for c in rows if c.status == st] for st in ("open", "answered")}
        assert len(by_status["open"]) == 1 and len(by_status["answered"]) == 1
        assert sum(c.status == "resolved" for c in rows) >= 2
        for c in rows:
            ticket = s.get_one(Ticket, c.ticket_id)
            assert ticket.engineer_id == engineer.id
            # A tester found an air-conditioner question on a washing machine's job.
            assert c.question in {q for q, *_ in SCRIPTS[ticket.product]}, (ticket.product, c)
            if c.status == "resolved":
                assert c.first_answer_by == expert.id and c.first_answer_at > c.created_at
        answered = by_status["answered"][0]
        assert answered.measure and [m.side for m in answered.messages] == ["engineer", "expert"]
