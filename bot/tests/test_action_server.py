"""The action server answers only Rasa, which sends the shared secret (issue 18).

Started the way the stack starts it (`python -m actions.server` in bot/), on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

BOT = Path(__file__).resolve().parent.parent
SECRET = "test-action-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(port: int, **env: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_SECRET"}
    return subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(port)],
        cwd=BOT,
        env={**environment, "PORTAL_URL": "http://127.0.0.1:9", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    process = _start(port, ACTION_SERVER_SECRET=SECRET)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(f"{url}/health", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.communicate()[0]) from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


CALL = {
    "next_action": "action_detect_language",
    "sender_id": "s1",
    "version": "3.6.21",
    "tracker": {
        "sender_id": "s1",
        "slots": {},
        "latest_message": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    },
    "domain": {},
}


def test_calls_without_the_secret_are_refused(server: str) -> None:
    assert requests.post(f"{server}/webhook", json=CALL, timeout=10).status_code == 401
    wrong = {"X-Action-Secret": "guess"}
    assert (
        requests.post(f"{server}/webhook", json=CALL, headers=wrong, timeout=10).status_code == 401
    )
    assert requests.get(f"{server}/actions", timeout=10).status_code == 401
    # In the URL it opens nothing either: the secret travels only as a header.
    assert (
        requests.post(f"{server}/webhook?token={SECRET}", json=CALL, timeout=10).status_code == 401
    )


def test_rasa_with_the_secret_is_served(server: str) -> None:
    headers = {"X-Action-Secret": SECRET}
    response = requests.post(f"{server}/webhook", json=CALL, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert "events" in response.json()
    names = requests.get(f"{server}/actions", headers=headers, timeout=10).json()
    assert {"name": "action_ticket_request"} in names


def test_health_stays_open_for_the_supervisor(server: str) -> None:
    assert requests.get(f"{server}/health", timeout=10).json() == {"status": "ok"}


def test_it_will_not_start_without_a_secret() -> None:
    process = _start(_free_port())
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 2 and "ACTION_SERVER_SECRET" in output


def test_it_listens_on_loopback_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import server

    captured = {}

    class FakeApp:
        def run(self, host: str, port: int, **kwargs: object) -> None:
            captured.update(host=host, port=port)

    monkeypatch.setenv("ACTION_SERVER_SECRET", SECRET)
    monkeypatch.delenv("ACTION_SERVER_HOST", raising=False)
    monkeypatch.setattr(server, "secured_app", lambda secret, actions: FakeApp())
    assert server.main(["--port", "5999"]) == 0
    assert captured == {"host": "127.0.0.1", "port": 5999}
