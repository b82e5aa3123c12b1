"""The production topology as `make run-scaled` starts it (portal.stack.ScaledStack): nginx
in front of two portal workers and two Rasa servers, on PostgreSQL (SQL tracker store) and
Redis (lock store, live events), with the action server and the outbox and scheduler
workers. Everything is reached through nginx's port, as a customer or a scraper would."""

from __future__ import annotations

import json
import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.sync.client import ClientConnection, connect

from portal import stack as scaled
from portal.conversations.models import Conversation, Message
from portal.conversations.phrases import is_hub_apology
from portal.conversations.rasa import rasa_auth_headers
from portal.database import Database
from portal.stack import NGINX, ScaledStack, Topology, ensure_model, prepare
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL, unavailable
from tests.conversations.support import wait_for
from tests.e2e_fixtures import _require, free_port
from tests.scale.conftest import drop_database, scaled_settings, unique_database_name

RASA_TOKEN = "test-rasa-token"
WORKERS = 2
RASA_SERVERS = 2  # two, so a turn may land on either and both must share the tracker


def _port_block(workers: int, rasa_servers: int) -> int:
    """A first port such that the workers' (first..) and Rasa's (first+50..) are free."""
    for _ in range(50):
        first = random.randrange(20000, 40000)
        wanted = [first + i for i in range(workers)] + [first + 50 + i for i in range(rasa_servers)]
        try:
            for port in wanted:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free block of ports for the topology")


@pytest.fixture
def topology(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[ScaledStack]:
    """The scaled topology on databases of this run's own, stopped and dropped afterwards."""
    if not NGINX.exists():
        message = f"nginx is missing at {NGINX}; scripts/ensure_nginx.sh installs it"
        if IN_CI:
            pytest.fail(message + " (CI=true makes this a failure)")
        pytest.skip(message)
    base = scaled_settings(
        POSTGRES_ADMIN_URL,  # the topology's own databases are created from it
        redis_url,
        redis_prefix,
        tmp_path,
        portal_host="127.0.0.1",
        portal_port=free_port(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token=RASA_TOKEN,
        rasa_timeout_s=60.0,
        handoff_tick_s=1.0,
    )
    _require(base.bot_env / "bin" / "rasa", "The bot environment")
    model = ensure_model(base)
    plan = Topology(
        workers=WORKERS,
        rasa_servers=RASA_SERVERS,
        first_port=_port_block(WORKERS, RASA_SERVERS),
        database=unique_database_name("aftersales_test_topology"),
    )
    try:
        settings = scaled.scaled_settings(base, plan)  # creates both databases, as run_scaled
    except Exception as exc:  # any connection failure means the server is not there
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, type(exc).__name__)
    running: ScaledStack | None = None
    try:
        prepare(settings, demo="minimal")
        running = ScaledStack(settings, model=model, topology=plan)
        running.start()
        running.wait_healthy(timeout=300)
        yield running
    finally:
        if running is not None:
            running.stop()  # every process, before their databases go
        drop_database(plan.database)
        drop_database(f"{plan.database}_rasa")


def _ws_url(http_url: str, visitor: str) -> str:
    return (
        http_url.replace("http://", "ws://", 1)
        + f"/channels/web/ws?site_key=demo&visitor_id={visitor}"
    )


def _frames(socket_: ClientConnection, want: int, match: Any) -> list[dict[str, Any]]:
    """Read frames until `want` of them satisfy `match` (each read waits at most 60 s)."""
    seen: list[dict[str, Any]] = []
    while len(seen) < want:
        frame = json.loads(socket_.recv(timeout=60))
        if match(frame):
            seen.append(frame)
    return seen


def test_the_scaled_topology_through_nginx(topology: ScaledStack) -> None:
    entry = topology.portal_url  # nginx
    db = Database(topology.settings.database_url)
    try:
        with httpx.Client(base_url=entry, timeout=60) as http:
            # A REST-channel turn through nginx -> a portal worker -> nginx -> a Rasa server.
            turn = http.post(
                "/channels/rest/webhook", json={"sender": "topology-rest", "message": "你好"}
            )
            assert turn.status_code == 200, turn.text
            texts = [r.get("text") for r in turn.json()]
            assert texts and all(texts), turn.text
            assert not any(is_hub_apology(str(text)) for text in texts), texts

            ready = http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ready"
            assert ready.json()["checks"]["rasa"]["status"] == "up"

            # One request id through the proxy: the client's, else nginx's own, answered by
            # the worker and written in nginx's access log with the worker that served it.
            mine = f"topology-{uuid.uuid4().hex}"
            echoed = http.get("/livez", headers={"X-Request-ID": mine})
            assert echoed.headers["X-Request-ID"] == mine
            made = http.get("/livez").headers["X-Request-ID"]
            assert made and made != mine
        access = Path(topology.settings.var_dir).resolve() / "scaled/logs/nginx-access.log"
        logged = wait_for(
            lambda: _logged_by_nginx(access, {mine, made}),
            timeout=10,
            what=f"both request ids in {access}",  # nginx writes a line when a request ends
        )
        for request_id in (mine, made):
            assert "upstream=127.0.0.1:" in logged[request_id], logged[request_id]

        with db.session() as session:
            public_id = session.scalars(
                select(Conversation.public_id).where(Conversation.sender_id == "topology-rest")
            ).one()
            authors = session.scalars(
                select(Message.author)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.sender_id == "topology-rest", Message.direction == "out")
            ).all()
        assert "bot" in authors  # the real bot answered, not the hub's fallback
        # Whichever Rasa server took the turn, every one of them reads it from the shared
        # SQL tracker store.
        for rasa_url in topology.rasa_urls:
            tracker = httpx.get(
                f"{rasa_url}/conversations/{public_id}/tracker",
                headers=rasa_auth_headers(RASA_TOKEN),
                timeout=30,
            )
            assert tracker.status_code == 200, tracker.text
            heard = [e.get("text") for e in tracker.json()["events"] if e["event"] == "user"]
            assert "你好" in heard, f"{rasa_url} does not see the conversation"

        # A widget tab through nginx sees what is said in tabs on each worker directly: at
        # least one of them is not the worker holding the proxied socket, so its words
        # reach that socket only through Redis.
        visitor = f"visitor_topology_{uuid.uuid4().hex}"
        with connect(_ws_url(entry, visitor), open_timeout=30) as proxied:
            _frames(proxied, 1, lambda f: f.get("type") == "history")
            said = []
            for n, worker in enumerate(topology.worker_urls):
                with connect(_ws_url(worker, visitor), open_timeout=30) as direct:
                    _frames(direct, 1, lambda f: f.get("type") == "history")
                    text = f"在第{n + 1}个进程上说的话"
                    direct.send(json.dumps({"type": "message", "text": text, "client_id": f"w{n}"}))
                    _frames(direct, 1, lambda f, s=text: f.get("text") == s)
                    said.append(text)
            echoes = _frames(
                proxied,
                len(said),
                lambda f: f.get("type") == "message" and f.get("direction") == "in",
            )
            assert sorted(f["text"] for f in echoes) == sorted(said)

        # The metrics of every process, merged (multiprocess mode), through nginx. The bot
        # turns of the socket messages run after their echo, so the count may still be
        # short at the first scrape: it must reach one turn per message within a minute.
        wanted = 1 + len(said)

        def merged_turns() -> float:
            metrics = httpx.get(f"{entry}/metrics", timeout=30)
            assert metrics.status_code == 200, metrics.text[:500]
            return sum(_samples(metrics.text, "portal_chat_turn_duration_seconds_count"))

        wait_for(
            lambda: merged_turns() >= wanted,
            timeout=60,
            what=f"{wanted} chat turns in the merged /metrics",
        )
    finally:
        db.dispose()


def _samples(exposition: str, name: str) -> list[float]:
    """The values of every sample of one metric in a Prometheus text exposition."""
    return [
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    ]


def _logged_by_nginx(access: Path, ids: set[str]) -> dict[str, str] | None:
    """nginx's access-log line of each request id, once every one has a line."""
    lines = access.read_text(encoding="utf-8").splitlines() if access.exists() else []
    found = {i: line for line in lines for i in ids if f"req={i} " in line}
    return found if set(found) == ids else None
