"""The complaint pages and the revisit queue through the app: a case recorded by hand keeps
what was typed when refused; the list filters; a case is taken, resolved (the customer is
told through the outbox) and closed; a network manager sees only their network's cases; an
agent calls an unanswered customer, sees the number once they do, and records the answer."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.complaints import flows
from portal.complaints.models import Complaint, RevisitCall
from portal.database import Database, utcnow
from portal.tickets.models import Ticket, TicketEvent
from tests.complaints.support import completed, outbox, rate
from tests.portal import factories as f
from tests.portal.test_pages import login, post
from tests.sla.support import Crew, make_crew

ROW = re.compile(r'data-testid="complaint-row" data-id="(\d+)"')
REVISIT_ROW = re.compile(r'data-testid="revisit-row" data-number="([^"]+)"')


def _staff(db: Database, role: str, **kw: object) -> str:
    with db.session() as s:
        return f.user(s, role=role, **kw).username


def _low_rated(
    db: Database, *, crew: Crew | None = None, comment: str = "师傅态度很差"
) -> tuple[int, str]:
    """A completed ticket rated 1 star; (its case's id, its number)."""
    with db.session() as s:
        ticket = completed(s, crew=crew or make_crew(s))
        rate(s, ticket, 1, comment)
        case = s.scalars(select(Complaint).where(Complaint.ticket_id == ticket.id)).one()
        return case.id, ticket.number


def test_a_case_is_taken_resolved_with_the_customer_told_and_closed(
    client: TestClient, db: Database
) -> None:
    case_id, number = _low_rated(db)
    login(client, _staff(db, "agent", display_name="投诉专员王"))
    listed = client.get("/complaints")
    assert ROW.findall(listed.text) == [str(case_id)]
    assert "服务态度" in listed.text  # the reason the comment named

    post(client, f"/complaints/{case_id}/actions", {"action": "take"})
    page = client.get(f"/complaints/{case_id}")
    assert 'data-status="in_progress"' in page.text and "投诉专员王" in page.text

    # A resolution without an outcome is refused, and says which field is missing.
    refused = post(client, f"/complaints/{case_id}/actions", {"action": "resolve", "note": " "})
    assert refused.status_code == 422 and "处理结果" in refused.text

    outcome = "已向客户致歉，赠送一次免费清洗"
    post(client, f"/complaints/{case_id}/actions", {"action": "resolve", "note": outcome})
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.outcome) == ("resolved", outcome)
        [told] = outbox(s, template="complaint_confirm_sms")
        assert told.channel == "sms" and told.payload["outcome"] == outcome
        assert told.payload["number"] == number

    # Not before the customer accepts (tests/complaints/test_confirmation.py); then once:
    # the second is refused with the status named.
    early = post(client, f"/complaints/{case_id}/actions", {"action": "close"})
    assert early.status_code == 422 and "等待客户确认" in early.text
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        flows.answer(s, complaint=case, accept=True, words="", actor="customer:1")
    post(client, f"/complaints/{case_id}/actions", {"action": "close"})
    again = post(client, f"/complaints/{case_id}/actions", {"action": "close"})
    assert again.status_code == 422 and "已关闭" in again.text
    with db.session() as s:
        actions = [e.action for e in s.get_one(Complaint, case_id).events]
        assert actions == ["open", "take", "resolve", "accept", "close"]


def test_a_case_by_hand_keeps_what_was_typed_when_the_ticket_is_unknown(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        number = completed(s).number
    login(client, _staff(db, "dispatcher"))
    form = client.get(f"/complaints/new?ticket={number}")
    assert f'value="{number}"' in form.text
    said = "客户来电：工程师收了200元上门费但没给收据"
    refused = post(
        client,
        "/complaints/new",
        {"ticket_number": "SR00000000-9999", "source": "phone", "reason": "charges",
         "description": said},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "工单 SR00000000-9999 不存在" in refused.text and said in refused.text
    made = post(
        client,
        "/complaints/new",
        {"ticket_number": number.lower(), "source": "phone", "reason": "charges",
         "description": said},
    )  # fmt: skip
    assert made.status_code == 200 and "投诉已登记" in made.text
    with db.session() as s:
        case = s.scalars(select(Complaint)).one()
        assert (case.source, case.reason, case.description) == ("phone", "charges", said)
        assert case.opened_by.startswith("user:")


def test_filters_and_a_network_manager_sees_only_their_network(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        ours, theirs = make_crew(s), make_crew(s)
        boss = s.get_one(User, ours.manager).username
    mine, _ = _low_rated(db, crew=ours, comment="迟到了")
    other, _ = _low_rated(db, crew=theirs, comment="收费太贵")
    login(client, boss)
    assert ROW.findall(client.get("/complaints").text) == [str(mine)]
    assert client.get(f"/complaints/{other}").status_code == 404
    # Reading is all a manager does here.
    assert client.get("/complaints/new").status_code == 403

    client.post("/logout", data={})
    login(client, _staff(db, "agent"))
    assert sorted(ROW.findall(client.get("/complaints").text)) == sorted([str(mine), str(other)])
    assert ROW.findall(client.get("/complaints?reason=charges").text) == [str(other)]
    assert ROW.findall(client.get("/complaints?status=closed").text) == []
    assert ROW.findall(client.get("/complaints?source=phone").text) == []


def test_the_revisit_queue_masks_numbers_the_agent_once_worked_on(
    client: TestClient, db: Database
) -> None:
    # A tester saw 50 of 62 numbers in full before pressing 开始回访: the agent had taken those
    # tickets in at intake. The queue shows a number only to the agent calling it.
    with db.session() as s:
        crew = make_crew(s)
        agent = f.user(s, role="agent")
        waiting = completed(s, crew=crew, at=utcnow() - timedelta(days=3))
        s.add(
            TicketEvent(
                ticket_id=waiting.id,
                action="accept",
                actor=f"user:{agent.id}",
                from_status="new",
                to_status="accepted",
                created_at=waiting.created_at,
            )
        )
        number, phone, username = waiting.number, waiting.phone, agent.username
    login(client, username)
    assert phone in client.get(f"/tickets/{number}").text  # their own ticket's page: as before
    queue = client.get("/revisits")
    assert REVISIT_ROW.findall(queue.text) == [number] and phone not in queue.text
    post(client, f"/revisits/{number}/call", {})
    assert phone in client.get("/revisits").text


def test_the_revisit_queue_calls_and_records_the_answer(client: TestClient, db: Database) -> None:
    with db.session() as s:
        crew = make_crew(s)
        # Completed three days ago (history: no invitation went out), and never rated.
        waiting = completed(s, crew=crew, at=utcnow() - timedelta(days=3))
        fresh = completed(s, crew=crew)
        number, phone = waiting.number, waiting.phone
        assert fresh.number != number
    login(client, _staff(db, "agent"))
    queue = client.get("/revisits")
    assert REVISIT_ROW.findall(queue.text) == [number]
    assert phone not in queue.text  # masked until this agent takes the call

    post(client, f"/revisits/{number}/call", {})
    queue = client.get("/revisits")
    assert phone in queue.text and 'data-testid="revisit-form"' in queue.text
    with db.session() as s:
        calls = s.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == waiting.id, TicketEvent.action == "request_evaluation"
            )
        ).all()
        assert calls[-1].payload == {"via": "phone"}
        # Phoning sends the customer nothing.
        assert not [
            n for n in outbox(s, ticket_id=waiting.id) if str(calls[-1].id) in n.idempotency_key
        ]

    post(client, f"/revisits/{number}", {"outcome": "unreachable"})
    assert "1 次" in client.get("/revisits").text

    # "Rated" without a score is refused and keeps the comment typed.
    refused = post(client, f"/revisits/{number}", {"outcome": "answered", "comment": "还行吧"})
    assert refused.status_code == 422 and "还行吧" in refused.text

    post(client, f"/revisits/{number}", {"outcome": "answered", "score": "2", "comment": "等太久"})
    assert REVISIT_ROW.findall(client.get("/revisits").text) == []
    with db.session() as s:
        ticket = s.get_one(Ticket, waiting.id)
        assert ticket.status == "evaluated"
        rated = [e for e in ticket.events if e.action == "evaluate"][-1]
        assert rated.payload["score"] == 2 and rated.payload["via"] == "revisit_call"
        outcomes = [c.outcome for c in s.scalars(select(RevisitCall)).all()]
        assert outcomes == ["unreachable", "answered"]
        case = s.scalars(select(Complaint)).one()  # 2 stars on the phone: a case too
        assert (case.source, case.score, case.reason) == ("revisit", 2, "late")


def test_the_ticket_page_links_the_desk_to_a_new_case(client: TestClient, db: Database) -> None:
    with db.session() as s:
        number = completed(s).number
    login(client, _staff(db, "agent"))
    page = client.get(f"/tickets/{number}")
    assert f'href="/complaints/new?ticket={number}"' in page.text
