"""Fixtures for the action tests: a fake portal over real HTTP, recorded trackers, the domain."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_portal import TOKEN, FakePortal, Served
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker

BOT = Path(__file__).resolve().parent.parent
RECORDED = Path(__file__).resolve().parent / "trackers"


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePortal]:
    """A fake portal on 127.0.0.1 (random port) that PortalClient.from_env() points at."""
    with Served(FakePortal()) as fake:
        monkeypatch.setenv("PORTAL_URL", fake.url)
        monkeypatch.setenv("PORTAL_SERVICE_TOKEN", TOKEN)
        yield fake


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


def tracker_at(recording: dict[str, Any], user_text: str, action: str, nth: int = 1) -> Tracker:
    """The tracker as it stood when `action` was about to run in reply to the `nth` message
    `user_text` (an action the policies tried and the form rejected counts too)."""
    slots: dict[str, Any] = {name: None for name in recording["slots"]}
    latest_message: dict[str, Any] = {}
    active_loop: dict[str, Any] = {}
    latest_action_name = None
    replying = False
    seen = 0
    for index, event in enumerate(recording["events"]):
        kind = event.get("event")
        if (
            replying
            and kind in ("action", "action_execution_rejected")
            and event.get("name") == action
        ):
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
            if event.get("text") == user_text:
                seen += 1
            replying = event.get("text") == user_text and seen == nth
            latest_message = dict(event.get("parse_data") or {})
            latest_message["metadata"] = event.get("metadata") or {}
        elif kind == "active_loop":
            active_loop = {"name": event["name"]} if event.get("name") else {}
        elif kind == "action":
            latest_action_name = event.get("name")
    raise AssertionError(f"no {action} in reply to {user_text!r} in the recording")


def form_validation_tracker(
    recording: dict[str, Any], user_text: str, form: str, nth: int = 1
) -> Tracker:
    """What Rasa sends `validate_<form>` after `user_text`: the slot candidates come last."""
    tracker = tracker_at(recording, user_text, form, nth)
    last_user = max(i for i, e in enumerate(tracker.events) if e.get("event") == "user")
    # FormAction re-appends the slots extracted from this message at the end of a
    # temporary tracker, after its own ActionExecuted; rasa_sdk's slots_to_validate()
    # reads only that trailing run.
    candidates = [
        {"event": "slot", "name": e["name"], "value": e["value"]}
        for e in tracker.events[last_user:]
        if e.get("event") == "slot" and e.get("name") != "requested_slot"
    ]
    # Rasa names the requested slot only once the form is active (not at activation).
    value = tracker.slots.get("requested_slot") if tracker.active_loop.get("name") == form else None
    tracker.slots["requested_slot"] = value
    requested = {"event": "slot", "name": "requested_slot", "value": value}
    tracker.events = tracker.events + [requested, {"event": "action", "name": form}] + candidates
    return tracker


def state_before(recording: dict[str, Any], user_text: str) -> Tracker:
    """The tracker just before `user_text` arrived: what the bot's last question saw."""
    index = next(
        i
        for i, e in enumerate(recording["events"])
        if e.get("event") == "user" and e.get("text") == user_text
    )
    slots: dict[str, Any] = {name: None for name in recording["slots"]}
    active_loop: dict[str, Any] = {}
    for event in recording["events"][:index]:
        if event.get("event") == "slot":
            slots[event["name"]] = event["value"]
        elif event.get("event") == "active_loop":
            active_loop = {"name": event["name"]} if event.get("name") else {}
    return Tracker(
        recording["sender_id"],
        slots,
        {},
        recording["events"][:index],
        False,
        None,
        active_loop,
        None,
    )
