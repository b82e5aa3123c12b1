"""Transfer with a note: to another agent directly, or to a team's queue (served first)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    add_agent,
    detail,
    go_online,
    hand_off,
    open_chat,
    queue,
    token,
)


def _take(client: TestClient, headers: dict[str, str], sender: str, db: Database) -> str:
    conversation = open_chat(client, db, sender)
    hand_off(client, conversation)
    url = f"/api/v1/console/conversations/{conversation}/accept"
    assert client.post(url, headers=headers).status_code == 204
    return conversation


def test_transfer_to_an_agent_with_a_note(hc: TestClient, db: Database) -> None:
    first = add_agent(db, "first")
    second = add_agent(db, "second")
    h1, h2 = token(hc, "first"), token(hc, "second")
    go_online(hc, h1)
    conversation = _take(hc, h1, "t1", db)

    url = f"/api/v1/console/conversations/{conversation}/transfer"
    offline = hc.post(url, json={"to_agent_id": second, "note": "懂空调"}, headers=h1)
    assert offline.status_code == 409 and offline.json()["error"] == "error.agent_unavailable"
    go_online(hc, h2)
    assert hc.post(url, json={"to_agent_id": second, "to_team": "x"}, headers=h1).status_code == 422
    moved = hc.post(url, json={"to_agent_id": second, "note": "客户问空调安装"}, headers=h1)
    assert moved.status_code == 204, moved.text

    assert hc.get("/api/v1/console/chats", headers=h1).json() == []
    assert [c["public_id"] for c in hc.get("/api/v1/console/chats", headers=h2).json()] == [
        conversation
    ]
    shown = detail(hc, h2, conversation)
    assert shown["state"] == "agent" and shown["agent_id"] == second
    (note,) = shown["notes"]
    assert note["kind"] == "transfer" and note["body"] == "客户问空调安装"
    assert note["author_id"] == first
    assert shown["messages"][-1]["text"] == "已为您转接至客服坐席second。"
    # The first agent no longer owns it.
    gone = hc.post(
        f"/api/v1/console/conversations/{conversation}/messages", json={"text": "hi"}, headers=h1
    )
    assert gone.status_code == 403
    ok = hc.post(
        f"/api/v1/console/conversations/{conversation}/messages", json={"text": "您好"}, headers=h2
    )
    assert ok.status_code == 201


def test_transfer_to_a_team_goes_to_the_front_of_the_queue(hc: TestClient, db: Database) -> None:
    add_agent(db, "desk")
    expert = add_agent(db, "expert", team="vip-care")
    hd, he = token(hc, "desk"), token(hc, "expert")
    go_online(hc, hd)
    conversation = _take(hc, hd, "t2", db)
    older = open_chat(hc, db, "t3")
    hand_off(hc, older)

    url = f"/api/v1/console/conversations/{conversation}/transfer"
    unknown = hc.post(url, json={"to_team": "nobody"}, headers=hd)
    assert unknown.status_code == 422
    assert (
        hc.post(url, json={"to_team": "vip-care", "note": "老客户"}, headers=hd).status_code == 204
    )
    items = queue(hc, hd)
    assert [i["public_id"] for i in items] == [conversation, older]
    assert items[0]["team"] == "vip-care" and items[0]["queue_front"] is True
    # Only the team takes it.
    refused = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=hd)
    assert refused.status_code == 409 and refused.json()["error"] == "error.chat_team"
    go_online(hc, he)
    assert queue(hc, hd)[0]["offered_to"] == expert
    assert (
        hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=he).status_code
        == 204
    )
    shown = detail(hc, he, conversation)
    assert [e["kind"] for e in shown["events"]] == ["handoff", "accept", "transfer_team", "accept"]
    assert shown["notes"][0]["body"] == "老客户"


def test_internal_notes_stay_internal(hc: TestClient, db: Database) -> None:
    add_agent(db, "n1")
    headers = token(hc, "n1")
    go_online(hc, headers)
    conversation = _take(hc, headers, "t4", db)
    made = hc.post(
        f"/api/v1/console/conversations/{conversation}/notes",
        json={"body": "客户情绪激动，注意安抚"},
        headers=headers,
    )
    assert made.status_code == 201 and made.json()["author_name"] == "坐席n1"
    history = hc.get("/api/v1/conversations/" + conversation, headers=headers).json()
    assert all("安抚" not in m["text"] for m in history["messages"])
