"""The staff ticket page's timeline as fresh-eyed testers read it: the SLA ladder's 升级
events say which deadline was missed and who was told (they looked like empty duplicates)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.assets.models import Asset
from portal.database import Database, utcnow
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.page_support import sign_in
from tests.portal import factories as f


def _ladder_step(db: Database, number: str, *, timer: str, level: int, name: str) -> None:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        lifecycle.apply(
            s,
            ticket=ticket,
            action="escalate",
            actor="system",
            payload={
                "level": level,
                "level_name": name,
                "timer": timer,
                "timer_id": level,
                "due_at": (utcnow() - timedelta(minutes=5)).isoformat(),
            },
        )


def test_each_ladder_step_says_what_was_missed_and_who_was_told(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent").username
        number = f.ticket(s, customer=f.customer(s), actions=("accept",)).number
    _ladder_step(db, number, timer="response", level=1, name="engineer")
    _ladder_step(db, number, timer="arrival", level=2, name="network_manager")
    sign_in(client, agent)
    page = client.get(f"/tickets/{number}").text
    page = page[page.index('data-testid="timeline"') :]
    page = page[: page.index("</ol>")]
    steps = page.split('data-action="escalate"')[1:]
    assert len(steps) == 2
    shown = [step[: step.index("</li>")] for step in steps]
    assert "上门时限超时，已通知网点经理" in shown[0]
    assert "响应时限超时，已通知工程师" in shown[1]


def test_the_staff_ticket_page_says_in_or_out_of_warranty_until_when_and_why(
    client: TestClient, db: Database
) -> None:
    """Testers found no warranty status on the staff ticket page."""
    with db.session() as s:
        agent = f.user(s, role="agent").username
        owner = f.customer(s)
        unit = s.scalars(select(Asset).where(Asset.customer_id == owner.id)).one()
        covered = f.ticket(s, customer=owner, actions=("accept",))
        covered.asset_id = unit.id
        unit.warranty_end = end = date(2030, 6, 30)
        bare = f.ticket(s, customer=f.customer(s, with_asset=False), actions=("accept",))
        numbers = (covered.number, bare.number)
    sign_in(client, agent)
    page = client.get(f"/tickets/{numbers[0]}").text
    box = page[page.index('data-testid="staff-warranty"') :]
    box = box[: box.index("</dd>")]
    assert 'data-code="in"' in box and "保内" in box
    assert end.isoformat() in box and "设备档案" in box
    page = client.get(f"/tickets/{numbers[1]}").text
    box = page[page.index('data-testid="staff-warranty"') :]
    box = box[: box.index("</dd>")]
    assert 'data-code="out"' in box and "无设备档案" in box
