"""Routing: offers go round-robin to online agents within their concurrent-chat limit and
skills; VIP customers are served first; accepting checks the same rules."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    add_agent,
    go_online,
    hand_off,
    make_vip,
    open_chat,
    queue,
    token,
    wait_for,
)


def _accept(client: TestClient, headers: dict[str, str], conversation: str) -> int:
    url = f"/api/v1/console/conversations/{conversation}/accept"
    return client.post(url, headers=headers).status_code


def _offers(client: TestClient, headers: dict[str, str]) -> dict[str, int | None]:
    return {item["public_id"]: item["offered_to"] for item in queue(client, headers)}


def test_concurrent_chat_limit(hc: TestClient, db: Database) -> None:
    wang = add_agent(db, "wang", max_chats=2)
    headers = token(hc, "wang")
    go_online(hc, headers)
    chats = [open_chat(hc, db, f"c{i}") for i in range(3)]
    for conversation in chats:
        hand_off(hc, conversation)
    # Two offers fill the limit; the third waits for room.
    assert _offers(hc, headers) == {chats[0]: wang, chats[1]: wang, chats[2]: None}
    assert _accept(hc, headers, chats[0]) == 204
    assert _accept(hc, headers, chats[1]) == 204
    refused = hc.post(f"/api/v1/console/conversations/{chats[2]}/accept", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"] == "error.chat_limit"
    assert _offers(hc, headers) == {chats[2]: None}

    assert (
        hc.post(f"/api/v1/console/conversations/{chats[0]}/end", headers=headers).status_code == 204
    )
    assert _offers(hc, headers) == {chats[2]: wang}
    assert _accept(hc, headers, chats[2]) == 204
    mine = hc.get("/api/v1/console/chats", headers=headers).json()
    assert [c["public_id"] for c in mine] == [chats[1], chats[2]]


def test_skills_product_line_and_language(hc: TestClient, db: Database) -> None:
    washer = add_agent(db, "washer", product_lines=["洗衣机"])
    cooler = add_agent(db, "cooler", product_lines=["空调"])
    english = add_agent(db, "english", languages=["en", "zh"], product_lines=["冰箱"])
    w, c, e = token(hc, "washer"), token(hc, "cooler"), token(hc, "english")
    go_online(hc, w)
    ac = open_chat(hc, db, "ac-customer")
    hand_off(hc, ac, product_line="空调")
    assert _offers(hc, w) == {ac: None}, "the only agent online lacks the skill"
    refused = hc.post(f"/api/v1/console/conversations/{ac}/accept", headers=w)
    assert refused.status_code == 409 and refused.json()["error"] == "error.chat_skill"

    go_online(hc, c)
    assert _offers(hc, w) == {ac: cooler}

    en = open_chat(hc, db, "en-customer")
    hand_off(hc, en, language="en")
    assert _offers(hc, w)[en] is None, "nobody online speaks English"
    refused = hc.post(f"/api/v1/console/conversations/{en}/accept", headers=c)
    assert refused.json()["error"] == "error.chat_language"
    go_online(hc, e)
    assert _offers(hc, w)[en] == english
    assert _accept(hc, e, en) == 204
    assert washer not in _offers(hc, w).values()


def test_vip_first_then_longest_wait(hc: TestClient, db: Database) -> None:
    solo = add_agent(db, "solo", max_chats=1)
    headers = token(hc, "solo")
    first = open_chat(hc, db, "normal-1")
    second = open_chat(hc, db, "normal-2")
    make_vip(db, "vip-1", "13900000001")
    vip = open_chat(hc, db, "vip-1")
    for conversation in (first, second, vip):
        hand_off(hc, conversation)
    items = queue(hc, headers)
    assert [i["public_id"] for i in items] == [vip, first, second]
    assert [i["vip"] for i in items] == [True, False, False]
    assert items[0]["customer_name"] == "VIP0001"

    go_online(hc, headers)
    assert _offers(hc, headers) == {vip: solo, first: None, second: None}
    assert _accept(hc, headers, vip) == 204
    assert hc.post(f"/api/v1/console/conversations/{vip}/end", headers=headers).status_code == 204
    assert _offers(hc, headers) == {first: solo, second: None}


def test_round_robin_between_agents(hc: TestClient, db: Database) -> None:
    a = add_agent(db, "a")
    b = add_agent(db, "b")
    ha, hb = token(hc, "a"), token(hc, "b")
    go_online(hc, ha)
    go_online(hc, hb)
    chats = [open_chat(hc, db, f"rr{i}") for i in range(4)]
    for conversation in chats:
        hand_off(hc, conversation)
    offers = _offers(hc, ha)
    assert [offers[c] for c in chats] == [a, b, a, b]


def test_away_agents_get_no_offers_and_offers_expire(
    make_client: Callable[..., TestClient], db: Database
) -> None:
    client = make_client(handoff_offer_timeout_s=0.3)
    a = add_agent(db, "a")
    b = add_agent(db, "b")
    ha, hb = token(client, "a"), token(client, "b")
    go_online(client, ha)
    go_online(client, hb, "away")
    conversation = open_chat(client, db, "slow")
    hand_off(client, conversation)
    assert _offers(client, ha) == {conversation: a}
    go_online(client, hb)
    # a does not answer: after the timeout the offer moves on to b.
    wait_for(lambda: _offers(client, ha) == {conversation: b}, what="offer to move to b")
    # b declines: a let it time out (not at the desk), so it is not offered to a again
    # (tests/console/test_offer_timeouts.py follows it step by step with a stepped clock).
    declined = client.post(f"/api/v1/console/conversations/{conversation}/decline", headers=hb)
    assert declined.status_code == 204
    assert _offers(client, ha)[conversation] != a


def test_offline_agent_cannot_accept(hc: TestClient, db: Database) -> None:
    add_agent(db, "sleepy")
    headers = token(hc, "sleepy")
    conversation = open_chat(hc, db, "c")
    hand_off(hc, conversation)
    refused = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"] == "error.agent_offline"
    go_online(hc, headers, "away")
    assert _accept(hc, headers, conversation) == 204
