"""The hub's Rasa REST contract at /channels/rest/webhook, over a real database."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.conversations.models import Conversation, Message
from portal.database import Database
from tests.app_fixtures import FakeRasa


def test_replies_come_back_in_rasa_rest_format(client: TestClient, fake_rasa: FakeRasa) -> None:
    response = client.post(
        "/channels/rest/webhook", json={"sender": "visitor-1", "message": "你好"}
    )
    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "visitor-1", "text": "收到：你好"},
        {
            "recipient_id": "visitor-1",
            "text": "请选择产品",
            "buttons": [{"title": "洗衣机", "payload": '/inform{"product":"洗衣机"}'}],
        },
    ]


def test_rasa_sees_the_conversation_id_as_sender(
    client: TestClient, fake_rasa: FakeRasa, db: Database
) -> None:
    client.post("/channels/rest/webhook", json={"sender": "visitor-2", "message": "你好"})
    client.post("/channels/rest/webhook", json={"sender": "visitor-2", "message": "洗衣机坏了"})
    with db.session() as session:
        conversation = session.scalars(select(Conversation)).one()
    assert [r["sender"] for r in fake_rasa.received] == [conversation.public_id] * 2
    assert fake_rasa.received[0]["metadata"] == {"channel": "rest"}
    assert conversation.sender_id == "visitor-2" and conversation.channel == "rest"


def test_every_message_is_stored_in_order(client: TestClient, db: Database) -> None:
    client.post("/channels/rest/webhook", json={"sender": "v3", "message": "你好"})
    with db.session() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
        stored = [(m.direction, m.author, m.text) for m in rows]
    assert stored == [
        ("in", "customer", "你好"),
        ("out", "bot", "收到：你好"),
        ("out", "bot", "请选择产品"),
    ]


def test_missing_fields_are_named(client: TestClient, db: Database) -> None:
    response = client.post("/channels/rest/webhook", json={"sender": "v4"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "message" and "消息" in error["message_zh"]
    with db.session() as session:
        assert session.scalars(select(Message)).first() is None


def test_bot_down_gives_an_apology_and_keeps_the_message(
    client: TestClient, fake_rasa: FakeRasa, db: Database
) -> None:
    fake_rasa.up = False
    response = client.post("/channels/rest/webhook", json={"sender": "v5", "message": "在吗"})
    assert response.status_code == 200
    (reply,) = response.json()
    assert "暂时无法回复" in reply["text"]
    with db.session() as session:
        texts = [(m.author, m.text) for m in session.scalars(select(Message).order_by(Message.id))]
    assert texts[0] == ("customer", "在吗") and texts[1][0] == "system"
