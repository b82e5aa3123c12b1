"""Widget rate limits: per visitor and per site key, answered with a clear zh/en error frame."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channels.web import build_router
from channels.web.limits import RateLimiter
from portal.config import Settings
from portal.conversations.flows import SESSION_START
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.channels.test_web_adapter import FakeHub, turn_frames

ALICE = "visitor_alice_0123456789"
BOB = "visitor_bob_000123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def app_with_limits(hub: FakeHub, clock: Clock, *, visitor: int, site: int) -> TestClient:
    app = FastAPI()
    app.include_router(
        build_router(
            hub,
            site_keys=frozenset({"demo", "other"}),
            visitor_rate_per_min=visitor,
            site_rate_per_min=site,
            clock=clock,
        )
    )
    return TestClient(app)


def send(ws: Any, text: str, client_id: str) -> dict[str, Any]:
    """Send one message; the refusal frame, or the first frame of a turn."""
    ws.send_text(json.dumps({"type": "message", "text": text, "client_id": client_id}))
    frame = ws.receive_json()
    if frame.get("type") == "typing":
        turn_frames(ws)
    return dict(frame)


def connect(client: TestClient, visitor: str, site: str = "demo") -> Any:
    ws = client.websocket_connect(f"/channels/web/ws?visitor_id={visitor}&site_key={site}")
    return ws


def test_a_visitor_over_the_limit_gets_an_error_frame() -> None:
    hub, clock = FakeHub(), Clock()
    client = app_with_limits(hub, clock, visitor=3, site=0)
    with connect(client, ALICE) as ws:
        assert ws.receive_json()["type"] == "history"
        for i in range(3):
            assert send(ws, f"第{i}条", f"c{i}")["type"] == "typing"
        refused = send(ws, "第四条", "c3")
        assert refused == {
            "type": "error",
            "code": "rate_limited",
            "client_id": "c3",
            "message_zh": "发送太频繁了，请稍等片刻再发",
            "message_en": "You are sending messages too fast; please wait a moment and try again",
        }
        # Pings are not messages and still work.
        ws.send_text(json.dumps({"type": "ping"}))
        assert ws.receive_json() == {"type": "pong"}
        clock.now += 20  # a third of a minute: one message's worth
        assert send(ws, "等了一会儿", "c4")["type"] == "typing"
        assert send(ws, "又太快", "c5")["code"] == "rate_limited"
    assert [m.text for m in hub.received] == ["第0条", "第1条", "第2条", "等了一会儿"]


def test_one_visitor_does_not_use_up_anothers_allowance() -> None:
    hub, clock = FakeHub(), Clock()
    client = app_with_limits(hub, clock, visitor=2, site=0)
    with connect(client, ALICE) as alice, connect(client, BOB) as bob:
        alice.receive_json(), bob.receive_json()
        send(alice, "1", "a1"), send(alice, "2", "a2")
        assert send(alice, "3", "a3")["code"] == "rate_limited"
        assert send(bob, "1", "b1")["type"] == "typing"


def test_a_site_key_has_its_own_limit() -> None:
    hub, clock = FakeHub(), Clock()
    client = app_with_limits(hub, clock, visitor=100, site=3)
    with connect(client, ALICE) as alice, connect(client, BOB) as bob:
        alice.receive_json(), bob.receive_json()
        send(alice, "1", "a1"), send(bob, "1", "b1"), send(alice, "2", "a2")
        assert send(bob, "2", "b2")["code"] == "rate_limited"
    with connect(client, BOB, site="other") as other:
        other.receive_json()
        assert send(other, "别的站点", "o1")["type"] == "typing"
    assert len(hub.received) == 4


def test_the_portal_applies_the_configured_limits(settings: Settings, fake_rasa: FakeRasa) -> None:
    app = create_app(
        settings.model_copy(update={"widget_rate_visitor_per_min": 2}),
        http_transport=httpx.MockTransport(fake_rasa.handler),
    )
    with TestClient(app) as client, connect(client, ALICE) as ws:
        ws.receive_json()
        send(ws, "你好", "c1"), send(ws, "在吗", "c2")
        assert send(ws, "人呢", "c3")["code"] == "rate_limited"
    # The bot greeted the opened chat; the third message never reached it.
    assert [r["message"] for r in fake_rasa.received] == [SESSION_START, "你好", "在吗"]


@pytest.mark.parametrize("per_minute", [0, -1])
def test_zero_means_no_limit(per_minute: int) -> None:
    limiter = RateLimiter(per_minute, clock=Clock())
    assert all(limiter.allow("k") for _ in range(1000))


def test_idle_buckets_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_keys=10)
    for i in range(10):
        limiter.allow(f"old{i}")
    clock.now += 120
    limiter.allow("new")
    assert len(limiter._buckets) == 1
