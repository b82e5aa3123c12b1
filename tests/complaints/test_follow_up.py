"""An outcome that promises another visit (上门复修) opens a follow-up repair ticket for the
same customer and unit, linked both ways: the case names it, its page names the case and
the ticket complained about, and that ticket's page names it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.complaints.models import Complaint
from portal.config import Settings
from portal.database import Database
from portal.tickets.models import Ticket
from tests.complaints.support import completed, rate
from tests.portal import factories as f
from tests.portal.test_pages import login, post
from tests.sla.support import make_crew

OUTCOME = "已致歉，安排工程师明天上午上门复修，免上门费"


def _taken_case(client: TestClient, db: Database) -> tuple[int, str]:
    with db.session() as s:
        ticket = completed(s, crew=make_crew(s), product="滚筒洗衣机", serial_number="")
        rate(s, ticket, 1, "没修好，还是漏水")
        case_id = s.scalars(select(Complaint.id).where(Complaint.ticket_id == ticket.id)).one()
        agent = f.user(s, role="agent").username
        number = ticket.number
    login(client, agent)
    post(client, f"/complaints/{case_id}/actions", {"action": "take"})
    return case_id, number


def test_a_promised_revisit_opens_a_linked_follow_up_ticket(
    client: TestClient, db: Database, settings: Settings
) -> None:
    case_id, number = _taken_case(client, db)
    page = client.get(f"/complaints/{case_id}")
    assert 'name="follow_up"' in page.text
    post(
        client,
        f"/complaints/{case_id}/actions",
        {"action": "resolve", "note": OUTCOME, "follow_up": "1"},
    )
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert case.follow_up_ticket_id is not None
        follow = s.get_one(Ticket, case.follow_up_ticket_id)
        original = case.ticket
        assert follow.id != original.id and follow.type == "repair"
        assert (follow.customer_id, follow.product, follow.address, follow.phone) == (
            original.customer_id,
            original.product,
            original.address,
            original.phone,
        )
        assert OUTCOME in follow.fault_description
        assert [e.action for e in case.events][-2:] == ["resolve", "follow_up"]
        assert case.events[-1].note == follow.number
        follow_number = follow.number

    # Linked both ways, on every page involved.
    shown = client.get(f"/complaints/{case_id}")
    assert f'href="/tickets/{follow_number}"' in shown.text
    assert 'data-testid="complaint-follow-up"' in shown.text
    follow_page = client.get(f"/tickets/{follow_number}")
    assert 'data-testid="follow-up-of"' in follow_page.text
    assert f'href="/complaints/{case_id}"' in follow_page.text
    assert f'href="/tickets/{number}"' in follow_page.text
    original_page = client.get(f"/tickets/{number}")
    assert f'href="/tickets/{follow_number}"' in original_page.text
    with db.session() as s:
        bearer = f.headers_for(s, settings, "agent")
    api = client.get(f"/api/v1/complaints/{case_id}", headers=bearer)
    assert api.json()["follow_up_ticket_number"] == follow_number


def test_no_follow_up_ticket_unless_the_outcome_promises_one(
    client: TestClient, db: Database
) -> None:
    case_id, _number = _taken_case(client, db)
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(Ticket))
    post(client, f"/complaints/{case_id}/actions", {"action": "resolve", "note": "已致歉"})
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == before
        assert s.get_one(Complaint, case_id).follow_up_ticket_id is None
