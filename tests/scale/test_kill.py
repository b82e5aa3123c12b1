"""kill -9 of a portal worker in the middle of traffic, with real uvicorn processes on one
PostgreSQL database and Redis: after the restart every acknowledged message and ticket is
stored exactly once, and nothing is stored twice."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from portal.config import ROOT
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.stack import Process
from portal.tickets.models import Ticket
from tests.app_fixtures import BOT_TOKEN
from tests.conversations.support import wait_for
from tests.e2e_fixtures import free_port
from tests.scale.conftest import scaled_settings

BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}


def _worker(settings_env: dict[str, str], port: int, logs: Path) -> Process:
    process = Process(
        f"portal-{port}",
        [sys.executable, "-m", "uvicorn", "portal.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        ROOT,
        settings_env,
        logs / f"portal-{port}.log",
    )
    process.start()
    return process


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/livez", timeout=2).is_success
    except httpx.HTTPError:
        return False


@pytest.fixture
def workers(
    pg: Database, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[list[tuple[str, Process]]]:
    """Two uvicorn workers; Rasa is down, so every turn is answered by the hub itself."""
    settings = scaled_settings(
        pg.url, redis_url, redis_prefix, tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}"
    )
    env = {**os.environ, **settings.as_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    running = []
    for _ in range(2):
        port = free_port()
        running.append((f"http://127.0.0.1:{port}", _worker(env, port, tmp_path / "logs")))
    try:
        for url, process in running:
            wait_for(lambda u=url: _up(u), timeout=60, what=f"{url} up ({process.log_path})")
        yield running
    finally:
        for _url, process in running:
            process.stop()


class Traffic:
    """Clients sending chat messages and filing tickets, each to a worker in turn and, when
    one is refused a connection, to the next (as the proxy does)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked_messages: list[str] = []
        self.acked_tickets: list[str] = []
        self.counter = itertools.count()

    def run(self, client_no: int) -> None:
        with httpx.Client(timeout=20) as http:
            while not self.stop.is_set():
                n = next(self.counter)
                self._message(http, client_no, n)
                self._ticket(http, client_no, n)

    def _send(self, http: httpx.Client, n: int, method: str, path: str, **kw: object):
        # A refused connection never reached a worker: safe to try the next one.
        for attempt in range(len(self.urls) * 3):
            url = self.urls[(n + attempt) % len(self.urls)]
            try:
                return http.request(method, url + path, **kw)  # type: ignore[arg-type]
            except httpx.ConnectError:
                time.sleep(0.05)
        return None

    def _message(self, http: httpx.Client, client_no: int, n: int) -> None:
        text = f"客户{client_no}-消息{n}"
        try:
            response = self._send(
                http,
                n,
                "POST",
                "/channels/rest/webhook",
                json={"sender": f"kill-{client_no}", "message": text},
            )
        except httpx.HTTPError:
            return  # cut off mid-request: not acknowledged, the customer would resend
        if response is not None and response.status_code == 200:
            with self.lock:
                self.acked_messages.append(text)

    def _ticket(self, http: httpx.Client, client_no: int, n: int) -> None:
        key = f"kill-{client_no}-{n}"
        body = {
            "product": "洗衣机",
            "fault_description": f"滚筒不转了 {key}",
            "phone": "13800138000",
            "channel": "web",
            "conversation_id": key,
        }
        headers = {**BOT, "Idempotency-Key": key}
        # The idempotency key makes a retry after a cut-off request safe: retry until answered.
        for _ in range(20):
            try:
                response = self._send(
                    http, n, "POST", "/api/v1/tickets", json=body, headers=headers
                )
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if response is not None and response.status_code in (200, 201):
                with self.lock:
                    self.acked_tickets.append(key)
                return
            time.sleep(0.1)


def test_kill_a_worker_mid_traffic_loses_and_duplicates_nothing(
    workers: list[tuple[str, Process]], pg: Database, tmp_path: Path
) -> None:
    urls = [url for url, _process in workers]
    traffic = Traffic(urls)
    clients = [threading.Thread(target=traffic.run, args=(i,)) for i in range(4)]
    for thread in clients:
        thread.start()
    try:
        wait_for(lambda: len(traffic.acked_tickets) >= 8, timeout=60, what="traffic")
        victim = workers[0][1]
        assert victim.popen is not None
        os.killpg(victim.popen.pid, signal.SIGKILL)
        victim.popen.wait(timeout=10)
        before = len(traffic.acked_tickets)
        wait_for(lambda: len(traffic.acked_tickets) >= before + 8, timeout=60, what="survivor")
        victim.start()  # the same command, the same port
        wait_for(lambda: _up(urls[0]), timeout=60, what="restart")
        after = len(traffic.acked_tickets)
        wait_for(lambda: len(traffic.acked_tickets) >= after + 8, timeout=60, what="after restart")
    finally:
        traffic.stop.set()
        for thread in clients:
            thread.join(timeout=60)
    with pg.session() as session:
        stored = session.scalars(
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.sender_id.like("kill-%"), Message.direction == "in")
        ).all()
        tickets = session.execute(
            select(Ticket.conversation_id, func.count())
            .where(Ticket.conversation_id.like("kill-%"))
            .group_by(Ticket.conversation_id)
        ).all()
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(traffic.acked_messages) <= set(stored), "an acknowledged message was lost"
    per_key = dict(tickets)
    assert all(count == 1 for count in per_key.values()), "a ticket was filed twice"
    assert set(traffic.acked_tickets) <= set(per_key), "an acknowledged ticket was lost"
