"""The customer answers a complaint's outcome in the chat it reached them in: 接受 accepts
it (the desk may then close the case), 不接受 and why reopens the case with those words;
neither goes to the bot, and the hub says what happened."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.complaints import flows as complaints
from portal.complaints.models import Complaint
from portal.complaints.service import bare_rejection
from portal.complaints.service import chat_answer as complaint_answer
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.i18n import t
from portal.notifications.models import Notification
from portal.security import Principal
from portal.tickets.models import Ticket
from tests.conversations.support import TrackingRasa
from tests.conversations.test_chat_rating import invited, portal, send, widget

__all__ = ["portal"]
DESK = Principal(kind="staff", role="agent", name="desk", user_id=None)


def _resolve(db: Database, number: str, outcome: str) -> int:
    """The desk takes (if need be) and resolves the ticket's case; its id."""
    with db.session() as s:
        ticket_id = s.scalars(select(Ticket.id).where(Ticket.number == number)).one()
        case = s.scalars(select(Complaint).where(Complaint.ticket_id == ticket_id)).one()
        if case.status == "open":
            complaints.act(s, complaint=case, action="take", principal=DESK)
        complaints.act(s, complaint=case, action="resolve", principal=DESK, note=outcome)
        return case.id


def _asked(db: Database, conversation: str, outcome: str) -> None:
    """Until the question with `outcome` has reached the chat and been pushed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.session() as s:
            last = s.scalars(
                select(Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.public_id == conversation)
                .order_by(Message.id.desc())
                .limit(1)
            ).first()
            unsent = s.scalars(
                select(Notification.id).where(
                    Notification.channel == "widget", Notification.status != "sent"
                )
            ).first()
        if last is not None and outcome in last and unsent is None:
            return
        time.sleep(0.05)
    raise AssertionError("the question never reached the chat")


def test_the_customer_rejects_then_accepts_the_outcome_in_the_chat(
    portal: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    with widget(portal) as ws:
        conversation, number = invited(portal, db, ws)
        send(ws, "1")  # one star: a case opens
        case_id = _resolve(db, number, "已退还上门费 50 元")
        _asked(db, conversation, "已退还上门费 50 元")
        words = "不接受，钱还没有到账"
        (reply,) = send(ws, words)
        assert reply["author"] == "system" and "不接受" in reply["text"]
        with db.session() as s:
            case = s.get_one(Complaint, case_id)
            assert (case.status, case.confirmation) == ("in_progress", "rejected")
            assert case.events[-1].note == words

        _resolve(db, number, "已到账，请查收")
        _asked(db, conversation, "已到账，请查收")
        (thanks,) = send(ws, "接受")
        assert "感谢" in thanks["text"]
        with db.session() as s:
            assert s.get_one(Complaint, case_id).confirmation == "accepted"
        # Answered: the same word is the bot's again.
        send(ws, "接受")
    said = rasa.texts_from(conversation)
    assert words not in said and said[-1] == "接受" and said.count("接受") == 1


def test_a_bare_no_is_asked_why_and_the_next_message_is_the_reason(
    portal: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    with widget(portal) as ws:
        conversation, number = invited(portal, db, ws)
        send(ws, "1")
        case_id = _resolve(db, number, "已向您致歉")
        _asked(db, conversation, "已向您致歉")
        (why,) = send(ws, "不接受")  # the quick reply, no reason given
        assert why["author"] == "system" and why["text"] == t("hub.complaint.why", "zh")
        with db.session() as s:
            assert s.get_one(Complaint, case_id).confirmation == "awaiting"
        reason = "师傅到现在都没联系我"  # any words: the reason, not a question for the bot
        (noted,) = send(ws, reason)
        assert "不接受" in noted["text"]
        with db.session() as s:
            case = s.get_one(Complaint, case_id)
            assert (case.status, case.confirmation) == ("in_progress", "rejected")
            assert case.events[-1].note == reason
    said = rasa.texts_from(conversation)
    assert "不接受" not in said and reason not in said


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("接受", True),
        ("可以，接受", True),
        ("满意", True),
        ("同意。", True),
        ("不接受", False),
        ("不满意，还是漏水", False),
        ("不同意，我要投诉到底", False),
        ("你好", None),
        ("我想问一下接受不接受退款", None),
    ],
)
def test_what_counts_as_an_answer(text: str, answer: bool | None) -> None:
    assert complaint_answer(text) == answer


@pytest.mark.parametrize(
    ("text", "bare"),
    [("不接受", True), ("不满意。", True), ("No", True), ("不接受，钱还没到账", False)],
)
def test_a_bare_no_says_nothing_more(text: str, bare: bool) -> None:
    assert bare_rejection(text) is bare
