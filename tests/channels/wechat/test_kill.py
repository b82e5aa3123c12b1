"""kill -9 of the portal in the middle of a WeChat turn (issue 22): the callback was answered
`success`, the turn was marked and the message stored, and Rasa had the message but had not
answered. The portal comes back and the follower still gets the answer, once, as a
customer-service message from the outbox; WeChat's late retry changes nothing.

Real processes: uvicorn with the portal on a SQLite file, a fake Rasa on the loopback that
holds its first request until released, and the local fake of WeChat's API."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from portal.config import ROOT, Settings
from portal.conversations.models import Message
from portal.database import Database
from portal.migrate import upgrade
from portal.notifications.models import Notification
from portal.stack import Process
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import APP_ID, OPENID, SECRET, SUCCESS, TOKEN, WeChatServer
from tests.channels.wechat.support import fixture as wechat_fixture
from tests.conversations.support import wait_for
from tests.e2e_fixtures import free_port

MSG_ID = "24900000000077001"


class StallingRasa:
    """Rasa's REST channel on a local port; the first turn waits until `release`."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.stalling = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, body: dict[str, Any]) -> list[dict[str, str]]:
        with self.lock:
            self.received.append(str(body.get("message")))
            first = len(self.received) == 1
        if first:
            self.stalling.set()
            self.release.wait(120)
        return [{"recipient_id": str(body.get("sender")), "text": f"收到：{body.get('message')}"}]

    @classmethod
    def serving(cls) -> Iterator[StallingRasa]:
        rasa = cls()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                data = json.dumps(rasa.answer(body) if "webhook" in self.path else {}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the portal that asked was killed
                    pass

            do_GET = do_POST

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        rasa.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield rasa
        finally:
            rasa.release.set()
            server.shutdown()
            server.server_close()


@pytest.fixture
def rasa() -> Iterator[StallingRasa]:
    yield from StallingRasa.serving()


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as fake:
        yield fake


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/livez", timeout=2).is_success
    except httpx.HTTPError:
        return False


def _kill(process: Process) -> None:
    assert process.popen is not None
    os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


def test_a_turn_cut_short_by_kill_9_is_answered_after_the_restart(
    tmp_path: Path, rasa: StallingRasa, fake_wechat: FakeWeChatApi
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade(database_url)
    settings = Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        secret_key="kill-test-secret-key-0123456789abcdef",
        rasa_url=rasa.url,
        rasa_timeout_s=60.0,
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_app_secret=SECRET,
        wechat_api_base_url=fake_wechat.base_url,
        wechat_passive_reply_s=0.5,
        wechat_turn_recover_s=3.0,
        outbox_poll_s=0.2,
        outbox_backoff_s=0.5,
    )
    env = {**os.environ, **settings.as_env()}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    portal = Process(
        "portal",
        [sys.executable, "-m", "uvicorn", "portal.main:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        ROOT,
        env,
        tmp_path / "portal.log",
    )
    db = Database(database_url)
    portal.start()
    try:
        wait_for(partial(_up, url), timeout=90, what=f"the portal ({portal.log_path})")
        with httpx.Client(base_url=url, timeout=30) as http:
            wechat = WeChatServer(http, api=fake_wechat)
            xml = wechat_fixture("text.xml", Content="洗衣机不脱水", MsgId=MSG_ID)
            # Rasa holds the turn: WeChat is answered `success` after the passive window.
            assert wechat.post(xml).text == SUCCESS
            wait_for(rasa.stalling.is_set, timeout=30, what="Rasa to have the turn")
            _kill(portal)
            rasa.release.set()  # Rasa answers a portal that is no longer there
            assert fake_wechat.sent == []
            portal.start()
            wait_for(partial(_up, url), timeout=90, what=f"the restart ({portal.log_path})")
            # The turn mark comes due: the turn runs again and its answer goes out.
            sent = fake_wechat.wait_for_sent(1, timeout=60)
            assert [(m["touser"], m["text"]["content"]) for m in sent] == [
                (OPENID, "收到：洗衣机不脱水")
            ]
            # WeChat's late retry of the same message: `success`, nothing new.
            assert wechat.post(xml).text == SUCCESS
        wait_for(lambda: rasa.received == ["洗衣机不脱水", "洗衣机不脱水"], timeout=5, what="Rasa")
        with db.session() as session:
            messages = session.scalars(select(Message).order_by(Message.id)).all()
            assert [(m.direction, m.text) for m in messages] == [
                ("in", "洗衣机不脱水"),
                ("out", "收到：洗衣机不脱水"),
            ]
            marks = session.scalars(
                select(Notification).where(Notification.channel.like("wechat_%"))
            ).all()
            assert {(n.channel, n.status) for n in marks} == {
                ("wechat_turn", "sent"),
                ("wechat_reply", "sent"),
            }
        assert len(fake_wechat.sent) == 1
    finally:
        portal.stop()
        db.dispose()
