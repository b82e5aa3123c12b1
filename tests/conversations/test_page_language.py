"""The hub passes the widget page's language on to the bot: `lang` in the metadata of the
greeting's /session_start and of every message, next to the channel, so a chat opened on an
English page is greeted in English (bot/actions/language.py reads it)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import TrackingRasa, public_id

VISITOR = "v_page_language_0123456789abcdef"
WS = f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}"


def chat(hc: TestClient, url: str, text: str) -> None:
    """Open the widget at `url` (the greeting), send `text` and wait for its turn to end."""
    with hc.websocket_connect(url) as ws:
        assert ws.receive_json()["type"] == "history"
        ws.send_json({"type": "message", "text": text, "client_id": "c1"})
        while ws.receive_json() != {"type": "typing", "on": False}:
            pass


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_language_goes_to_the_bot_with_the_greeting_and_each_message(
    hc: TestClient, db: Database, rasa: TrackingRasa, lang: str
) -> None:
    chat(hc, f"{WS}&lang={lang}", "hi")
    conversation = public_id(db, VISITOR, channel="web")
    sent = [(m["message"], m["metadata"]) for m in rasa.received if m["sender"] == conversation]
    assert sent == [
        ("/session_start", {"channel": "web", "lang": lang}),
        ("hi", {"channel": "web", "lang": lang}),
    ]


def test_without_a_page_language_the_bot_gets_only_the_channel(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    chat(hc, f"{WS}&lang=fr", "hi")
    conversation = public_id(db, VISITOR, channel="web")
    assert [m["metadata"] for m in rasa.received if m["sender"] == conversation] == [
        {"channel": "web"},
        {"channel": "web"},
    ]
