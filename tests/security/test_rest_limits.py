"""The REST channel is neither open nor unthrottled (issue 18, finding 3).

Outside demo mode `/channels/rest/webhook` needs an integration key (X-Integration-Key);
in every mode it is rate-limited per sender, per key and per client address, the address a
trusted proxy forwards (not the proxy's own), each limit a setting (0: off).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.config import Settings
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.main import create_app
from tests.app_fixtures import FakeRasa

URL = "/channels/rest/webhook"
KEY = "integration-key-for-tests-9f3a"


@pytest.fixture
def make(settings: Settings, fake_rasa: FakeRasa) -> Iterator[Any]:
    """A client of an app with these settings changed."""
    clients: list[TestClient] = []

    def build(peer: str = "10.0.0.5", **changes: Any) -> TestClient:
        app = create_app(
            settings.model_copy(update=changes),
            http_transport=httpx.MockTransport(fake_rasa.handler),
        )
        client = TestClient(app, client=(peer, 50000))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _say(client: TestClient, sender: str, **headers: str) -> httpx.Response:
    return client.post(URL, json={"sender": sender, "message": "你好"}, headers=headers)


def _stored(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Message)) or 0


def test_outside_demo_mode_a_key_is_needed(make: Any, db: Database) -> None:
    client = make(demo_mode=False, rest_integration_keys=f"{KEY},another-key-0000000000")
    for headers in ({}, {"X-Integration-Key": "guess"}, {"X-Integration-Key": KEY[:-1]}):
        refused = _say(client, "someone", **headers)
        assert refused.status_code == 401, refused.text
        assert "集成密钥" in refused.json()["message_zh"]
        assert "integration key" in refused.json()["message_en"]
    assert _stored(db) == 0  # nothing reached the hub
    # The key in the URL opens nothing: it is a header.
    assert (
        client.post(f"{URL}?key={KEY}", json={"sender": "s", "message": "你好"}).status_code == 401
    )
    assert _say(client, "someone", **{"X-Integration-Key": KEY}).status_code == 200


def test_outside_demo_mode_without_keys_the_channel_is_closed(make: Any) -> None:
    client = make(demo_mode=False, rest_integration_keys="")
    assert _say(client, "someone").status_code == 401


def test_demo_mode_stays_open_for_trying_the_product(make: Any) -> None:
    client = make(demo_mode=True, rest_integration_keys="")
    assert _say(client, "someone").status_code == 200


def test_one_sender_is_limited(make: Any, db: Database) -> None:
    client = make(rest_rate_sender_per_min=3, rest_rate_ip_per_min=0, rest_rate_key_per_min=0)
    assert [_say(client, "chatty").status_code for _ in range(3)] == [200] * 3
    before = _stored(db)
    refused = _say(client, "chatty")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "频繁" in refused.json()["message_zh"] and "Too many" in refused.json()["message_en"]
    assert _stored(db) == before  # the refused message never reached the hub
    assert _say(client, "someone-else").status_code == 200


def test_one_client_address_is_limited_across_senders(make: Any) -> None:
    client = make(rest_rate_ip_per_min=4, rest_rate_sender_per_min=0, rest_rate_key_per_min=0)
    statuses = [_say(client, f"sender-{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_one_key_is_limited_across_senders_and_addresses(make: Any) -> None:
    client = make(
        demo_mode=False,
        rest_integration_keys=f"{KEY},other-integration-key-0000",
        rest_rate_key_per_min=2,
        rest_rate_ip_per_min=0,
        rest_rate_sender_per_min=0,
    )
    key = {"X-Integration-Key": KEY}
    assert [_say(client, f"s{n}", **key).status_code for n in range(3)] == [200, 200, 429]
    other = {"X-Integration-Key": "other-integration-key-0000"}
    assert _say(client, "s9", **other).status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(make: Any) -> None:
    # The test client connects from 10.0.0.5, a trusted proxy forwarding two clients.
    client = make(
        rest_rate_ip_per_min=2,
        rest_rate_sender_per_min=0,
        trusted_proxies="10.0.0.0/8, 192.168.1.1",
    )
    a = {"X-Forwarded-For": "203.0.113.7"}
    b = {"X-Forwarded-For": "198.51.100.9"}
    assert [_say(client, f"a{n}", **a).status_code for n in range(3)] == [200, 200, 429]
    assert _say(client, "b0", **b).status_code == 200


def test_an_untrusted_peer_cannot_choose_its_address(make: Any) -> None:
    client = make(rest_rate_ip_per_min=2, rest_rate_sender_per_min=0, trusted_proxies="")
    statuses = [
        _say(client, f"s{n}", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_each_limit_can_be_turned_off(make: Any) -> None:
    client = make(rest_rate_sender_per_min=0, rest_rate_ip_per_min=0, rest_rate_key_per_min=0)
    assert {_say(client, "same").status_code for _ in range(30)} == {200}


def test_each_integration_key_has_its_own_senders(make: Any, db: Database) -> None:
    """A sender named under one key is not the same chat (nor the customer it was bound to)
    under another: an integration cannot speak as another integration's customers."""
    other = "another-key-0000000000"
    client = make(demo_mode=False, rest_integration_keys=f"{KEY},{other}")
    first = _say(client, "shared-sender", **{"X-Integration-Key": KEY})
    second = _say(client, "shared-sender", **{"X-Integration-Key": other})
    assert first.status_code == second.status_code == 200
    # Each caller gets its own sender back, as it named it.
    assert {r.get("recipient_id") for r in first.json() + second.json()} <= {"shared-sender"}
    with db.session() as s:
        rest = select(Conversation.sender_id).where(Conversation.channel == "rest")
        senders = set(s.scalars(rest))
    assert len(senders) == 2, senders
    assert "shared-sender" not in senders  # namespaced by a tag of the key, never the key
    assert not any(KEY in x or other in x for x in senders)


def test_a_sender_longer_than_the_namespace_leaves_room_is_refused(make: Any) -> None:
    client = make(demo_mode=False, rest_integration_keys=KEY)
    too_long = _say(client, "x" * 112, **{"X-Integration-Key": KEY})
    assert too_long.status_code == 422
    assert _say(client, "x" * 111, **{"X-Integration-Key": KEY}).status_code == 200
