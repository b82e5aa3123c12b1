"""Offers that nobody answers: with the queue's clock stepped by the test (never waited for),
a timed-out offer is withdrawn and goes to another available agent or back to the queue,
never again to the agent who let it lapse; and offers never stop an agent from taking a
chat: the concurrent-chat limit counts accepted chats only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.conversations.flows import ConversationHub
from portal.database import Database
from portal.main import create_app
from tests.app_fixtures import BOT_TOKEN
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    go_online,
    hand_off,
    open_chat,
    queue,
    token,
)

OFFER_TIMEOUT = 30.0


class Clock:
    """The hub's monotonic clock, stepped by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Desk:
    """The app with a stepped clock; `tick()` runs one round of the queue's clock."""

    def __init__(self, client: TestClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self.hub: ConversationHub = client.app.state.hub  # type: ignore[attr-defined]

    def tick(self) -> None:
        """One round of the queue's clock, in the app's own event loop."""
        portal = self.client.portal
        assert portal is not None
        portal.call(self.hub.tick)

    def lapse(self) -> None:
        """Let every open offer time out, then let the clock notice."""
        self.clock.advance(OFFER_TIMEOUT + 1)
        self.tick()

    def offers(self, headers: dict[str, str]) -> dict[str, int | None]:
        return {item["public_id"]: item["offered_to"] for item in queue(self.client, headers)}

    def held(self, headers: dict[str, str]) -> dict[int, list[str]]:
        """Who holds which offers, as the supervisors' view lists them."""
        rows = self.client.get("/api/v1/console/agents", headers=headers).json()
        return {row["user_id"]: row["offers"] for row in rows}

    def post(self, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        return self.client.post(f"/api/v1/console{path}", headers=headers, **kw)


@pytest.fixture
def desk(db: Database, tmp_path: Path) -> Iterator[Desk]:
    """The portal with the handoff clock in the test's hands (its own ticker never runs)."""
    clock = Clock()
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        var_dir=tmp_path,
        bot_service_token=BOT_TOKEN,
        rasa_token="test-rasa-token",
        secret_key="test-secret",
        handoff_tick_s=3600,  # the test ticks
        handoff_offer_timeout_s=OFFER_TIMEOUT,
        handoff_heartbeat_timeout_s=3600,
        handoff_grace_s=3600,
        rest_rate_sender_per_min=0,
        rest_rate_ip_per_min=0,
    )
    rasa = TrackingRasa()
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler), clock=clock)
    with TestClient(app) as client:
        yield Desk(client, clock)


def test_offers_do_not_count_against_the_limit(desk: Desk, db: Database) -> None:
    # The testers' report: three offers held every slot of an agent with no chats.
    wang = add_agent(db, "wang", max_chats=3)
    hw = token(desk.client, "wang")
    go_online(desk.client, hw)
    chats = [open_chat(desk.client, db, f"cap{i}") for i in range(4)]
    for conversation in chats:
        hand_off(desk.client, conversation)
    assert desk.offers(hw) == {chats[0]: wang, chats[1]: wang, chats[2]: wang, chats[3]: None}
    # Taking the one chat not offered to them is not refused for the three offers.
    taken = desk.post(f"/conversations/{chats[3]}/accept", hw)
    assert taken.status_code == 204, taken.text
    # One chat and two offers fill the limit: the third offer is withdrawn (not lost: it
    # waits in the queue for whoever has room).
    offers = desk.offers(hw)
    assert list(offers.values()).count(wang) == 2 and list(offers.values()).count(None) == 1
    # Offers still never take the agent past the limit once they accept them.
    for conversation, agent in offers.items():
        if agent == wang:
            assert desk.post(f"/conversations/{conversation}/accept", hw).status_code == 204
    (left,) = desk.offers(hw)
    refused = desk.post(f"/conversations/{left}/accept", hw)
    assert refused.status_code == 409 and refused.json()["error"] == "error.chat_limit"
    assert "3" in refused.json()["message_zh"] and "3" in refused.json()["message_en"]


def test_timed_out_offers_go_back_to_the_queue_and_the_agent_still_takes_a_chat(
    desk: Desk, db: Database
) -> None:
    wang = add_agent(db, "wang", max_chats=3)
    hw = token(desk.client, "wang")
    go_online(desk.client, hw)
    chats = [open_chat(desk.client, db, f"late{i}") for i in range(4)]
    for conversation in chats:
        hand_off(desk.client, conversation)
    assert list(desk.offers(hw).values()) == [wang, wang, wang, None]

    desk.clock.advance(OFFER_TIMEOUT - 1)
    desk.tick()
    assert list(desk.offers(hw).values()) == [wang, wang, wang, None], "not yet due"

    desk.lapse()
    # Withdrawn, and with nobody else online back to the queue: not offered to wang again
    # (he may still take any of them himself). The room they held goes to the fourth.
    assert desk.offers(hw) == {chats[0]: None, chats[1]: None, chats[2]: None, chats[3]: wang}
    desk.lapse()
    assert desk.offers(hw) == dict.fromkeys(chats)
    for _ in range(3):
        desk.lapse()
        assert desk.offers(hw) == dict.fromkeys(chats)
    taken = desk.post(f"/conversations/{chats[2]}/accept", hw)
    assert taken.status_code == 204, taken.text
    assert [
        c["public_id"] for c in desk.client.get("/api/v1/console/chats", headers=hw).json()
    ] == [chats[2]]

    # A chat handed off now is a new offer to him (he missed the others, not this one).
    fresh = open_chat(desk.client, db, "late-new")
    hand_off(desk.client, fresh)
    assert desk.offers(hw)[fresh] == wang


def test_a_timed_out_offer_goes_to_the_next_available_agent(desk: Desk, db: Database) -> None:
    a = add_agent(db, "a")
    b = add_agent(db, "b")
    add_agent(db, "boss", role="admin")
    ha, hb, boss = token(desk.client, "a"), token(desk.client, "b"), token(desk.client, "boss")
    go_online(desk.client, ha)
    conversation = open_chat(desk.client, db, "slow")
    hand_off(desk.client, conversation)
    assert desk.offers(ha) == {conversation: a}
    go_online(desk.client, hb)
    assert desk.offers(ha) == {conversation: a}, "an offer stands until it times out"

    # The supervisor sees who holds which offer.
    agents = {
        r["user_id"]: r for r in desk.client.get("/api/v1/console/agents", headers=boss).json()
    }
    assert agents[a]["offers"] == [conversation] and agents[b]["offers"] == []

    desk.lapse()
    assert desk.offers(ha) == {conversation: b}
    agents = {
        r["user_id"]: r for r in desk.client.get("/api/v1/console/agents", headers=boss).json()
    }
    assert agents[a]["offers"] == [] and agents[b]["offers"] == [conversation]

    # b lets it lapse too: nobody who missed it gets it again; it waits in the queue.
    desk.lapse()
    assert desk.offers(ha) == {conversation: None}
    # A third agent coming online gets it.
    c = add_agent(db, "c")
    go_online(desk.client, token(desk.client, "c"))
    assert desk.offers(ha) == {conversation: c}


def test_a_decline_still_falls_back_to_the_agent_who_declined(desk: Desk, db: Database) -> None:
    # Declining says "someone else first", not "never": alone online, the decliner gets it
    # again (unlike a lapse, which says the agent is not there).
    solo = add_agent(db, "solo")
    hs = token(desk.client, "solo")
    go_online(desk.client, hs)
    conversation = open_chat(desk.client, db, "declined")
    hand_off(desk.client, conversation)
    assert desk.offers(hs) == {conversation: solo}
    assert desk.post(f"/conversations/{conversation}/decline", hs).status_code == 204
    assert desk.offers(hs) == {conversation: solo}
