"""The widget tells the adapter its page's language (`lang` on the socket URL): the adapter
keeps "zh" or "en", hands it to the hub's greeting and with every message
(`extra["lang"]`), and ignores anything else."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from channels.web import build_router
from tests.channels.test_web_adapter import VISITOR, FakeHub, turn_frames, ws_url


class GreetingHub(FakeHub):
    """FakeHub that also records how each opened chat was greeted."""

    def __init__(self) -> None:
        super().__init__()
        self.greeted: list[dict[str, str]] = []

    async def greet(self, **opened: str) -> list[object]:
        self.greeted.append(opened)
        return []


@pytest.fixture
def hub() -> GreetingHub:
    return GreetingHub()


@pytest.fixture
def client(hub: GreetingHub) -> TestClient:
    app = FastAPI()
    app.include_router(build_router(hub, site_keys=frozenset({"demo"})))
    return TestClient(app)


def chat(client: TestClient, url: str) -> None:
    """Open the widget at `url` and send one message."""
    with client.websocket_connect(url) as ws:
        assert ws.receive_json()["type"] == "history"
        ws.send_json({"type": "message", "text": "hi", "client_id": "c1"})
        turn_frames(ws)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_language_reaches_the_greeting_and_every_message(
    hub: GreetingHub, client: TestClient, lang: str
) -> None:
    chat(client, f"{ws_url()}&lang={lang}")
    assert hub.greeted == [{"channel": "web", "sender_id": VISITOR, "lang": lang}]
    (sent,) = hub.received
    assert sent.extra == {"site_key": "demo", "lang": lang}


@pytest.mark.parametrize("lang", ["fr", "EN", "en-US", "", "<script>", "zh" * 40])
def test_an_unknown_page_language_is_ignored(
    hub: GreetingHub, client: TestClient, lang: str
) -> None:
    chat(client, f"{ws_url()}&lang={lang}")
    assert hub.greeted == [{"channel": "web", "sender_id": VISITOR}]
    (sent,) = hub.received
    assert sent.extra == {"site_key": "demo"}


def test_without_a_page_language_the_hub_is_told_nothing(
    hub: GreetingHub, client: TestClient
) -> None:
    chat(client, ws_url())
    assert hub.greeted == [{"channel": "web", "sender_id": VISITOR}]
    assert "lang" not in hub.received[0].extra
