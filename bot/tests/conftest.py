"""Fixtures for the action tests: a fake portal over real HTTP, recorded trackers, the domain."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker

BOT = Path(__file__).resolve().parent.parent
RECORDED = Path(__file__).resolve().parent / "trackers"


class FakePortal:
    """Stands in for the portal's POST /api/v1/tickets, idempotency included."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.by_key: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        # (status, body) to answer every request with instead of the normal behaviour.
        self.forced: tuple[int, dict[str, Any]] | None = None
        self.url = ""

    def answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict]:
        """Reply the way the portal's contract says."""
        self.requests.append({"path": path, "headers": headers, "body": body})
        if self.forced:
            return self.forced
        if path != "/api/v1/tickets":
            return 404, {"message": "not found"}
        if headers.get("authorization") != "Bearer test-token":
            return 401, {"message": "unauthorised"}
        key = headers.get("idempotency-key", "")
        if key in self.by_key:
            first_body, ticket = self.by_key[key]
            return (200, ticket) if first_body == body else (409, {"message": "key reused"})
        number = len(self.by_key) + 1
        ticket = {
            "id": number,
            "number": f"SR20261123-{number:04d}",
            "status": "new",
            "status_label": "待受理",
        }
        self.by_key[key] = (body, ticket)
        return 201, ticket


def _handler_for(portal: FakePortal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = portal.answer(self.path, headers, json.loads(raw or b"{}"))
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePortal]:
    """A fake portal on 127.0.0.1 (random port) that PortalClient.from_env() points at."""
    fake = FakePortal()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("PORTAL_URL", fake.url)
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "test-token")
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def portal_down(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the client at a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PORTAL_URL", url)
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "test-token")
    return url


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The domain as Rasa sends it to the action server."""
    return Domain.load(str(BOT / "domain")).as_dict()


def load_recording(name: str) -> dict[str, Any]:
    """A tracker captured from a live `rasa run` via GET /conversations/<id>/tracker."""
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def tracker_at(recording: dict[str, Any], user_text: str, action: str) -> Tracker:
    """The tracker as it stood when `action` was about to run in reply to `user_text`."""
    slots: dict[str, Any] = {name: None for name in recording["slots"]}
    latest_message: dict[str, Any] = {}
    active_loop: dict[str, Any] = {}
    latest_action_name = None
    replying = False
    for index, event in enumerate(recording["events"]):
        kind = event.get("event")
        if replying and kind == "action" and event.get("name") == action:
            return Tracker(
                sender_id=recording["sender_id"],
                slots=slots,
                latest_message=latest_message,
                events=recording["events"][:index],
                paused=False,
                followup_action=None,
                active_loop=active_loop,
                latest_action_name=latest_action_name,
            )
        if kind == "slot":
            slots[event["name"]] = event["value"]
        elif kind == "user":
            replying = event.get("text") == user_text
            latest_message = dict(event.get("parse_data") or {})
            latest_message["metadata"] = event.get("metadata") or {}
        elif kind == "active_loop":
            active_loop = {"name": event["name"]} if event.get("name") else {}
        elif kind == "action":
            latest_action_name = event.get("name")
    raise AssertionError(f"no {action} in reply to {user_text!r} in the recording")


def form_validation_tracker(recording: dict[str, Any], user_text: str, form: str) -> Tracker:
    """What Rasa sends `validate_<form>` after `user_text`: the slot candidates come last."""
    tracker = tracker_at(recording, user_text, form)
    last_user = max(i for i, e in enumerate(tracker.events) if e.get("event") == "user")
    # FormAction re-appends the slots extracted from this message at the end of a
    # temporary tracker; rasa_sdk's slots_to_validate() reads only that trailing run.
    candidates = [
        {"event": "slot", "name": e["name"], "value": e["value"]}
        for e in tracker.events[last_user:]
        if e.get("event") == "slot"
    ]
    tracker.events = tracker.events + candidates
    return tracker
