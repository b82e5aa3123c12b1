"""kill -9 of a real Rasa server (SQL tracker store on PostgreSQL, Redis lock store, as in
the scaled topology) in the middle of a conversation: the customer's acknowledged messages
are stored once each, the turns during the outage are answered by the hub, and after the
restart the bot answers again from the same tracker."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from portal.config import Settings
from portal.conversations.models import Conversation, Message
from portal.conversations.phrases import HUMAN_PAYLOAD, is_hub_apology
from portal.database import Database
from portal.main import create_app
from portal.stack import ENDPOINTS, Process, ensure_model, rasa_lock_prefix
from tests.conversations.support import wait_for
from tests.e2e_fixtures import _require, free_port
from tests.scale.conftest import scaled_settings, scratch_database

RASA_TOKEN = "test-rasa-token"


@pytest.fixture
def rasa_server(
    pg: Database, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[tuple[str, Process]]:
    """One real Rasa server and the action server; yields (url, process)."""
    settings = scaled_settings(pg.url, redis_url, redis_prefix, tmp_path)
    _require(settings.bot_env / "bin" / "rasa", "The bot environment")
    # A tracker database of this run's own, dropped once Rasa is stopped.
    with scratch_database("aftersales_test_rasa_trackers") as tracker_url:
        yield from _rasa_processes(settings, tracker_url, redis_url, redis_prefix, tmp_path)


def _rasa_processes(
    settings: Settings, tracker_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[tuple[str, Process]]:
    model = ensure_model(settings)
    tracker_db = make_url(tracker_url)
    redis = urlsplit(redis_url)
    action_port, rasa_port = free_port(), free_port()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        ENDPOINTS.format(
            action_url=f"http://127.0.0.1:{action_port}/webhook",
            pg_host=tracker_db.host or "127.0.0.1",
            pg_port=tracker_db.port or 5432,
            pg_db=tracker_db.database,
            pg_user=tracker_db.username or "postgres",
            pg_password=f"  password: {tracker_db.password}\n" if tracker_db.password else "",
            redis_host=redis.hostname or "127.0.0.1",
            redis_port=redis.port or 6379,
            redis_db=(redis.path or "/0").strip("/") or "0",
            redis_prefix=rasa_lock_prefix(redis_prefix),
        )
    )
    bin_dir = settings.bot_env / "bin"
    env = {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "PORTAL_URL": "http://127.0.0.1:9",
        # endpoints.yml sends it; the action server refuses calls without it.
        "ACTION_SERVER_SECRET": "rasa-kill-action-secret-0123",
    }
    actions = Process(
        "actions",
        [str(bin_dir / "python"), "-m", "actions.server", "--port", str(action_port)],
        settings.bot_dir,
        env,
        tmp_path / "actions.log",
    )
    rasa = Process(
        "rasa",
        [str(bin_dir / "rasa"), "run", "--enable-api", "--auth-token", RASA_TOKEN]
        + ["-i", "127.0.0.1", "-p", str(rasa_port), "--model", str(model)]
        + ["--endpoints", str(endpoints), "--credentials", "credentials.yml"],
        settings.bot_dir,
        env,
        tmp_path / "rasa.log",
    )
    url = f"http://127.0.0.1:{rasa_port}"
    actions.start()
    rasa.start()
    try:
        _wait_rasa(url, rasa)
        yield url, rasa
    finally:
        rasa.stop()
        actions.stop()


def _wait_rasa(url: str, rasa: Process) -> None:
    def up() -> bool:
        assert rasa.exited() is None, rasa.log_tail()
        try:
            return httpx.get(f"{url}/status?token={RASA_TOKEN}", timeout=5).is_success
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=240, what=f"Rasa ({rasa.log_path})")


def test_kill_rasa_mid_conversation(
    rasa_server: tuple[str, Process],
    pg: Database,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    url, rasa = rasa_server
    settings = scaled_settings(
        pg.url,
        redis_url,
        redis_prefix,
        tmp_path,
        rasa_url=url,
        rasa_timeout_s=60.0,
        handoff_sync_rasa_tracker=False,
    )
    acked: list[str] = []
    with TestClient(create_app(settings)) as portal:

        def say(text: str) -> list[dict[str, object]]:
            response = portal.post(
                "/channels/rest/webhook", json={"sender": "rasa-kill", "message": text}
            )
            assert response.status_code == 200, response.text
            acked.append(text)
            return list(response.json())

        assert say("你好")  # the real bot greets
        say("洗衣机漏水了")
        assert rasa.popen is not None
        os.killpg(rasa.popen.pid, signal.SIGKILL)
        rasa.popen.wait(timeout=10)
        during = say("还在吗")
        # The message is stored and acknowledged; the hub answers for the missing bot.
        [apology] = during
        assert is_hub_apology(apology["text"]), during
        assert [b["payload"] for b in apology["buttons"]] == [HUMAN_PAYLOAD]
        rasa.start()
        _wait_rasa(url, rasa)
        after = say("你好")
        assert after and all(r.get("text") for r in after)
    with pg.session() as session:
        stored = session.scalars(
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.sender_id == "rasa-kill", Message.direction == "in")
            .order_by(Message.id)
        ).all()
        replies = session.scalars(
            select(Message.author)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.sender_id == "rasa-kill", Message.direction == "out")
        ).all()
    assert list(stored) == acked  # every acknowledged message once, in order
    assert "system" in replies and "bot" in replies
