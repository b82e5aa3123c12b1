"""A bare rating answers the ticket's evaluation invitation in the chat: the completion notice
("请对本次服务评分（1-5 分）") reaches the widget's conversation through the outbox, and the
customer's 5 / 5分 / 五星 / 非常满意 … rates that ticket through the lifecycle, without
going to the bot. Anywhere else a digit goes to the bot as before."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession

from portal.conversations.models import Conversation, Message
from portal.conversations.phrases import ticket_score
from portal.database import Database
from portal.notifications.models import Notification
from portal.tickets.models import Ticket, TicketEvent
from tests.conversations.support import TrackingRasa, public_id
from tests.portal import factories as f
from tests.sla.support import act, make_crew, open_ticket

VISITOR = "visitor-rating0000000001"


@pytest.fixture
def portal(make_client: Callable[..., TestClient]) -> TestClient:
    """The portal delivering widget notifications promptly."""
    return make_client(outbox_poll_s=0.05)


def widget(client: TestClient) -> WebSocketTestSession:
    """The visitor's widget."""
    return client.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}")


def send(ws: WebSocketTestSession, text: str) -> list[dict[str, Any]]:
    """One customer message through the widget; the replies it got (notifications pushed
    before it are passed over)."""
    client_id = f"c-{time.monotonic_ns()}"
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    while True:
        frame = ws.receive_json()
        if frame["type"] == "message" and frame.get("client_id") == client_id:
            break
    replies: list[dict[str, Any]] = []
    while True:
        frame = ws.receive_json()
        if frame["type"] == "typing" and frame["on"] is False:
            return replies
        if frame["type"] == "message" and frame["direction"] == "out":
            replies.append(frame)


def completed_ticket(db: Database, conversation: str) -> str:
    """A repair ticket reported in this chat, walked to 已完工; returns its number."""
    with db.session() as s:
        crew = make_crew(s)
        ticket = open_ticket(s, customer=f.customer(s), conversation_id=conversation)
        act(s, ticket, "accept")
        act(s, ticket, "dispatch", engineer_id=crew.engineer_id)
        for action in ("engineer_accept", "depart", "arrive", "complete"):
            act(s, ticket, action)
        return ticket.number


def wait_for_invitation(db: Database, conversation: str, number: str) -> None:
    """Until the widget outbox has put the completion notice into the chat and pushed it."""
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
        # The rating hint, in the chat's language (an English page's chat reads English).
        hinted = last is not None and ("评分" in last or "rate our service" in last)
        if hinted and last is not None and number in last and unsent is None:
            return
        time.sleep(0.05)
    raise AssertionError("the completion notice never reached the chat")


def rating(db: Database, number: str) -> tuple[str, int | None]:
    """The ticket's status and the score its evaluate event recorded."""
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        event = s.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.action == "evaluate"
            )
        ).first()
        return ticket.status, (event.payload["score"] if event else None)


def invited(portal: TestClient, db: Database, ws: WebSocketTestSession) -> tuple[str, str]:
    """The visitor's conversation and a ticket whose rating invitation is its last message."""
    assert ws.receive_json()["type"] == "history"
    send(ws, "你好")
    conversation = public_id(db, VISITOR, channel="web")
    number = completed_ticket(db, conversation)
    wait_for_invitation(db, conversation, number)
    return conversation, number


@pytest.mark.parametrize(("answer", "score"), [("5分", 5), ("五星", 5), ("一般", 3), ("2", 2)])
def test_a_bare_score_rates_the_ticket_the_invitation_named(
    portal: TestClient, db: Database, rasa: TrackingRasa, answer: str, score: int
) -> None:
    with widget(portal) as ws:
        conversation, number = invited(portal, db, ws)
        (thanks,) = send(ws, answer)
        assert thanks["author"] == "system" and number in thanks["text"]
        assert thanks["text"].startswith("感谢您的评价")
        assert rating(db, number) == ("evaluated", score)
        assert answer not in rasa.texts_from(conversation)
        # The invitation is answered: the next digit is the bot's again.
        send(ws, "3")
    assert rasa.texts_from(conversation)[-1] == "3"
    assert rating(db, number) == ("evaluated", score)


def test_a_ticket_rated_already_is_not_rated_twice(
    portal: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    with widget(portal) as ws:
        conversation, number = invited(portal, db, ws)
        with db.session() as s:
            ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
            act(s, ticket, "evaluate", score=4)
        (reply,) = send(ws, "1")
        assert "已经评价过" in reply["text"] and number in reply["text"]
    assert rating(db, number) == ("evaluated", 4)
    assert "1" not in rasa.texts_from(conversation)


def test_a_digit_without_an_invitation_goes_to_the_bot(
    portal: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    with widget(portal) as ws:
        assert ws.receive_json()["type"] == "history"
        send(ws, "你好")
        assert [r["text"] for r in send(ws, "5")] == ["收到：5", "请选择产品"]
    assert rasa.texts_from(public_id(db, VISITOR, channel="web"))[-1] == "5"


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("５", 5),
        (" 4 ", 4),
        ("5分", 5),
        ("5 分", 5),
        ("3星", 3),
        ("五星", 5),
        ("五星好评", 5),
        ("五分！", 5),
        ("一分", 1),
        ("非常满意", 5),
        ("很满意", 5),
        ("满意", 4),
        ("还行", 3),
        ("一般", 3),
        ("一般般", 3),
        ("不满意", 2),
        ("不太满意", 2),
        ("很不满意", 1),
        ("非常不满意", 1),
        ("很差", 1),
        ("太差了", 1),
        ("差评", 1),
        ("5 stars", 5),
        ("excellent", 5),
        ("good", 4),
        ("poor", 2),
        ("terrible", 1),
    ],
)
def test_what_counts_as_a_score(text: str, score: int) -> None:
    assert ticket_score(text) == score


@pytest.mark.parametrize("text", ["0", "6", "10", "55", "5号", "我给5分吧但是师傅迟到了", "满", ""])
def test_what_does_not(text: str) -> None:
    assert ticket_score(text) is None
