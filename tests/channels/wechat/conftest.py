"""The portal with the WeChat channel on, against a local fake of the WeChat API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import AES_KEY, APP_ID, SECRET, TOKEN, WeChatServer


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatApi]:
    """WeChat's API on a local port."""
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as fake:
        yield fake


@pytest.fixture
def wechat_settings(settings: Settings, fake_wechat: FakeWeChatApi) -> Settings:
    """The test settings with the official account configured (plaintext mode)."""
    return settings.model_copy(
        update={
            "wechat_token": TOKEN,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": SECRET,
            "wechat_api_base_url": fake_wechat.base_url,
            # Long enough that a loaded machine never pushes a quick turn past it; the
            # tests of the slow path set their own short window (test_delivery.py).
            "wechat_passive_reply_s": 30.0,
        }
    )


def _client(settings: Settings, fake_rasa: FakeRasa) -> TestClient:
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    return TestClient(app)


@pytest.fixture
def portal(wechat_settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The whole portal, WeChat in plaintext mode."""
    with _client(wechat_settings, fake_rasa) as client:
        yield client


@pytest.fixture
def wechat(portal: TestClient, fake_wechat: FakeWeChatApi) -> WeChatServer:
    """WeChat's servers calling the portal in plaintext mode."""
    return WeChatServer(portal, api=fake_wechat)


@pytest.fixture
def safe_portal(wechat_settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The whole portal, WeChat in safe mode (encrypted messages and replies)."""
    settings = wechat_settings.model_copy(update={"wechat_aes_key": AES_KEY})
    with _client(settings, fake_rasa) as client:
        yield client


@pytest.fixture
def safe_wechat(safe_portal: TestClient, fake_wechat: FakeWeChatApi) -> WeChatServer:
    """WeChat's servers calling the portal in safe mode."""
    return WeChatServer(safe_portal, aes_key=AES_KEY, api=fake_wechat)
