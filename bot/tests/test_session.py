"""Sessions: a chat opened before anything was typed is greeted (the hub sends Rasa's
/session_start); a session Rasa starts by itself is not; only the phone is carried over.

session_start_conversation (bound customer 张女士): /session_start / 查进度
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakePortal, load_recording, tracker_at
from helpers import rendered, responses, run, slots_set
from rasa_sdk import Tracker

from actions.session import ActionSessionStart


@pytest.fixture
def recording(portal: FakePortal) -> dict[str, Any]:
    return load_recording("session_start_conversation")


def test_an_opened_chat_is_greeted_by_name(recording, domain, portal):
    portal.bind(recording["sender_id"], name="张女士")
    tracker = tracker_at(recording, "/session_start", "action_session_start")
    messages, events = run(ActionSessionStart(), tracker, domain)
    assert responses(messages) == ["utter_greet_known"]
    assert rendered(messages[0], domain).startswith("张女士您好")
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


def test_a_stranger_gets_the_plain_greeting(recording, domain, portal):
    tracker = tracker_at(recording, "/session_start", "action_session_start")
    messages, _ = run(ActionSessionStart(), tracker, domain)
    assert responses(messages) == ["utter_greet"]
    assert "报修" in rendered(messages[0], domain)


def test_a_session_rasa_starts_itself_is_not_greeted(recording, domain, portal):
    # The very first message: the tracker is empty when Rasa starts the session.
    empty = Tracker("new", {}, {}, [], False, None, {}, None)
    assert run(ActionSessionStart(), empty, domain)[0] == []
    # After an hour of silence: the last thing in the tracker is the bot listening.
    tracker = tracker_at(recording, "查进度", "action_ticket_request")
    tracker.events = tracker.events + [{"event": "action", "name": "action_listen"}]
    tracker.slots["phone"] = "13800138000"
    messages, events = run(ActionSessionStart(), tracker, domain)
    assert messages == [] and portal.requests == []
    assert slots_set(events) == {
        "phone": "13800138000",
        "session_started_metadata": {"channel": "web"},
    }


def test_a_greeting_right_after_ours_is_short(recording, domain):
    from actions.session import ActionGreet

    events = [
        {"event": "user", "text": "/session_start", "parse_data": {}},
        {"event": "bot", "text": "您好！", "metadata": {"utter_action": "utter_greet"}},
        {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}},
    ]
    tracker = Tracker(
        "greet-again",
        {},
        {"text": "你好", "intent": {"name": "greet"}},
        events,
        False,
        None,
        {},
        "action_listen",
    )
    messages, _ = run(ActionGreet(), tracker, domain)
    assert [m["response"] for m in messages] == ["utter_greet_again"]
