"""A chat an agent closed asks for a rating. A customer who reloads the page (or opens the
widget in another tab) before answering still sees that question, is not greeted into a new
conversation, and their bare score rates the closed chat, not the bot. Once they write
something else, or the question is a day old, the next conversation begins as usual."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from portal.conversations import service
from portal.database import Database
from portal.i18n import t
from tests.conversations.support import TrackingRasa, add_agent, go_online, hand_off, token
from tests.conversations.test_hub_language import (
    VISITOR,
    accept,
    console,
    conversation_of,
    send,
    texts,
    widget,
)


def _closed_chat(hc: TestClient, db: Database) -> str:
    add_agent(db, "desk")
    desk = token(hc, "desk")
    go_online(hc, desk)
    with widget(hc, "zh") as ws:
        assert ws.receive_json()["type"] == "history"
        send(ws, "你好")
        conversation = conversation_of(db)
        hand_off(hc, conversation)
        accept(hc, desk, conversation)
        console(hc, desk, conversation, "close")
    return conversation


def _history(hc: TestClient) -> list[dict[str, object]]:
    with widget(hc, "zh") as ws:
        frame = ws.receive_json()
        assert frame["type"] == "history"
        return list(frame["messages"])


def test_a_reopened_widget_shows_the_open_rating_question_and_the_score_rates_the_chat(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    closed = _closed_chat(hc, db)
    greetings = rasa.texts_from(closed).count("/session_start")

    # Reloading the page: the closed chat and its question, no greeting of a new chat.
    shown = _history(hc)
    assert shown[-1]["text"] == t("hub.csat.ask", "zh")
    with db.session() as session:
        assert service.find_conversation(session, channel="web", sender_id=VISITOR) is None

    with widget(hc, "zh") as ws:
        assert ws.receive_json()["type"] == "history"
        assert texts(send(ws, "5")) == [t("hub.csat.thanks", "zh")]
    with db.session() as session:
        row = service.get_by_public_id(session, public_id=closed)
        assert row.csat_score == 5 and not row.csat_pending and row.state == "closed"
        assert service.find_conversation(session, channel="web", sender_id=VISITOR) is None
    assert rasa.texts_from(closed).count("/session_start") == greetings
    assert "5" not in rasa.texts_from(closed)

    # Rated: the next opening greets a new conversation.
    _history(hc)
    with db.session() as session:
        fresh = service.find_conversation(session, channel="web", sender_id=VISITOR)
        assert fresh is not None and fresh.public_id != closed
    assert rasa.texts_from(fresh.public_id) == ["/session_start"]


def test_a_rating_question_a_day_old_lapses_and_the_widget_greets_again(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    closed = _closed_chat(hc, db)
    with db.session() as session:
        row = service.get_by_public_id(session, public_id=closed)
        row.last_message_at = row.last_message_at - timedelta(days=1, minutes=1)
    _history(hc)
    with db.session() as session:
        fresh = service.find_conversation(session, channel="web", sender_id=VISITOR)
        assert fresh is not None and fresh.public_id != closed
    assert rasa.texts_from(fresh.public_id) == ["/session_start"]
    with widget(hc, "zh") as ws:
        assert ws.receive_json()["type"] == "history"
        send(ws, "5")  # a menu choice of the new chat now
    assert rasa.texts_from(fresh.public_id) == ["/session_start", "5"]
    with db.session() as session:
        assert service.get_by_public_id(session, public_id=closed).csat_score is None
