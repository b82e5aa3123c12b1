"""Two portal workers (two app instances) on one PostgreSQL database and one Redis decide the
handoff queue's offers as one: a single router (a Redis lease) plans them, every worker
shows the same offers and loads, a decline made on the other worker reaches the router,
and when the router stops the other worker takes over."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from redis import asyncio as aioredis

from portal.conversations.flows import ConversationHub
from portal.conversations.redis_backend import RouterLease
from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    go_online,
    hand_off,
    open_chat,
    queue,
    token,
    wait_for,
)


def _hub(worker: TestClient) -> ConversationHub:
    hub = worker.app.state.hub  # type: ignore[attr-defined]
    assert isinstance(hub, ConversationHub)
    return hub


def _routes(worker: TestClient) -> bool:
    router = _hub(worker).router
    assert router is not None, "a worker with REDIS_URL has a router lease"
    return router.held


def _router_first(a: TestClient, b: TestClient) -> tuple[TestClient, TestClient]:
    """(the router, the other worker), once one of them holds the lease."""
    wait_for(lambda: _routes(a) or _routes(b), what="a worker to take the router lease")
    assert not (_routes(a) and _routes(b)), "two routers at once"
    return (a, b) if _routes(a) else (b, a)


def _offers(worker: TestClient, headers: dict[str, str]) -> dict[str, int | None]:
    return {item["public_id"]: item["offered_to"] for item in queue(worker, headers)}


def _loads(worker: TestClient, headers: dict[str, str]) -> dict[int, int]:
    """Each agent's load (chats and open offers) as a supervisor's console lists it."""
    response = worker.get("/api/v1/console/agents", headers=headers)
    assert response.status_code == 200, response.text
    return {item["user_id"]: item["load"] for item in response.json()}


class OfferEvents:
    """A Redis subscription to every agent's console topic (where offers are sent)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.listener = self.client.pubsub()
        self.listener.psubscribe(f"{prefix}agent:*")
        confirmed = self.listener.get_message(timeout=5)
        assert confirmed is not None and confirmed["type"] == "psubscribe"

    def heard_after_a_round(self, *workers: TestClient) -> list[dict[str, Any]]:
        """Every `offer` published so far, once each worker's queue clock has made one more
        whole round: a barrier event of our own, published after those rounds, is heard
        after everything they published."""
        for worker in workers:
            assert worker.portal is not None
            worker.portal.call(_hub(worker).tick)
        barrier = uuid.uuid4().hex
        self.client.publish(f"{self.prefix}agent:0", json.dumps({"type": barrier}))
        heard: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = self.listener.get_message(timeout=0.1)
            if message is None or message["type"] != "pmessage":
                continue
            event = json.loads(message["data"])
            if event.get("type") == barrier:
                return heard
            if event.get("type") == "offer":
                agent = int(message["channel"].decode().rsplit(":", 1)[1])
                heard.append({"agent": agent, "conversation": event["conversation"]})
        raise AssertionError("the barrier event never came back")

    def close(self) -> None:
        self.listener.close()
        self.client.close()


@pytest.fixture
def offer_events(redis_url: str, redis_prefix: str) -> Iterator[OfferEvents]:
    """Offers sent to the agents' consoles, heard on Redis."""
    events = OfferEvents(redis_url, redis_prefix)
    yield events
    events.close()


def test_a_waiting_chat_is_offered_once_and_every_worker_shows_that_offer(
    make_worker: Callable[..., TestClient], pg: Database, offer_events: OfferEvents
) -> None:
    rasa = TrackingRasa()
    a, b = make_worker(rasa.handler), make_worker(rasa.handler)
    x, y = add_agent(pg, "offer_x"), add_agent(pg, "offer_y")
    add_agent(pg, "offer_boss", role="admin")
    hx, hy, boss = token(a, "offer_x"), token(b, "offer_y"), token(a, "offer_boss")
    go_online(a, hx)
    go_online(b, hy)
    router, other = _router_first(a, b)
    # Handed off on the worker that is not the router: it only asks the router to plan.
    conversation = open_chat(other, pg, "offer-once")
    hand_off(other, conversation)
    # Each worker's queue clock makes a round after the hand-off (and on its own every
    # 0.05 s): each could have offered the chat. One offer, to one agent, is all the agents'
    # consoles get.
    heard = offer_events.heard_after_a_round(router, other)
    assert len(heard) == 1, heard
    offered = heard[0]
    assert offered["conversation"] == conversation and offered["agent"] in (x, y)
    expected = {conversation: offered["agent"]}
    wait_for(lambda: _offers(other, hy) == expected, what="the other worker's copy")
    assert _offers(router, hx) == _offers(other, hx) == expected
    # The offer counts in the agent's load alike on both workers.
    loads = {x: 0, y: 0} | {offered["agent"]: 1}
    assert {k: v for k, v in _loads(router, boss).items() if k in loads} == loads
    assert {k: v for k, v in _loads(other, boss).items() if k in loads} == loads


def test_a_decline_on_the_other_worker_moves_the_offer_to_the_next_agent(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = TrackingRasa()
    a, b = make_worker(rasa.handler), make_worker(rasa.handler)
    x, y = add_agent(pg, "decline_x"), add_agent(pg, "decline_y")
    hx, hy = token(a, "decline_x"), token(a, "decline_y")
    go_online(a, hx)
    go_online(a, hy)
    router, other = _router_first(a, b)
    conversation = open_chat(router, pg, "decline-me")
    hand_off(router, conversation)
    first = wait_for(lambda: _offers(other, hx).get(conversation), what="the first offer")
    second = y if first == x else x
    headers = hx if first == x else hy
    declined = other.post(f"/api/v1/console/conversations/{conversation}/decline", headers=headers)
    assert declined.status_code == 204, declined.text
    # The router heard the decline and offered the chat to the next agent; both workers
    # show it (with per-worker decisions the router would keep offering it to `first`).
    wait_for(
        lambda: _offers(router, hx) == _offers(other, hx) == {conversation: second},
        what="the offer to move to the next agent on both workers",
    )
    # The next ticks neither undo the decline nor hand the chat back to the agent who passed:
    # a later chat, offered by those later ticks on both workers, is the barrier.
    later = open_chat(router, pg, "decline-later")
    hand_off(router, later)
    wait_for(
        lambda: None not in (_offers(router, hx).get(later), _offers(other, hx).get(later)),
        what="the later chat's offer on both workers",
    )
    assert _offers(router, hx)[conversation] == _offers(other, hx)[conversation] == second


def test_the_other_worker_takes_over_routing_when_the_router_stops(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = TrackingRasa()
    a = make_worker(rasa.handler, handoff_router_lease_s=1.0)
    b = make_worker(rasa.handler, handoff_router_lease_s=1.0)
    x, y = add_agent(pg, "takeover_x"), add_agent(pg, "takeover_y")
    hx, hy = token(a, "takeover_x"), token(b, "takeover_y")
    go_online(a, hx)
    go_online(b, hy)
    router, other = _router_first(a, b)
    first = open_chat(router, pg, "before-takeover")
    hand_off(router, first)
    offered = wait_for(lambda: _offers(other, hx).get(first), what="the first offer's copy")
    router.__exit__(None, None, None)  # the router's app shuts down
    wait_for(lambda: _routes(other), what="the other worker to take the router lease")
    # The new router starts from the old one's offers and round-robin turn: the offer
    # stands, and the next chat goes to the next agent in turn.
    second = open_chat(other, pg, "after-takeover")
    hand_off(other, second)
    following = y if offered == x else x
    wait_for(
        lambda: _offers(other, hx) == {first: offered, second: following},
        what="the new router to offer the new chat",
    )


async def test_a_dead_routers_lease_passes_to_another_worker_after_its_ttl(
    redis_url: str, redis_prefix: str
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        first = RouterLease(client, prefix=redis_prefix, ttl_s=0.3, origin="worker-1")
        second = RouterLease(client, prefix=redis_prefix, ttl_s=0.3, origin="worker-2")
        assert await first.hold() and first.held
        assert not await second.hold() and not second.held
        assert await first.hold(), "the holder renews its own lease"
        # The first worker dies: it neither renews nor releases. Its lease runs out.
        deadline = time.monotonic() + 5
        while not await second.hold():
            assert time.monotonic() < deadline, "the lease never passed on"
            await asyncio.sleep(0.05)
        assert second.held
        assert not first.held, "a holder stops counting on the lease once its TTL is over"
        assert not await first.hold(), "the old holder does not take it back"
        # Released on shutdown, it is free for the next tick of anyone.
        await second.release()
        assert not second.held
        assert await first.hold()
    finally:
        await client.aclose()
