"""Faults under several workers, on loopback and bounded in time: the database dropping
the portal's connections, and Redis restarting under two workers."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.database import Database
from tests.conftest import POSTGRES_ADMIN_URL
from tests.conversations.support import TrackingRasa, next_frame, wait_for
from tests.e2e_fixtures import free_port

REDIS_SERVER = Path("/usr/bin/redis-server")
VISITOR = "visitor_faults_0123456789abcdef"
WS = f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}"


def _admin(sql: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_database_connections_dropped_fail_cleanly_and_recover(
    make_worker: Callable[..., TestClient], pg: Database
) -> None:
    rasa = TrackingRasa()
    worker = make_worker(rasa.handler)
    name = make_url(pg.url).database
    history = f"/channels/web/history?site_key=demo&visitor_id={VISITOR}"
    assert worker.get(history).status_code == 200  # the pool holds live connections now
    drop = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    try:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        _admin(drop)
        for response in (
            worker.get(history),
            worker.post("/channels/rest/webhook", json={"sender": "down", "message": "在吗"}),
        ):
            assert response.status_code == 503, response.text
            body = response.json()
            assert body["error"] == "db_unavailable"
            assert "数据库" in body["message_zh"] and "database" in body["message_en"]
            assert response.headers["Retry-After"]
    finally:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    # The dead pooled connections are replaced on checkout: the next requests just work.
    assert worker.get(history).status_code == 200
    answered = worker.post("/channels/rest/webhook", json={"sender": "down", "message": "在吗"})
    assert answered.status_code == 200, answered.text
    # The refused message was not stored: the customer sends it again, once in the record.
    assert _said(rasa) == ["在吗"]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A redis-server of this test's own on a free port; yields a function restarting it."""
    if not REDIS_SERVER.exists():
        pytest.skip(f"{REDIS_SERVER} is missing")
    port = free_port()
    argv = [str(REDIS_SERVER), "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(tmp_path)]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), timeout=10, what="redis-server")
        client.close()

    def restart() -> None:
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait(timeout=10)
        start()

    start()
    restart.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    yield restart
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def test_conversations_continue_across_a_redis_restart(
    make_worker: Callable[..., TestClient], own_redis: Callable[[], None]
) -> None:
    rasa = TrackingRasa()
    url = own_redis.url  # type: ignore[attr-defined]
    a, b = make_worker(rasa.handler, redis_url=url), make_worker(rasa.handler, redis_url=url)
    with a.websocket_connect(WS) as tab_a, b.websocket_connect(WS) as tab_b:
        tab_a.receive_json()
        tab_b.receive_json()
        tab_a.send_json({"type": "message", "text": "第一句", "client_id": "k1"})
        assert next_frame(tab_b, "message")["text"] == "第一句"
        own_redis()
        # While the workers reconnect, the tab keeps chatting (its own worker delivers).
        tab_a.send_json({"type": "message", "text": "重启中", "client_id": "k2"})
        assert _frame_with(tab_a, "重启中")["direction"] == "in"
        assert _frame_with(tab_a, "收到：重启中")["author"] == "bot"
        brokers = [w.app.state.hub.broker for w in (a, b)]  # type: ignore[attr-defined]
        wait_for(lambda: all(x.live.is_set() for x in brokers), timeout=20, what="resubscribe")
        # Both resubscribed to the new (empty) Redis: the other worker's tab hears again.
        tab_a.send_json({"type": "message", "text": "重启后", "client_id": "k3"})
        assert _frame_with(tab_b, "重启后")["direction"] == "in"
        assert _frame_with(tab_b, "收到：重启后")["author"] == "bot"
    assert _said(rasa) == ["第一句", "重启中", "重启后"]


def _frame_with(ws: object, text: str, limit: int = 30) -> dict[str, object]:
    for _ in range(limit):
        frame = ws.receive_json()  # type: ignore[attr-defined]
        if frame.get("text") == text:
            return dict(frame)
    raise AssertionError(f"no frame with {text}")


def _said(rasa: TrackingRasa) -> list[str]:
    """What customers said to the bot (not the hub's own /commands such as a session start)."""
    return [str(m["message"]) for m in rasa.received if not str(m["message"]).startswith("/")]
