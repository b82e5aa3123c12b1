"""Fixtures for the portal app over a real database, with Rasa faked at the HTTP boundary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from portal.accounts.models import User
from portal.config import Settings
from portal.conversations.rasa import verify_rasa_jwt
from portal.database import Database
from portal.main import create_app
from portal.security import hash_password

BOT_TOKEN = "test-bot-token-for-the-portal-api-4e2a"
RASA_TOKEN = "test-rasa-token-for-the-fake-rasa-8f3b"


class FakeRasa:
    """Answers like Rasa's REST channel and action server; records what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.up = True

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The transport's entry point."""
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/webhooks/rest/webhook":
            body = json.loads(request.content)
            self.received.append(body)
            sender = body["sender"]
            return httpx.Response(
                200,
                json=[
                    {"recipient_id": sender, "text": f"收到：{body['message']}"},
                    {
                        "recipient_id": sender,
                        "text": "请选择产品",
                        "buttons": [{"title": "洗衣机", "payload": '/inform{"product":"洗衣机"}'}],
                    },
                ],
            )
        if request.url.path == "/status":
            # The portal proves it holds Rasa's token with a JWT in the header, never the URL.
            ok = verify_rasa_jwt(request.headers.get("authorization"), RASA_TOKEN)
            ok = ok and "token" not in request.url.params
            return httpx.Response(200 if ok else 401, json={"model_file": "x.tar.gz"})
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        return httpx.Response(404)


@pytest.fixture
def fake_rasa() -> FakeRasa:
    """A fresh fake Rasa."""
    return FakeRasa()


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return Settings(
        _env_file=None,
        database_url=db.url,
        var_dir=tmp_path,
        bot_service_token=BOT_TOKEN,
        rasa_token=RASA_TOKEN,
        # Long enough for DEMO_MODE=false, which some tests switch to (issue 18).
        secret_key="test-secret-key-for-the-portal-under-test-7c1e",
        action_server_secret="test-action-server-secret-5b9d",
    )


@pytest.fixture
def client(settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """A client of the whole app."""
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def bot_headers() -> dict[str, str]:
    """The bot's service credentials."""
    return {"Authorization": f"Bearer {BOT_TOKEN}"}


@pytest.fixture
def staff(db: Database) -> dict[str, str]:
    """An agent account; returns its credentials."""
    with db.session() as session:
        session.add(
            User(
                username="agent1",
                display_name="坐席一",
                password_hash=hash_password("secret-pass"),
                role="agent",
            )
        )
    return {"username": "agent1", "password": "secret-pass"}
