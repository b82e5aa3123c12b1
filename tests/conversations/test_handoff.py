"""Handoff from the bot: the queue, the takeover (Rasa hears nothing), the agent's replies
through the customer's channel, ending the chat, the rating, and the bot again."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from channels.base import ChannelMessage
from portal.database import Database
from tests.conversations.support import (
    BOT,
    TrackingRasa,
    add_agent,
    detail,
    go_online,
    hand_off,
    next_frame,
    open_chat,
    public_id,
    queue,
    say,
    token,
)


def capture(client: TestClient, channel: str = "rest") -> list[ChannelMessage]:
    """Register a sender for `channel` and return what the hub pushes through it."""
    pushed: list[ChannelMessage] = []

    async def send(message: ChannelMessage) -> None:
        pushed.append(message)

    client.app.state.hub.register_sender(channel, send)  # type: ignore[attr-defined]
    return pushed


def test_takeover_round_trip(hc: TestClient, db: Database, rasa: TrackingRasa) -> None:
    pushed = capture(hc)
    agent = add_agent(db, "wang")
    headers = token(hc, "wang")
    go_online(hc, headers)
    conversation = open_chat(hc, db, "cust-1", "你好")
    assert rasa.texts_from(conversation) == ["你好"]

    result = hand_off(hc, conversation, "complaint")
    assert result == {
        "public_id": conversation,
        "state": "waiting",
        "queued": True,
        "on_duty": True,
        "position": 1,
    }
    (item,) = queue(hc, headers)
    assert item["public_id"] == conversation and item["reason"] == "complaint"
    assert item["summary"] == "客户要求人工"
    assert item["offered_to"] == agent
    assert [m.text for m in pushed] == ["正在为您转接人工客服，您当前排在第 1 位，请稍候。"]

    # Waiting: the customer's message is kept for the agent, the bot is not asked; the hub
    # acknowledges it (once per wait).
    assert [r["text"] for r in say(hc, "cust-1", "还在吗")] == [
        "已收到，客服接入后会第一时间看到。"
    ]
    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers).status_code
        == 204
    )
    assert queue(hc, headers) == []
    assert "客服坐席wang为您服务" in pushed[-1].text and pushed[-1].author == "system"

    sent = hc.post(
        f"/api/v1/console/conversations/{conversation}/messages",
        json={"text": "您好，<b>请问</b>什么问题？"},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["author"] == "agent" and sent.json()["agent_id"] == agent
    assert pushed[-1].text == "您好，<b>请问</b>什么问题？" and pushed[-1].author == "agent"
    assert pushed[-1].sender_id == "cust-1"

    assert say(hc, "cust-1", "洗衣机显示E21") == []
    assert rasa.texts_from(conversation) == ["你好"], "Rasa heard nothing during the takeover"

    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/end", headers=headers).status_code
        == 204
    )
    ended, csat = pushed[-2:]
    assert ended.text.startswith("本次人工服务已结束")
    assert csat.author == "system" and [b.title for b in csat.buttons] == [
        "5 分",
        "4 分",
        "3 分",
        "2 分",
        "1 分",
    ]
    # The rating is answered by the hub, not the bot.
    replies = hc.post("/channels/rest/webhook", json={"sender": "cust-1", "message": "5"}).json()
    assert [r["text"] for r in replies] == ["感谢您的评价！"]
    assert rasa.texts_from(conversation) == ["你好"]

    # The bot is back.
    replies = say(hc, "cust-1", "还有个问题")
    assert replies[0]["text"] == "收到：还有个问题"
    assert rasa.texts_from(conversation) == ["你好", "还有个问题"]
    assert [(s, e, tok) for s, e, tok in rasa.tracker_events] == [
        (conversation, "pause", "test-rasa-token"),
        (conversation, "resume", "test-rasa-token"),
    ]
    # Back with the bot, a form left for the person is over: the next message starts afresh.
    resumed = [body for sender, body in rasa.tracker_bodies if sender == conversation][1:]
    assert [b["event"] for b in resumed] == ["resume", "active_loop", "slot"]
    assert resumed[1]["name"] is None and resumed[2] == {
        "event": "slot",
        "name": "requested_slot",
        "value": None,
        "timestamp": resumed[2]["timestamp"],
    }

    shown = detail(hc, headers, conversation)
    assert shown["state"] == "bot" and shown["csat_score"] == 5
    authors = [(m["author"], m["text"][:6]) for m in shown["messages"]]
    assert authors == [
        ("customer", "你好"),
        ("bot", "收到：你好"),
        ("bot", "请选择产品"),
        ("system", "正在为您转接"),
        ("customer", "还在吗"),
        ("system", "已收到，客服"),
        ("system", "客服坐席wa"),
        ("agent", "您好，<b>"),
        ("customer", "洗衣机显示E"),
        ("system", "本次人工服务"),
        ("system", "请为本次人工"),
        ("customer", "5"),
        ("system", "感谢您的评价"),
        ("customer", "还有个问题"),
        ("bot", "收到：还有个"),
        ("bot", "请选择产品"),
    ]
    assert [e["kind"] for e in shown["events"]] == ["handoff", "accept", "end", "csat"]


def test_handoff_needs_the_bot_token(hc: TestClient, db: Database) -> None:
    add_agent(db, "li")
    conversation = open_chat(hc, db, "cust-2")
    body: dict[str, Any] = {"reason": "request", "summary": ""}
    url = f"/api/v1/conversations/{conversation}/handoff"
    assert hc.post(url, json=body).status_code == 401
    assert hc.post(url, json=body, headers=token(hc, "li")).status_code == 403
    assert hc.post(url, json={"reason": "bored"}, headers=BOT).status_code == 422
    missing = hc.post("/api/v1/conversations/nope/handoff", json=body, headers=BOT)
    assert missing.status_code == 404
    # Asking twice changes nothing.
    assert hand_off(hc, conversation)["position"] == 1
    assert hand_off(hc, conversation, "failures")["state"] == "waiting"
    assert [e["kind"] for e in detail(hc, token(hc, "li"), conversation)["events"]] == ["handoff"]


VISITOR = "visitor-0123456789abcdef"


def _until(ws: Any, predicate: Any, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        frame = ws.receive_json()
        if predicate(frame):
            return dict(frame)
    raise AssertionError("frame not received")


def test_widget_customer_gets_agent_messages_and_typing(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "zhao")
    headers = token(hc, "zhao")
    go_online(hc, headers)
    with hc.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}") as ws:
        assert ws.receive_json()["type"] == "history"
        ws.send_json({"type": "message", "text": "你好", "client_id": "c1"})
        _until(ws, lambda f: f["type"] == "typing" and f["on"] is False)
        conversation = public_id(db, VISITOR, channel="web")
        hand_off(hc, conversation)
        queued = _until(ws, lambda f: f["type"] == "message")
        assert queued["author"] == "system" and "排在第 1 位" in queued["text"]

        hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
        joined = _until(ws, lambda f: f["type"] == "message")
        assert joined["author"] == "system" and "为您服务" in joined["text"]

        hc.post(
            f"/api/v1/console/conversations/{conversation}/typing",
            json={"on": True},
            headers=headers,
        )
        assert _until(ws, lambda f: f["type"] == "typing") == {"type": "typing", "on": True}
        hc.post(
            f"/api/v1/console/conversations/{conversation}/messages",
            json={"text": "<img src=x onerror=alert(1)>"},
            headers=headers,
        )
        said = _until(ws, lambda f: f["type"] == "message")
        assert said["author"] == "agent" and said["text"] == "<img src=x onerror=alert(1)>"

        ws.send_json({"type": "message", "text": "谢谢", "client_id": "c2"})
        echo = _until(ws, lambda f: f["type"] == "message")
        assert echo["direction"] == "in" and echo["client_id"] == "c2"
        _until(ws, lambda f: f["type"] == "typing" and f["on"] is False)
    # The widget was greeted on opening (the session start), then only "你好" reached Rasa.
    assert rasa.texts_from(conversation) == ["/session_start", "你好"]


def test_widget_customer_typing_reaches_only_the_agent_who_owns_the_chat(
    hc: TestClient, db: Database
) -> None:
    add_agent(db, "qian")
    headers = token(hc, "qian")
    with (
        hc.websocket_connect("/console/ws", headers=headers) as console,
        hc.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}") as ws,
    ):
        assert console.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "history"
        ws.send_json({"type": "message", "text": "你好", "client_id": "c1"})
        _until(ws, lambda f: f["type"] == "typing" and f["on"] is False)
        conversation = public_id(db, VISITOR, channel="web")
        # With the bot nobody is told (this "off" would be the first typing frame otherwise).
        ws.send_json({"type": "typing", "on": False})
        hand_off(hc, conversation)
        accepted = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
        assert accepted.status_code == 204
        _until(ws, lambda f: f["type"] == "message" and "为您服务" in f["text"])
        ws.send_json({"type": "typing", "on": True})
        shown = next_frame(console, "typing")
        assert shown == {
            "type": "typing",
            "conversation": conversation,
            "who": "customer",
            "on": True,
        }
        ws.send_json({"type": "typing", "on": False})
        assert next_frame(console, "typing")["on"] is False
