"""First contact: a widget opened before anything is typed gets the bot's greeting (the hub
sends Rasa its session-start trigger and stores the answer), once per conversation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import TrackingRasa, public_id

VISITOR = "v_greeting_0123456789abcdef0123"
WS = f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}"


def _history(hc: TestClient) -> list[dict[str, object]]:
    with hc.websocket_connect(WS) as ws:
        frame = ws.receive_json()
        assert frame["type"] == "history"
        return list(frame["messages"])


def test_opening_the_widget_shows_the_bots_greeting_once(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    first = _history(hc)
    # FakeRasa answers every message with an echo and a product button.
    assert [(m["author"], m["direction"], m["text"]) for m in first] == [
        ("bot", "out", "收到：/session_start"),
        ("bot", "out", "请选择产品"),
    ]
    conversation = public_id(db, VISITOR, channel="web")
    assert rasa.texts_from(conversation) == ["/session_start"]
    assert rasa.received[0]["metadata"] == {"channel": "web"}
    # Reopening (another tab, a reload) does not greet again.
    assert [m["id"] for m in _history(hc)] == [m["id"] for m in first]
    assert rasa.texts_from(conversation) == ["/session_start"]


def test_a_visitor_who_already_talked_is_not_greeted(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    with hc.websocket_connect(WS) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "洗衣机漏水", "client_id": "c1"})
        while ws.receive_json() != {"type": "typing", "on": False}:
            pass
    conversation = public_id(db, VISITOR, channel="web")
    assert rasa.texts_from(conversation) == ["/session_start", "洗衣机漏水"]
    texts = [m["text"] for m in _history(hc)]
    # The greeting ended with the fake's "请选择产品" too; here it follows another message.
    assert texts.count("收到：/session_start") == 1 and texts[-2:] == [
        "收到：洗衣机漏水",
        "请选择产品",
    ]


def test_without_rasa_the_widget_opens_without_a_greeting(
    hc: TestClient, rasa: TrackingRasa
) -> None:
    rasa.up = False
    assert _history(hc) == []
    rasa.up = True
    # The next opening is still a first contact: the greeting comes then.
    assert [m["text"] for m in _history(hc)][:1] == ["收到：/session_start"]
