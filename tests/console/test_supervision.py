"""Supervisors: a conversation waiting too long is escalated (flag, live notice, stored
notification); supervisors see every agent's status, load and live conversations."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    add_agent,
    go_online,
    hand_off,
    next_frame,
    open_chat,
    queue,
    token,
)


def test_long_wait_is_escalated_to_supervisors(
    make_client: Callable[..., TestClient], db: Database
) -> None:
    client = make_client(handoff_escalate_after_s=0.3)
    boss = add_agent(db, "boss", role="admin")
    lead = add_agent(db, "lead", supervisor=True)
    add_agent(db, "plain")
    with client.websocket_connect("/console/ws", headers=token(client, "lead")) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["me"]["supervisor"] is True
        assert {a["user_id"] for a in hello["agents"]} >= {boss, lead}
        conversation = open_chat(client, db, "patient")
        hand_off(client, conversation)
        frame = next_frame(ws, "escalated")
        assert frame["conversation"] == conversation and frame["waited_s"] >= 0

    plain = token(client, "plain")
    (item,) = queue(client, plain)
    assert item["escalated"] is True
    for who in ("boss", "lead"):
        notes = client.get("/api/v1/notifications/mine", headers=token(client, who)).json()
        (note,) = notes["items"]
        assert note["template"] == "handoff_escalated"
        assert conversation in note["text"] and "等待人工已超过" in note["text"]
    assert client.get("/api/v1/notifications/mine", headers=plain).json()["items"] == []
    # Once only, however many rounds the clock makes: a second wait, escalated by a later
    # round of the same clock, is the barrier; the first still has its one notification.
    with client.websocket_connect("/console/ws", headers=token(client, "lead")) as ws:
        assert ws.receive_json()["type"] == "hello"
        later = open_chat(client, db, "later")
        hand_off(client, later)
        assert next_frame(ws, "escalated")["conversation"] == later
    notes = client.get("/api/v1/notifications/mine", headers=token(client, "boss")).json()
    assert notes["total"] == 2
    assert [conversation in n["text"] for n in notes["items"]].count(True) == 1


def test_supervisor_sees_agents_load_and_chats(hc: TestClient, db: Database) -> None:
    add_agent(db, "boss", role="admin")
    worker = add_agent(db, "worker", max_chats=4)
    hb, hw = token(hc, "boss"), token(hc, "worker")
    assert hc.get("/api/v1/console/agents", headers=hw).status_code == 403
    go_online(hc, hw)
    conversation = open_chat(hc, db, "s1")
    hand_off(hc, conversation)
    hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=hw)
    agents = {a["user_id"]: a for a in hc.get("/api/v1/console/agents", headers=hb).json()}
    assert agents[worker]["status"] == "online"
    assert agents[worker]["load"] == 1 and agents[worker]["max_chats"] == 4
    assert agents[worker]["chats"] == [conversation]
    # A supervisor may step into any chat.
    said = hc.post(
        f"/api/v1/console/conversations/{conversation}/messages",
        json={"text": "主管介入"},
        headers=hb,
    )
    assert said.status_code == 201


def test_admin_sets_profiles(hc: TestClient, db: Database) -> None:
    add_agent(db, "boss", role="admin")
    worker = add_agent(db, "worker")
    hb, hw = token(hc, "boss"), token(hc, "worker")
    body = {"max_chats": 5, "product_lines": ["空调"], "languages": ["zh", "en"], "team": "ac"}
    assert hc.put(f"/api/v1/console/agents/{worker}", json=body, headers=hw).status_code == 403
    assert hc.put(f"/api/v1/console/agents/{worker}", json=body, headers=hb).status_code == 200
    me = hc.get("/api/v1/console/me", headers=hw).json()
    assert me["max_chats"] == 5 and me["product_lines"] == ["空调"] and me["team"] == "ac"
    assert me["teams"] == ["ac"] and me["supervisor"] is False
    assert me["kb_available"] is False
    assert me["quick_replies"][0] == "您好，我是人工客服，很高兴为您服务。"
