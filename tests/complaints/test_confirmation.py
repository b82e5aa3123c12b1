"""A complaint is closed only once the customer has accepted the outcome: they are asked in
their channel (the chat or WeChat, else by SMS, with the link to /my); the desk closes after
they accept, or records a phone confirmation with a note; a rejection reopens the case with
the customer's words; an unanswered question closes the case as "客户未回复" after
COMPLAINT_CONFIRM_HOURS.

A tester took, resolved and closed a case in twenty seconds, the customer never asked."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.complaints import flows
from portal.complaints.models import Complaint
from portal.config import Settings
from portal.database import Database, utcnow
from portal.notifications.service import staff_recipient
from portal.security import Principal
from portal.tickets.models import Ticket
from portal.workers.scheduler import make_pass
from tests.complaints.support import completed, outbox, rate
from tests.portal import factories as f
from tests.portal.test_pages import login, post
from tests.selfservice.support import csrf, sign_in
from tests.sla.support import make_crew

DESK = Principal(kind="staff", role="agent", name="desk", user_id=None)
OUTCOME = "已向客户致歉，退还上门费 50 元"


def _resolved(
    db: Database, *, comment: str = "师傅态度很差", **customer: object
) -> tuple[int, str]:
    """A one-star case, taken and resolved by the desk; (its id, the ticket's number)."""
    with db.session() as s:
        ticket = completed(s, crew=make_crew(s), customer=f.customer(s, **customer))
        rate(s, ticket, 1, comment)
        case = s.scalars(select(Complaint).where(Complaint.ticket_id == ticket.id)).one()
        flows.act(s, complaint=case, action="take", principal=DESK)
        flows.act(s, complaint=case, action="resolve", principal=DESK, note=OUTCOME)
        return case.id, ticket.number


def _customer_client(client: TestClient, db: Database, number: str) -> TestClient:
    """A second browser: the ticket's customer signed in to /my."""
    other = TestClient(client.app, follow_redirects=False)
    with db.session() as s:
        phone = s.get_one(Complaint, _case_of(db, number)).ticket.customer.phone
    sign_in(other, db, phone)
    other.follow_redirects = True
    return other


def _case_of(db: Database, number: str) -> int:
    with db.session() as s:
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == number)).one()
        return s.scalars(select(Complaint.id).where(Complaint.ticket_id == ticket_id)).one()


def test_the_desk_closes_only_after_the_customer_accepts_in_my(
    client: TestClient, db: Database
) -> None:
    case_id, number = _resolved(db)
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.confirmation) == ("resolved", "awaiting")
        assert case.confirm_due_at is not None and case.confirm_due_at > utcnow()
        # No chat, no WeChat: the question goes by SMS, with the link to the ticket in /my.
        [asked] = outbox(s, template="complaint_confirm_sms")
        assert asked.channel == "sms" and asked.payload["outcome"] == OUTCOME
        assert asked.payload["link"].endswith(f"/my/tickets/{number}#complaint")

    login(client, _agent(db))
    page = client.get(f"/complaints/{case_id}")
    assert 'data-action="close"' not in page.text  # nothing to close yet
    assert 'data-testid="confirmation"' in page.text and "等待客户确认" in page.text
    early = post(client, f"/complaints/{case_id}/actions", {"action": "close"})
    assert early.status_code == 422 and "客户" in early.text and "确认" in early.text

    customer = _customer_client(client, db, number)
    mine = customer.get(f"/my/tickets/{number}")
    assert 'data-testid="complaint-confirm"' in mine.text and OUTCOME in mine.text
    token = csrf(customer, f"/my/tickets/{number}")
    said = customer.post(
        f"/my/tickets/{number}/complaints/{case_id}",
        data={"answer": "accept", "csrf_token": token},
    )
    assert said.status_code == 200 and 'data-testid="complaint-accepted"' in said.text
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.confirmation) == ("resolved", "accepted")

    page = client.get(f"/complaints/{case_id}")
    assert 'data-action="close"' in page.text and "客户已接受" in page.text
    post(client, f"/complaints/{case_id}/actions", {"action": "close"})
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert case.status == "closed"
        assert [e.action for e in case.events] == ["open", "take", "resolve", "accept", "close"]
        assert case.events[3].actor.startswith("customer:")


def _agent(db: Database) -> str:
    with db.session() as s:
        return f.user(s, role="agent", display_name="投诉主管").username


def test_a_rejection_in_my_reopens_the_case_with_the_customer_words(
    client: TestClient, db: Database
) -> None:
    case_id, number = _resolved(db)
    customer = _customer_client(client, db, number)
    token = csrf(customer, f"/my/tickets/{number}")
    url = f"/my/tickets/{number}/complaints/{case_id}"
    # Saying no without saying why is refused, in the customer's language.
    bare = customer.post(url, data={"answer": "reject", "words": " ", "csrf_token": token})
    assert "原因" in bare.text
    with db.session() as s:
        assert s.get_one(Complaint, case_id).confirmation == "awaiting"
    words = "退的钱还没到账，机器还是响"
    customer.post(url, data={"answer": "reject", "words": words, "csrf_token": token})
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.confirmation, case.confirm_due_at) == (
            "in_progress",
            "rejected",
            None,
        )
        assert (case.events[-1].action, case.events[-1].note) == ("reject", words)
    # Answered: the question is gone from /my, and a second answer changes nothing.
    assert 'data-testid="complaint-confirm"' not in customer.get(f"/my/tickets/{number}").text
    again = customer.post(url, data={"answer": "accept", "csrf_token": token})
    assert again.status_code == 200
    with db.session() as s:
        assert s.get_one(Complaint, case_id).status == "in_progress"

    login(client, _agent(db))
    page = client.get(f"/complaints/{case_id}")
    assert words in page.text and "客户不接受" in page.text
    assert 'data-action="resolve"' in page.text  # back at work, resolvable again


def test_a_phone_confirmation_needs_a_note_and_closes_the_case(
    client: TestClient, db: Database
) -> None:
    case_id, _number = _resolved(db)
    login(client, _agent(db))
    bare = post(client, f"/complaints/{case_id}/actions", {"action": "confirm_phone"})
    assert bare.status_code == 422 and "电话确认" in bare.text
    note = "12月8日 10:05 致电客户，客户表示接受"
    post(client, f"/complaints/{case_id}/actions", {"action": "confirm_phone", "note": note})
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.confirmation) == ("closed", "phone")
        assert (case.events[-1].action, case.events[-1].note) == ("confirm_phone", note)
    assert "客户电话确认" in client.get(f"/complaints/{case_id}").text


def test_an_unanswered_question_closes_the_case_as_no_reply_after_the_timeout(
    client: TestClient, db: Database, settings: Settings
) -> None:
    case_id, _number = _resolved(db)
    with db.session() as s:
        due = s.get_one(Complaint, case_id).confirm_due_at
        assert due is not None
        hours = (due - utcnow()).total_seconds() / 3600
        assert abs(hours - settings.complaint_confirm_hours) < 0.1
        assert flows.lapse_unconfirmed(s, now=due - timedelta(minutes=1)) == []
        assert flows.lapse_unconfirmed(s, now=due + timedelta(minutes=1)) == [case_id]
        case = s.get_one(Complaint, case_id)
        assert (case.status, case.confirmation, case.events[-1].action) == (
            "closed",
            "no_reply",
            "lapse",
        )
        assert case.events[-1].actor == "system"
        # Once only.
        assert flows.lapse_unconfirmed(s, now=due + timedelta(days=9)) == []
    login(client, _agent(db))
    page = client.get(f"/complaints/{case_id}")
    assert "客户未回复" in page.text
    listed = client.get("/complaints?status=closed")
    assert "客户未回复" in listed.text


def test_the_question_goes_to_the_customer_chat_rather_than_sms(db: Database) -> None:
    case_id, number = _resolved(db, wechat_openid="o-complaint-1")
    with db.session() as s:
        [asked] = outbox(s, template="complaint_confirm")
        assert (asked.channel, asked.recipient) == ("wechat", "o-complaint-1")
        assert asked.payload["link"].endswith(f"/my/tickets/{number}#complaint")
        assert outbox(s, template="complaint_confirm_sms") == []


def test_a_reopened_and_resolved_again_case_asks_again(db: Database) -> None:
    case_id, _number = _resolved(db)
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        flows.answer(s, complaint=case, accept=False, words="没到账", actor="customer:1")
        assert case.status == "in_progress"
        flows.act(s, complaint=case, action="resolve", principal=DESK, note="已到账，请查收")
        assert (case.status, case.confirmation) == ("resolved", "awaiting")
        assert len(outbox(s, template="complaint_confirm_sms")) == 2


def test_the_scheduler_pass_closes_the_unanswered_cases(db: Database, settings: Settings) -> None:
    asked, _ = _resolved(db)
    lapsed, _ = _resolved(db)
    with db.session() as s:
        s.get_one(Complaint, lapsed).confirm_due_at = utcnow() - timedelta(minutes=1)
    make_pass(db, settings, worker="scheduler-test", stop=threading.Event())()
    with db.session() as s:
        assert s.get_one(Complaint, lapsed).confirmation == "no_reply"
        assert s.get_one(Complaint, asked).confirmation == "awaiting"


def test_the_case_owner_hears_of_the_customer_answer(db: Database) -> None:
    with db.session() as s:
        agent = f.user(s, role="agent")
        owner = Principal(kind="staff", role="agent", name=agent.username, user_id=agent.id)
        ticket = completed(s, crew=make_crew(s))
        rate(s, ticket, 1, "态度差")
        case = s.scalars(select(Complaint).where(Complaint.ticket_id == ticket.id)).one()
        flows.act(s, complaint=case, action="take", principal=owner)
        flows.act(s, complaint=case, action="resolve", principal=owner, note=OUTCOME)
        flows.answer(s, complaint=case, accept=False, words="还是不满意", actor="customer:1")
        [told] = outbox(s, template="complaint_rejected")
        assert told.recipient == staff_recipient(agent.id)
        assert (told.payload["words"], told.payload["complaint"]) == ("还是不满意", case.id)


def test_a_case_back_at_work_after_its_deadline_gets_a_fresh_one(db: Database) -> None:
    # The customer turns the outcome down days after the case's deadline: the case is back
    # at work with the time the policy gives, not overdue from the first minute.
    case_id, _number = _resolved(db)
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        case.deadline_at = utcnow() - timedelta(days=3)
        flows.answer(s, complaint=case, accept=False, words="钱还没退", actor="customer:1")
        assert case.status == "in_progress" and case.deadline_at > utcnow()
        first = case.deadline_at
        flows.act(s, complaint=case, action="resolve", principal=DESK, note="已退款")
        # The desk reopens a case itself: the same.
        case.deadline_at = utcnow() - timedelta(hours=1)
        flows.act(s, complaint=case, action="reopen", principal=DESK, note="客户来电仍不满意")
        assert case.deadline_at > utcnow()
        assert abs((case.deadline_at - first).total_seconds()) < 3600 * 24 * 7
    # A case reopened before its deadline keeps it (it is not given extra time).
    case_id, _number = _resolved(db)
    with db.session() as s:
        case = s.get_one(Complaint, case_id)
        later = utcnow() + timedelta(days=30)
        case.deadline_at = later
        flows.answer(s, complaint=case, accept=False, words="不满意", actor="customer:1")
        assert case.deadline_at == later
