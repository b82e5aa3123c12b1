"""Taking a chat (issue 19): a second click on 接入 for a chat the agent already holds is
harmless, and an agent who takes over a chat from the bot sees what the customer asked, with
the ticket form's draft filled from it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    add_agent,
    detail,
    go_online,
    hand_off,
    open_chat,
    public_id,
    say,
    token,
)


def test_a_second_accept_of_ones_own_chat_is_harmless(hc: TestClient, db: Database) -> None:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    go_online(hc, headers)
    conversation = open_chat(hc, db, "twice")
    hand_off(hc, conversation)
    url = f"/api/v1/console/conversations/{conversation}/accept"
    first = hc.post(url, headers=headers)
    second = hc.post(url, headers=headers)
    assert first.status_code == second.status_code == 204, second.text
    shown = detail(hc, headers, conversation)
    assert shown["state"] == "agent"
    assert [e["kind"] for e in shown["events"]].count("accept") == 1
    joined = [m for m in shown["messages"] if m["author"] == "system" and "坐席desk" in m["text"]]
    assert len(joined) == 1


def test_someone_elses_chat_is_still_refused(hc: TestClient, db: Database) -> None:
    add_agent(db, "first")
    add_agent(db, "second")
    first, second = token(hc, "first"), token(hc, "second")
    go_online(hc, first)
    go_online(hc, second)
    conversation = open_chat(hc, db, "taken")
    hand_off(hc, conversation)
    url = f"/api/v1/console/conversations/{conversation}/accept"
    assert hc.post(url, headers=first).status_code == 204
    refused = hc.post(url, headers=second)
    assert refused.status_code == 409 and "人工接待中" in refused.json()["message_zh"]


def test_taking_over_from_the_bot_summarises_and_drafts_the_ticket(
    hc: TestClient, db: Database
) -> None:
    add_agent(db, "desk")
    headers = token(hc, "desk")
    go_online(hc, headers)
    say(hc, "stove", "燃气灶打不着火")
    say(hc, "stove", "电话13812345678，地址上海市浦东新区世纪大道100号")
    conversation = public_id(db, "stove")
    taken = hc.post(f"/api/v1/console/conversations/{conversation}/pickup", headers=headers)
    assert taken.status_code == 204, taken.text
    shown = detail(hc, headers, conversation)
    assert "燃气灶打不着火" in shown["handoff_summary"]
    draft = shown["ticket_draft"]
    assert draft["product"] == "燃气灶"
    assert draft["fault_description"] == "燃气灶打不着火"
    assert draft["phone"] == "13812345678"
    assert "世纪大道100号" in draft["address"]


def test_the_draft_phone_is_masked_for_a_colleague_who_does_not_hold_the_chat(
    hc: TestClient, db: Database
) -> None:
    add_agent(db, "desk")
    add_agent(db, "peer")
    headers, peer = token(hc, "desk"), token(hc, "peer")
    go_online(hc, headers)
    say(hc, "masked", "热水器不出热水，电话13812345678")
    conversation = public_id(db, "masked")
    hc.post(f"/api/v1/console/conversations/{conversation}/pickup", headers=headers)
    seen = detail(hc, peer, conversation)
    assert "13812345678" not in str(seen["ticket_draft"])
    assert "13812345678" not in seen["handoff_summary"]
