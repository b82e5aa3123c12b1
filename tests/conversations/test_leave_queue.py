"""A queued customer can give up waiting (取消排队, 我不等了): back with the assistant, told
so, out of the agents' queue; other messages while waiting get the one acknowledgement."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    hand_off,
    open_chat,
    queue,
    say,
    token,
)


@pytest.mark.parametrize("text", ["取消排队", "我不等了", "算了", "cancel"])
def test_giving_up_the_wait_returns_to_the_assistant(
    hc: TestClient, db: Database, rasa: TrackingRasa, text: str
) -> None:
    add_agent(db, "qiu")
    headers = token(hc, "qiu")
    conversation = open_chat(hc, db, "leaver", "洗衣机漏水")
    hand_off(hc, conversation)
    assert [item["public_id"] for item in queue(hc, headers)] == [conversation]
    (reply,) = say(hc, "leaver", text)
    assert "取消排队" in reply["text"] or "left the queue" in reply["text"]
    assert queue(hc, headers) == []
    assert rasa.texts_from(conversation) == ["洗衣机漏水"]  # the bot did not hear it
    # The assistant answers the next message.
    replies = say(hc, "leaver", "查进度")
    assert replies and replies[0]["text"] == "收到：查进度"


def test_other_messages_while_waiting_stay_in_the_queue(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "qin")
    headers = token(hc, "qin")
    conversation = open_chat(hc, db, "stayer", "洗衣机漏水")
    hand_off(hc, conversation)
    (ack,) = say(hc, "stayer", "还要等多久")
    assert ack["text"].startswith("已收到")
    assert say(hc, "stayer", "有人吗") == []
    assert [item["public_id"] for item in queue(hc, headers)] == [conversation]
