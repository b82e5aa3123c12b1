"""The workers as real processes: an outbox worker killed with SIGKILL mid-delivery loses
nothing (the next one re-delivers under the same idempotency key), SIGTERM stops a worker
cleanly, and `--once` runs one pass of each worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.base import ChannelMessage
from portal import wiring
from portal.config import ROOT, Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.migrate import upgrade
from portal.notifications import service
from portal.notifications.models import Notification
from portal.tickets.models import TicketEvent
from portal.wechat.flows import build_api
from tests.notifications.fakes import FakeWeChat, serving
from tests.portal import factories as f
from tests.sla.support import make_crew, open_ticket, sh

OPENID = "oCrash-test-openid"


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite file the worker processes can open too."""
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture
    yield db
    db.dispose()


def worker(
    kind: str, db: Database, tmp_path: Path, *args: str, **env: str
) -> subprocess.Popen[str]:
    """Start `python -m portal.workers <kind>` against the test database."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "SMS_", "OUTBOX_"))
    }
    environ.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db.url,
        VAR_DIR=str(tmp_path),
        **env,
    )
    log = (tmp_path / f"{kind}-{time.monotonic_ns()}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "portal.workers", kind, *args],
        cwd=tmp_path,  # away from the repository's .env
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: object, timeout: float = 30.0) -> None:
    """Poll `condition()` until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def statuses(db: Database) -> dict[str, tuple[str, int, str]]:
    with db.session() as s:
        return {
            n.idempotency_key: (n.status, n.attempts, n.claimed_by)
            for n in s.scalars(select(Notification))
        }


# The 受理 kind's template, so ticket_created goes as a template message.
TEMPLATES = '{"accepted": {"id": "tpl", "keywords": {"character_string1": "number"}}}'


def test_a_worker_killed_mid_delivery_loses_nothing(file_db: Database, tmp_path: Path) -> None:
    keys = [f"crash:{i}" for i in range(6)]
    with file_db.session() as s:
        for key in keys:
            service.enqueue(
                s,
                key=key,
                channel="wechat",
                recipient=OPENID,
                template="ticket_created",
                payload={"number": key},
            )
    with serving(FakeWeChat(stall_first_s=120)) as fake:
        env = {
            "DEMO_MODE": "false",
            "WECHAT_APP_ID": "wx-crash",
            "WECHAT_APP_SECRET": "secret",
            "WECHAT_API_BASE_URL": f"{fake.url}/cgi-bin/",
            "WECHAT_TEMPLATES": TEMPLATES,
            "OUTBOX_LEASE_S": "3",
            "OUTBOX_POLL_S": "0.1",
            "OUTBOX_BATCH": "3",
            "NOTIFY_TIMEOUT_S": "300",  # the first worker waits on the stalled request
        }
        first = worker("outbox", file_db, tmp_path, **env)
        try:
            assert fake.stalling.wait(60), "the first worker never reached the fake"
            claimed = {k: v for k, v in statuses(file_db).items() if v[0] == "sending"}
            assert len(claimed) == 3  # its batch, claimed before the first send
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        second = worker("outbox", file_db, tmp_path, **env)
        try:
            wait_for(lambda: {v[0] for v in statuses(file_db).values()} == {"sent"}, 60)
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0  # a clean stop
        finally:
            if second.poll() is None:
                second.kill()
        seen = Counter(fake.keys())
    # Every notification reached WeChat at least once and is marked sent …
    assert set(seen) == set(keys)
    final = statuses(file_db)
    assert {v[0] for v in final.values()} == {"sent"}
    # … and the one in flight when the worker died went twice, with the same key, so
    # WeChat (client_msg_id) can drop the duplicate.
    (stalled,) = [r.body["client_msg_id"] for r in fake.deliveries()[:1]]
    assert seen[stalled] == 2 and sum(seen.values()) == len(keys) + 1
    assert final[stalled][1] == 2  # two attempts recorded
    assert all(v[2].startswith("outbox@") for v in final.values())
    # The dead worker's claims were all delivered by the second one.
    assert {final[k][2] for k in claimed} == {final[stalled][2]}


def test_the_worker_process_and_the_portal_share_one_wechat_token(
    file_db: Database, tmp_path: Path
) -> None:
    with file_db.session() as s:
        service.enqueue(
            s,
            key="token:1",
            channel="wechat",
            recipient=OPENID,
            template="ticket_created",
            payload={"number": "SR1"},
        )
    with serving(FakeWeChat()) as fake:
        env = {
            "DEMO_MODE": "false",
            "WECHAT_APP_ID": "wx-shared",
            "WECHAT_APP_SECRET": "secret",
            "WECHAT_API_BASE_URL": f"{fake.url}/cgi-bin/",
            "WECHAT_TEMPLATES": TEMPLATES,
        }
        proc = worker("outbox", file_db, tmp_path, "--once", **env)
        assert proc.wait(60) == 0
        assert statuses(file_db)["token:1"][0] == "sent"
        # The portal's WeChat channel, in this process, finds the worker's token stored.
        settings = Settings(
            _env_file=None,
            database_url=file_db.url,
            wechat_app_id="wx-shared",
            wechat_app_secret="secret",
            wechat_api_base_url=f"{fake.url}/cgi-bin/",
        )
        api = build_api(settings, file_db)
        assert api is not None
        api.send([ChannelMessage(channel="wechat", sender_id=OPENID, text="工程师已出发")])
        template, custom = fake.deliveries()
        assert len(fake.token_requests()) == 1
        assert template.query["access_token"] == custom.query["access_token"] == ["fake-token-1"]


def test_sigterm_stops_an_idle_worker_cleanly(file_db: Database, tmp_path: Path) -> None:
    with file_db.session() as s:
        make_crew(s)
        open_ticket(s, at=sh(2026, 3, 9, 9, 0))  # long overdue: the first pass ends escalating

    def logs() -> str:
        return "".join(p.read_text() for p in tmp_path.glob("*.log"))

    proc = worker("scheduler", file_db, tmp_path, "--poll", "30")
    try:
        # Its first pass done (the escalations it logs last), it waits out its poll interval.
        wait_for(lambda: "(since start: " in logs())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0  # long before the 30 s poll would have ended
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "received SIGTERM" in logs() and "stopped after 1 passes" in logs()


def test_once_runs_one_pass_of_each_worker(file_db: Database, tmp_path: Path) -> None:
    with file_db.session() as s:
        make_crew(s)
        ticket = open_ticket(s, at=sh(2026, 3, 9, 9, 0))  # long overdue
        ticket_id = ticket.id
        customer = f.customer(s)
        service.enqueue(
            s,
            key="once:1",
            channel="sms",
            recipient=customer.phone,
            template="ticket_created",
            payload={"number": ticket.number},
        )
    scheduler = worker("scheduler", file_db, tmp_path, "--once")
    assert scheduler.wait(60) == 0
    with file_db.session() as s:
        escalations = s.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "escalate"
            )
        ).all()
        assert {e.payload["timer"] for e in escalations} == {"response", "arrival", "resolution"}
    outbox = worker("outbox", file_db, tmp_path, "--once", DEMO_MODE="true")
    assert outbox.wait(60) == 0
    assert statuses(file_db)["once:1"][0] == "sent"
    logs = "".join(p.read_text() for p in tmp_path.glob("outbox-*.log"))
    assert "outbox: claimed" in logs and "stopped after" in logs
