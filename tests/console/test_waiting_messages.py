"""What a customer typed while queued reaches the agent who takes the chat: in the queue's
preview while waiting, and in the transcript the console shows once accepted."""

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
    say,
    token,
)


def test_the_agent_sees_what_the_customer_typed_while_waiting(hc: TestClient, db: Database) -> None:
    add_agent(db, "he")
    headers = token(hc, "he")
    conversation = open_chat(hc, db, "queued-typist", "洗衣机漏水")
    hand_off(hc, conversation)
    say(hc, "queued-typist", "还在吗")
    say(hc, "queued-typist", "地址是张杨路500号")
    (item,) = queue(hc, headers)
    assert item["preview"] == "地址是张杨路500号"

    go_online(hc, headers)
    accepted = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    assert accepted.status_code == 204
    said = [(m["author"], m["text"]) for m in detail(hc, headers, conversation)["messages"]]
    assert said[-4:] == [
        ("customer", "还在吗"),
        ("system", "已收到，客服接入后会第一时间看到。"),
        ("customer", "地址是张杨路500号"),
        ("system", "客服坐席he为您服务，请问有什么可以帮您？"),
    ]
