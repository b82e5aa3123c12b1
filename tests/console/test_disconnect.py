"""An agent who disconnects mid-chat: after the grace period the conversation goes back to
the front of the queue with nothing lost; reconnecting in time keeps it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from portal.conversations.flows import ConversationHub
from portal.database import Database
from tests.conversations.support import (
    Clock,
    add_agent,
    detail,
    go_online,
    hand_off,
    make_vip,
    next_frame,
    open_chat,
    queue,
    say,
    token,
    wait_for,
)


def test_disconnected_agent_chat_returns_to_the_front(hc: TestClient, db: Database) -> None:
    gone = add_agent(db, "gone")
    other = add_agent(db, "other", max_chats=1)
    hg, ho = token(hc, "gone"), token(hc, "other")
    make_vip(db, "vip", "13900000009")
    with hc.websocket_connect("/console/ws", headers=hg) as ws:
        assert ws.receive_json()["type"] == "hello"
        conversation = open_chat(hc, db, "mid-chat")
        hand_off(hc, conversation)
        assert next_frame(ws, "offer")["conversation"] == conversation
        assert (
            hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=hg).status_code
            == 204
        )
        assert next_frame(ws, "chats")["items"][0]["public_id"] == conversation
        say(hc, "mid-chat", "我的空调漏水")
        message = next_frame(ws, "message")
        assert message["conversation"] == conversation
        assert message["message"]["text"] == "我的空调漏水"
        ws.send_json(
            {"type": "send", "conversation": conversation, "text": "收到", "client_id": "k1"}
        )
        sent = next_frame(ws, "sent")
        assert sent["client_id"] == "k1" and sent["message"]["author"] == "agent"
        before = len(detail(hc, ho, conversation)["messages"])
        # A VIP who waits meanwhile would normally go first.
        vip = open_chat(hc, db, "vip")
        hand_off(hc, vip)
    # The socket is gone: during the grace period the chat stays; the customer keeps writing.
    say(hc, "mid-chat", "还在吗？")
    assert detail(hc, ho, conversation)["state"] == "agent"
    wait_for(lambda: detail(hc, ho, conversation)["state"] == "waiting", what="requeue")
    items = queue(hc, ho)
    assert [i["public_id"] for i in items] == [conversation, vip]
    assert items[0]["queue_front"] is True
    shown = detail(hc, ho, conversation)
    texts = [m["text"] for m in shown["messages"]]
    assert len(texts) == before + 2 and texts[-2] == "还在吗？"
    assert texts[-1] == "客服连接中断，正在为您重新安排客服，请稍候。"
    assert {"我的空调漏水", "收到"} <= set(texts)
    assert shown["events"][-1]["kind"] == "requeue"
    assert shown["events"][-1]["payload"]["from"] == gone
    # The next agent online is offered it first, and sees the whole transcript.
    go_online(hc, ho)
    assert queue(hc, ho)[0]["offered_to"] == other
    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=ho).status_code
        == 204
    )


def test_reconnecting_within_the_grace_period_keeps_the_chat(
    make_client: Callable[..., TestClient], db: Database
) -> None:
    clock = Clock()  # the handoff queue's: stepped past the grace period, never waited for
    client = make_client(clock=clock, handoff_grace_s=1.5)
    hub: ConversationHub = client.app.state.hub  # type: ignore[attr-defined]
    flaky, away = add_agent(db, "flaky"), add_agent(db, "away")
    headers, away_headers = token(client, "flaky"), token(client, "away")
    chats = {}
    for agent, their_headers, customer in ((flaky, headers, "keep"), (away, away_headers, "lost")):
        with client.websocket_connect("/console/ws", headers=their_headers) as ws:
            ws.receive_json()
            chats[agent] = open_chat(client, db, customer)
            hand_off(client, chats[agent])
            accepted = client.post(
                f"/api/v1/console/conversations/{chats[agent]}/accept", headers=their_headers
            )
            assert accepted.status_code == 204, accepted.text
        # Both sockets closed at the same moment of the queue's clock.
        wait_for(lambda agent=agent: hub.presence.status(agent) == "offline", what="offline")
    with client.websocket_connect("/console/ws", headers=headers) as ws:
        hello = ws.receive_json()
        assert [c["public_id"] for c in hello["chats"]] == [chats[flaky]]
        clock.advance(2.0)  # past the grace period, counted from the first disconnect
        portal = client.portal
        assert portal is not None
        portal.call(hub.tick)  # a whole round of the queue's clock, at that time
        # The round did give back the chat of the agent who stayed away, not the other.
        assert detail(client, away_headers, chats[away])["state"] == "waiting"
        assert detail(client, headers, chats[flaky])["state"] == "agent"


def test_silent_api_agent_times_out(make_client: Callable[..., TestClient], db: Database) -> None:
    client = make_client(handoff_heartbeat_timeout_s=0.3, handoff_grace_s=0.2)
    add_agent(db, "quiet")
    add_agent(db, "watcher")
    headers, watcher = token(client, "quiet"), token(client, "watcher")
    go_online(client, headers)
    conversation = open_chat(client, db, "q")
    hand_off(client, conversation)
    client.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    # Nothing more from "quiet": no socket, no API call.
    wait_for(lambda: queue(client, watcher), what="requeue after a missed heartbeat")
    assert detail(client, watcher, conversation)["events"][-1]["kind"] == "requeue"


def test_console_socket_needs_a_chatting_staff_member(hc: TestClient, db: Database) -> None:
    add_agent(db, "disp", role="dispatcher")
    add_agent(db, "ok")
    for headers in ({}, token(hc, "disp")):
        try:
            with hc.websocket_connect("/console/ws", headers=headers) as ws:
                ws.receive_json()
        except Exception as exc:  # starlette raises WebSocketDisconnect with the close code
            assert getattr(exc, "code", None) == 1008
        else:
            raise AssertionError("socket accepted")
    cross = {**token(hc, "ok"), "origin": "https://evil.example"}
    try:
        with hc.websocket_connect("/console/ws", headers=cross) as ws:
            ws.receive_json()
    except Exception as exc:
        assert getattr(exc, "code", None) == 1008
    else:
        raise AssertionError("cross-site socket accepted")
