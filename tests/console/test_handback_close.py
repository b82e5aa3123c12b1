"""The two ways an agent lets a chat go: 交回机器人 (the bot carries on the same conversation,
the customer is asked to rate the agent) and 结束并关闭 (the conversation is over and the
customer is asked to rate it; their score lands on it, anything else they write opens a new
one with the bot)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.conversations import service
from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    capture,
    detail,
    go_online,
    hand_off,
    open_chat,
    public_id,
    say,
    token,
)


def _taken(hc: TestClient, db: Database, sender: str) -> tuple[dict[str, str], str]:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    go_online(hc, headers)
    conversation = open_chat(hc, db, sender)
    hand_off(hc, conversation)
    accepted = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    assert accepted.status_code == 204
    return headers, conversation


def test_close_ends_the_conversation_and_the_next_message_starts_a_new_one(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    headers, conversation = _taken(hc, db, "closer")
    pushed = capture(hc)
    say(hc, "closer", "好的，谢谢")
    closed = hc.post(f"/api/v1/console/conversations/{conversation}/close", headers=headers)
    assert closed.status_code == 204, closed.text

    shown = detail(hc, headers, conversation)
    assert shown["state"] == "closed" and shown["agent_id"] is None
    assert pushed[-2].text.startswith("本次服务已结束") and pushed[-2].author == "system"
    assert pushed[-1].text == "请为本次人工服务打分（5 分最满意）。"
    assert hc.get("/api/v1/console/chats", headers=headers).json() == []
    # Nothing more to do on it.
    again = hc.post(f"/api/v1/console/conversations/{conversation}/close", headers=headers)
    assert again.status_code == 409

    # The answer to the rating question rates the closed chat; no new chat, Rasa hears nothing.
    assert [r["text"] for r in say(hc, "closer", "5")] == ["感谢您的评价！"]
    with db.session() as session:
        assert service.find_conversation(session, channel="rest", sender_id="closer") is None
        closed_row = service.get_by_public_id(session, public_id=conversation)
        assert closed_row.csat_score == 5 and not closed_row.csat_pending
        assert closed_row.state == "closed"
    assert rasa.texts_from(conversation) == ["你好"]  # the chat's opening only

    say(hc, "closer", "我还有个问题")
    with db.session() as session:
        current = service.find_conversation(session, channel="rest", sender_id="closer")
        assert current is not None
        fresh = current.public_id
    assert fresh != conversation
    assert detail(hc, headers, fresh)["state"] == "bot"
    assert rasa.texts_from(fresh) == ["我还有个问题"]


def test_after_a_close_a_new_question_comes_first_and_a_digit_is_the_bot_s(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    headers, conversation = _taken(hc, db, "mover")
    hc.post(f"/api/v1/console/conversations/{conversation}/close", headers=headers)
    say(hc, "mover", "我还有个问题")  # not a rating: the next conversation begins
    with db.session() as session:
        current = service.find_conversation(session, channel="rest", sender_id="mover")
        assert current is not None
        fresh = current.public_id
    assert fresh != conversation
    say(hc, "mover", "5")  # now belongs to the new chat (e.g. a menu choice), not the old one
    assert rasa.texts_from(fresh) == ["我还有个问题", "5"]
    with db.session() as session:
        assert service.get_by_public_id(session, public_id=conversation).csat_score is None


def test_hand_back_keeps_the_conversation_with_the_bot_and_asks_for_a_rating(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    headers, conversation = _taken(hc, db, "returner")
    pushed = capture(hc)
    back = hc.post(f"/api/v1/console/conversations/{conversation}/end", headers=headers)
    assert back.status_code == 204
    assert detail(hc, headers, conversation)["state"] == "bot"
    assert [m.text for m in pushed[-2:]] == [
        "本次人工服务已结束，智能助手将继续为您服务。",
        "请为本次人工服务打分（5 分最满意）。",
    ]
    say(hc, "returner", "保修多久")
    assert public_id(db, "returner") == conversation
    assert rasa.texts_from(conversation)[-1] == "保修多久"


def test_only_the_agent_who_holds_the_chat_closes_it(hc: TestClient, db: Database) -> None:
    _headers, conversation = _taken(hc, db, "held")
    add_agent(db, "other")
    other = token(hc, "other")
    refused = hc.post(f"/api/v1/console/conversations/{conversation}/close", headers=other)
    assert refused.status_code == 403 and refused.json()["error"] == "error.not_your_chat"
    add_agent(db, "boss", role="admin")
    boss = token(hc, "boss")
    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/close", headers=boss).status_code
        == 204
    )
