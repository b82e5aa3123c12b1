"""Helpers for handoff tests: a Rasa fake that also records tracker events, agents, and a
client factory with fast handoff timings. Everything goes through the HTTP API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from channels.base import ChannelMessage
from portal.accounts.models import User
from portal.config import Settings
from portal.conversations.models import AgentProfile, Conversation
from portal.conversations.rasa import verify_rasa_jwt
from portal.customers.models import ChannelIdentity, Customer
from portal.database import Database
from portal.main import create_app
from portal.security import hash_password
from tests.app_fixtures import BOT_TOKEN, FakeRasa

BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
PASSWORD = "secret-pass"


# What Rasa says when its circuit breaker trips: the same fallback, once per prediction.
NOT_UNDERSTOOD = "抱歉，我没太明白您的意思，可以换个说法吗？"
MAX_PREDICTIONS = 10

# One planned turn: a mode, or the replies to give (dicts as Rasa's REST channel sends them).
Turn = str | list[dict[str, Any]]


def _rasa_token_of(request: httpx.Request) -> str | None:
    """Which token the request proves it holds: the test's Rasa token, or None."""
    if "token" in request.url.params:
        return "in-the-url"  # never: the token must not travel in a URL
    ok = verify_rasa_jwt(request.headers.get("authorization"), "test-rasa-token")
    return "test-rasa-token" if ok else None


class TrackingRasa(FakeRasa):
    """FakeRasa that also answers the tracker events API and records what it got.

    `plan(...)` scripts the next turns, one per customer message (the widget's greeting
    excepted): a list of replies, or a mode — "empty" (no reply), "loop" (the circuit
    breaker: the same fallback ten times, and the tracker left mid-turn, so every later
    message gets no reply until an action_listen is appended, as real Rasa does), "timeout"
    or "error" (HTTP 500). Unplanned turns answer as FakeRasa does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tracker_events: list[tuple[str, str, str | None]] = []
        self.tracker_bodies: list[tuple[str, dict[str, Any]]] = []
        self.turns: list[Turn] = []
        self.stuck: set[str] = set()

    def plan(self, *turns: Turn) -> None:
        """Script how the next turns are answered, in order."""
        self.turns.extend(turns)

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Tracker events first, then planned turns, everything else as FakeRasa does."""
        path = request.url.path
        if path.startswith("/conversations/") and path.endswith("/tracker/events"):
            sender = path.split("/")[2]
            sent = json.loads(request.content)
            events = sent if isinstance(sent, list) else [sent]  # Rasa takes one or a list
            self.tracker_events.append(
                # The token proven by the JWT in the header (never a URL's query string).
                (sender, events[0]["event"], _rasa_token_of(request))
            )
            for body in events:
                self.tracker_bodies.append((sender, body))
                if body.get("event") == "action" and body.get("name") == "action_listen":
                    self.stuck.discard(sender)
            return httpx.Response(200, json={"events": []})
        if path == "/webhooks/rest/webhook" and self.up:
            body = json.loads(request.content)
            sender = str(body["sender"])
            if sender in self.stuck:
                self.received.append(body)
                return httpx.Response(200, json=[])
            if self.turns and body["message"] != "/session_start":
                self.received.append(body)
                return self._planned(request, sender, self.turns.pop(0))
        return super().handler(request)

    def _planned(self, request: httpx.Request, sender: str, turn: Turn) -> httpx.Response:
        if turn == "empty":
            return httpx.Response(200, json=[])
        if turn == "loop":
            self.stuck.add(sender)
            reply = {"recipient_id": sender, "text": NOT_UNDERSTOOD}
            return httpx.Response(200, json=[reply] * MAX_PREDICTIONS)
        if turn == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if turn == "error":
            return httpx.Response(500, text="Internal Server Error")
        assert isinstance(turn, list), turn
        return httpx.Response(200, json=[{"recipient_id": sender, **r} for r in turn])

    def texts_from(self, sender: str) -> list[str]:
        """What Rasa was sent for this conversation."""
        return [str(m["message"]) for m in self.received if m["sender"] == sender]

    def listens(self, sender: str) -> int:
        """How many action_listen events were appended to this sender's tracker."""
        return sum(
            1
            for s, body in self.tracker_bodies
            if s == sender and body.get("event") == "action" and body.get("name") == "action_listen"
        )


@pytest.fixture
def rasa() -> TrackingRasa:
    """A fresh Rasa fake."""
    return TrackingRasa()


class Clock:
    """A handoff queue's monotonic clock, stepped by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds


@pytest.fixture
def make_client(
    db: Database, tmp_path: Path, rasa: TrackingRasa
) -> Iterator[Callable[..., TestClient]]:
    """Build the app with fast handoff timings (and any setting overridden); `clock` gives
    the handoff queue a `Clock` to step."""
    clients: list[TestClient] = []

    def make(clock: Callable[[], float] = time.monotonic, **overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "database_url": db.url,
            "var_dir": tmp_path,
            "bot_service_token": BOT_TOKEN,
            "rasa_token": "test-rasa-token",
            "secret_key": "test-secret",
            "handoff_tick_s": 0.05,
            "handoff_grace_s": 0.3,
            "handoff_heartbeat_timeout_s": 30.0,
            # Long scripted chats from one address; the REST limits are tested in tests/channels.
            "rest_rate_sender_per_min": 0,
            "rest_rate_ip_per_min": 0,
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)
        app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler), clock=clock)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def hc(make_client: Callable[..., TestClient]) -> TestClient:
    """The app with default (fast) handoff settings."""
    return make_client()


def add_agent(
    db: Database,
    username: str,
    *,
    role: str = "agent",
    max_chats: int | None = None,
    product_lines: list[str] | None = None,
    languages: list[str] | None = None,
    team: str = "",
    supervisor: bool = False,
) -> int:
    """A staff account that chats, with a profile when any profile field is given."""
    with db.session() as session:
        user = User(
            username=username,
            display_name=f"坐席{username}",
            password_hash=_hash(),
            role=role,
        )
        session.add(user)
        session.flush()
        if max_chats or product_lines or languages or team or supervisor:
            session.add(
                AgentProfile(
                    user_id=user.id,
                    max_chats=max_chats or 3,
                    product_lines=product_lines or [],
                    languages=languages or ["zh"],
                    team=team,
                    is_supervisor=supervisor,
                )
            )
        return user.id


_HASH: list[str] = []


def _hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


def token(client: TestClient, username: str) -> dict[str, str]:
    """Bearer headers for a staff member."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def go_online(client: TestClient, headers: dict[str, str], status: str = "online") -> None:
    """Set an agent's presence through the API."""
    response = client.post("/api/v1/console/presence", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.text


def say(client: TestClient, sender: str, text: str) -> list[dict[str, Any]]:
    """A customer message through the REST channel; the replies it got."""
    response = client.post("/channels/rest/webhook", json={"sender": sender, "message": text})
    assert response.status_code == 200, response.text
    return list(response.json())


def public_id(db: Database, sender: str, channel: str = "rest") -> str:
    """The conversation id the bot sees for this customer."""
    with db.session() as session:
        found = session.scalars(
            select(Conversation.public_id).where(
                Conversation.channel == channel, Conversation.sender_id == sender
            )
        ).first()
    assert found is not None
    return found


def open_chat(client: TestClient, db: Database, sender: str, text: str = "你好") -> str:
    """A customer who talked to the bot once; returns the conversation id."""
    say(client, sender, text)
    return public_id(db, sender)


def hand_off(
    client: TestClient, conversation: str, reason: str = "request", **extra: Any
) -> dict[str, Any]:
    """The bot's handoff call, as the bot makes it."""
    response = client.post(
        f"/api/v1/conversations/{conversation}/handoff",
        json={"reason": reason, "summary": "客户要求人工", **extra},
        headers=BOT,
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def make_vip(db: Database, sender: str, phone: str, channel: str = "rest") -> None:
    """A VIP customer bound to this channel identity."""
    with db.session() as session:
        customer = Customer(name=f"VIP{phone[-4:]}", phone=phone, tier="vip")
        session.add(customer)
        session.flush()
        session.add(ChannelIdentity(channel=channel, external_id=sender, customer_id=customer.id))


def queue(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The queue as the console lists it."""
    response = client.get("/api/v1/console/queue", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def detail(client: TestClient, headers: dict[str, str], conversation: str) -> dict[str, Any]:
    """One conversation as the console shows it."""
    response = client.get(f"/api/v1/console/conversations/{conversation}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until `check()` is truthy (the hub's clock runs in the app's loop)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def next_frame(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    """Read socket frames until one of this type arrives."""
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return dict(frame)
    raise AssertionError(f"no {kind} frame")


def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample's value in the app's /metrics (0 when absent)."""
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def capture(client: TestClient, channel: str = "rest") -> list[ChannelMessage]:
    """Register a sender for `channel` and return what the hub pushes through it."""
    pushed: list[ChannelMessage] = []

    async def send(message: ChannelMessage) -> None:
        pushed.append(message)

    client.app.state.hub.register_sender(channel, send)  # type: ignore[attr-defined]
    return pushed
