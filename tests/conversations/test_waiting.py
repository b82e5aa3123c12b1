"""A customer who types while queued for a person gets one acknowledgement per wait (in their
language), and the bot hears nothing of it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    go_online,
    hand_off,
    open_chat,
    say,
    token,
)

ACK = "已收到，客服接入后会第一时间看到。"


def test_one_acknowledgement_per_wait(hc: TestClient, db: Database, rasa: TrackingRasa) -> None:
    add_agent(db, "sun")
    headers = token(hc, "sun")
    conversation = open_chat(hc, db, "wait-1")
    hand_off(hc, conversation)
    assert [r["text"] for r in say(hc, "wait-1", "还在吗")] == [ACK]
    assert say(hc, "wait-1", "洗衣机显示E21") == []
    assert say(hc, "wait-1", "转人工") == []
    assert rasa.texts_from(conversation) == ["你好"]

    # The agent takes it, then puts it back (a transfer to a team): a new wait, a new ack.
    go_online(hc, headers)
    base = f"/api/v1/console/conversations/{conversation}"
    assert hc.post(f"{base}/accept", headers=headers).status_code == 204
    add_agent(db, "team-mate", team="care")
    assert hc.post(f"{base}/transfer", json={"to_team": "care"}, headers=headers).status_code == 204
    assert [r["text"] for r in say(hc, "wait-1", "怎么又排队了")] == [ACK]
    assert say(hc, "wait-1", "好吧") == []


def test_an_english_customer_is_acknowledged_in_english(hc: TestClient, db: Database) -> None:
    conversation = open_chat(hc, db, "wait-en", "hello")
    hand_off(hc, conversation, language="en")
    (reply,) = say(hc, "wait-en", "are you there?")
    assert reply["text"] == "Got it. The agent will see your message as soon as they join."
