"""The day plan page through the real app and database: why a proposal gives nobody a stop
(no ticket that day, no engineer on duty, or no engineer on duty who can take them), said on
the page in place of a publish button."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from portal.database import Database, utcnow
from portal.dispatch import service
from portal.dispatch.scoring import DispatchSettings
from tests.dispatch import helpers as h

REASON = re.compile(r'data-testid="plan-nothing" data-reason="([a-z_]+)"')


@pytest.mark.parametrize(
    ("case", "reason"),
    [("idle", "no_jobs"), ("off_duty", "no_engineers"), ("unskilled", "no_fit"), ("ready", None)],
)
def test_the_plan_says_why_there_is_nothing_to_publish(
    client: TestClient, db: Database, case: str, reason: str | None
) -> None:
    day = service.default_visit_day(utcnow(), DispatchSettings())
    with db.session() as s:
        net = h.network(s, coverage=("浦东新区",))
        skills = {("空调", "repair"): 2} if case == "unskilled" else None
        h.engineer(s, net, name="在岗师傅", on_duty=case != "off_duty", skills=skills)
        if case != "idle":
            h.ticket(
                s,
                h.customer(s),
                at=utcnow() - timedelta(minutes=30),
                preferred_time=f"{day} 08:00-20:00",
            )
        dispatcher = h.user(s, role="dispatcher").username
        net_id = net.id
    page = client.post("/login", data={"username": dispatcher, "password": "pw", "next": "/"})
    assert page.status_code == 200, page.text
    page = client.get(f"/dispatch/plan?date={day}&network={net_id}&run=1")
    assert page.status_code == 200
    found = REASON.search(page.text)
    assert (found.group(1) if found else None) == reason
    assert ('data-testid="publish-plan"' in page.text) == (reason is None)
