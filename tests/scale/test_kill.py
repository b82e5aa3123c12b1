"""kill -9 of a portal worker and of the outbox worker in the middle of traffic, with real
processes on one PostgreSQL database and Redis: after the restarts every acknowledged message
and ticket is stored exactly once, and every ticket's customer notification is stored once,
delivered, and reached the (fake) SMS provider under one idempotency key only."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from portal.config import ROOT
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.notifications.models import Notification
from portal.notifications.senders import IDEMPOTENCY_HEADER
from portal.stack import Process
from portal.tickets.models import Ticket
from tests.app_fixtures import BOT_TOKEN
from tests.conversations.support import wait_for
from tests.e2e_fixtures import free_port
from tests.notifications.fakes import SMS_ACCOUNTS, FakeSms, serving
from tests.scale.conftest import scaled_settings

BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
PHONE = "13800138000"


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


@dataclass
class Running:
    """The processes under test and the fake SMS provider they deliver to."""

    workers: list[tuple[str, Process]]
    outbox: Process
    sms: FakeSms


@pytest.fixture
def sms() -> Iterator[FakeSms]:
    """A fake SMS provider on the loopback; its first delivery hangs until released."""
    with serving(FakeSms(stall_first_s=120.0)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def running(
    pg: Database, redis_url: str, redis_prefix: str, tmp_path: Path, sms: FakeSms
) -> Iterator[Running]:
    """Two uvicorn workers and one outbox worker; Rasa is down, so every turn is answered by
    the hub itself. SMS goes to the fake gateway through the real SmsGateway."""
    settings = scaled_settings(
        pg.url,
        redis_url,
        redis_prefix,
        tmp_path,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        sms_url=f"{sms.url}/send",
        sms_api_key="sms-kill-key",
        sms_api_secret=SMS_ACCOUNTS["sms-kill-key"],
        notify_timeout_s=150.0,  # longer than the stall: the kill, not a timeout, ends it
        outbox_poll_s=0.2,
        outbox_lease_s=3.0,  # a killed worker's claims come back soon
        outbox_backoff_s=0.5,
    )
    env = {**os.environ, **settings.as_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    logs = tmp_path / "logs"
    workers = []
    outbox = Process(
        "outbox",
        [sys.executable, "-m", "portal.workers", "outbox"],
        ROOT,
        env,
        logs / "outbox.log",
    )
    try:
        for _ in range(2):
            port = free_port()
            workers.append((f"http://127.0.0.1:{port}", _worker(env, port, logs)))
        outbox.start()
        for url, process in workers:
            wait_for(partial(_up, url), timeout=60, what=f"{url} up ({process.log_path})")
        yield Running(workers, outbox, sms)
    finally:
        sms.release.set()
        outbox.stop()
        for _url, process in workers:
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
            "phone": PHONE,
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


def _kill(process: Process) -> None:
    assert process.popen is not None
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


def test_kill_a_worker_and_the_outbox_mid_traffic_loses_and_duplicates_nothing(
    running: Running, pg: Database
) -> None:
    urls = [url for url, _process in running.workers]
    sms = running.sms
    traffic = Traffic(urls)
    clients = [threading.Thread(target=traffic.run, args=(i,)) for i in range(4)]
    for thread in clients:
        thread.start()
    try:
        wait_for(lambda: len(traffic.acked_tickets) >= 8, timeout=60, what="traffic")
        # The outbox worker is in the middle of a delivery: the provider has the request
        # and has not answered it. Kill it there, and a portal worker with it.
        wait_for(sms.stalling.is_set, timeout=60, what=f"a delivery ({running.outbox.log_path})")
        stalled_key = sms.deliveries()[0].body["reference"]
        _kill(running.outbox)
        _kill(running.workers[0][1])
        sms.release.set()  # the provider answers a connection nobody reads any more
        before = len(traffic.acked_tickets)
        wait_for(lambda: len(traffic.acked_tickets) >= before + 8, timeout=60, what="survivor")
        running.workers[0][1].start()  # the same command, the same port
        running.outbox.start()
        wait_for(lambda: _up(urls[0]), timeout=60, what="restart")
        after = len(traffic.acked_tickets)
        wait_for(lambda: len(traffic.acked_tickets) >= after + 8, timeout=60, what="after restart")
    finally:
        traffic.stop.set()
        for thread in clients:
            thread.join(timeout=60)

    def undelivered() -> int:
        with pg.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.status != "sent")
                )
                or 0
            )

    wait_for(lambda: undelivered() == 0, timeout=60, what=f"the outbox ({running.outbox.log_path})")
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
        numbers = dict(
            session.execute(
                select(Ticket.id, Ticket.number).where(Ticket.conversation_id.like("kill-%"))
            ).all()
        )
        rows = session.execute(
            select(
                Notification.ticket_id,
                Notification.channel,
                Notification.template,
                Notification.recipient,
                Notification.status,
                Notification.idempotency_key,
            )
        ).all()
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert set(traffic.acked_messages) <= set(stored), "an acknowledged message was lost"
    per_key = dict(tickets)
    assert all(count == 1 for count in per_key.values()), "a ticket was filed twice"
    assert set(traffic.acked_tickets) <= set(per_key), "an acknowledged ticket was lost"

    # Each ticket told its customer once, by SMS (no WeChat, no widget conversation),
    # and every notification was delivered.
    per_ticket: dict[int | None, list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        per_ticket[row.ticket_id].append((row.channel, row.template, row.recipient))
    assert set(per_ticket) == set(numbers), "a notification without its ticket, or missing"
    assert all(per_ticket[ticket] == [("sms", "ticket_created", PHONE)] for ticket in numbers), (
        "a ticket's notification is missing or stored twice"
    )
    assert {row.status for row in rows} == {"sent"}

    # The provider saw every notification, under its one key: a resend reuses the key.
    deliveries = sms.deliveries()
    # The gateway's body carries the key as `reference`, and the ticket number in its text.
    assert all(r.headers[IDEMPOTENCY_HEADER.lower()] == r.body["reference"] for r in deliveries)
    received = [r.body["reference"] for r in deliveries]
    assert set(received) == {row.idempotency_key for row in rows}
    keys_per_ticket: dict[str, set[str]] = defaultdict(set)
    for r in deliveries:
        (number,) = [n for n in numbers.values() if n in r.body["text"]]
        keys_per_ticket[number].add(r.body["reference"])
    assert set(keys_per_ticket) == set(numbers.values())
    assert all(len(keys) == 1 for keys in keys_per_ticket.values()), "sent under two keys"
    # The delivery the kill cut off was sent again after the restart, with the same key.
    assert received.count(stalled_key) >= 2
