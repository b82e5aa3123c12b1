"""Recorded safe-mode callbacks replayed byte for byte, with the callback's clock set to the
moment they were recorded (their signatures cover those timestamps)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import xmltodict
from fastapi.testclient import TestClient
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from portal.config import Settings
from portal.conversations.models import Message
from portal.database import Database
from portal.main import create_app
from portal.wechat.flows import mount
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import SUCCESS, json_fixture, sign


class Clock:
    """The callback's idea of now, set by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replay_portal(
    settings: Settings, fake_rasa: FakeRasa, account: dict[str, str], clock: Clock
) -> TestClient:
    """The whole portal, with the WeChat callback of `account` mounted on a settable clock."""
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    mount(
        app,
        settings=settings.model_copy(
            update={
                "wechat_token": account["token"],
                "wechat_aes_key": account["aes_key"],
                "wechat_app_id": account["app_id"],
            }
        ),
        db=app.state.db,
        hub=app.state.hub,
        clock=clock,
    )
    return TestClient(app)


def open_reply(response: httpx.Response, account: dict[str, str]) -> dict[str, Any]:
    envelope = xmltodict.parse(response.text)["xml"]
    crypto = WeChatCrypto(account["token"], account["aes_key"], account["app_id"])
    xml = crypto.decrypt_message(
        response.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    return dict(xmltodict.parse(xml)["xml"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_wechatpys_known_answer_is_taken(
    settings: Settings, fake_rasa: FakeRasa, clock: Clock
) -> None:
    vector = json_fixture("encrypted_wechatpy_vector.json")
    clock.now = float(vector["timestamp"])
    query = {
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
        "signature": sign(vector["token"], vector["timestamp"], vector["nonce"]),
        "msg_signature": vector["msg_signature"],
        "encrypt_type": "aes",
    }
    with replay_portal(settings, fake_rasa, vector, clock) as client:
        response = client.post("/channels/wechat", params=query, content=vector["body"])
        reply = open_reply(response, vector)
        assert reply["ToUserName"] == "messense"
        assert reply["Content"].startswith("收到：test")
        # A day later the same recording is stale.
        clock.now += 86_400
        late = client.post("/channels/wechat", params=query, content=vector["body"])
        assert late.status_code == 403
    assert [r["message"] for r in fake_rasa.received] == ["test"]


@pytest.fixture
def recorded() -> dict[str, Any]:
    return dict(json_fixture("encrypted_fault_report.json"))


@pytest.fixture
def recorded_portal(
    settings: Settings, fake_rasa: FakeRasa, recorded: dict[str, Any], clock: Clock
) -> Iterator[TestClient]:
    with replay_portal(settings, fake_rasa, recorded["account"], clock) as client:
        yield client


def test_recorded_conversation_with_a_retry(
    recorded_portal: TestClient,
    recorded: dict[str, Any],
    clock: Clock,
    fake_rasa: FakeRasa,
    db: Database,
) -> None:
    answers = []
    for entry in recorded["messages"]:
        clock.now = float(entry["query"]["timestamp"])
        response = recorded_portal.post(
            "/channels/wechat", params=entry["query"], content=entry["body"]
        )
        assert response.status_code == 200
        answers.append(
            None if response.text == SUCCESS else open_reply(response, recorded["account"])
        )
    first, second, retry = answers
    assert first is not None and first["Content"].startswith("收到：你好")
    assert second is not None and second["Content"].startswith("收到：空调不制冷了。")
    assert retry is None  # the retried first message: no second turn
    assert [r["message"] for r in fake_rasa.received] == ["你好", "空调不制冷了。"]
    with db.session() as session:
        inbound = session.scalars(select(Message.text).where(Message.direction == "in")).all()
        assert inbound == ["你好", "空调不制冷了。"]


def test_recorded_bodies_cannot_be_altered(
    recorded_portal: TestClient, recorded: dict[str, Any], clock: Clock, db: Database
) -> None:
    entry = recorded["messages"][0]
    clock.now = float(entry["query"]["timestamp"])
    body = entry["body"].replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[A", 1)
    response = recorded_portal.post("/channels/wechat", params=entry["query"], content=body)
    assert response.status_code == 403
    with db.session() as session:
        assert session.scalars(select(Message)).first() is None
