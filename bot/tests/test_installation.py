"""Installation booking against a recorded conversation and a fake portal over HTTP.

installation_conversation: 我想预约装空调 KFR-35GW / 家里 / 上海市浦东新区张江路88号3栋1201室 /
随便 / 明天下午 / 13800138000 / 时间改一下 / 后天上午 / 确认
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import form_validation_tracker, load_recording, tracker_at
from helpers import rendered, responses, run, slots_set

from actions.installation import ActionBookInstallation, ValidateInstallationForm
from actions.intake import ActionAskSummary
from actions.time_windows import describe, parse_window

FORM = "installation_form"


@pytest.fixture(scope="module")
def recording() -> dict[str, Any]:
    return load_recording("installation_conversation")


def validate(recording: dict, text: str, domain: dict) -> tuple[list, list]:
    return run(ValidateInstallationForm(), form_validation_tracker(recording, text, FORM), domain)


def test_product_and_model_come_from_the_request(recording, domain, portal):
    messages, events = validate(recording, "我想预约装空调 KFR-35GW", domain)
    assert messages == []
    slots = slots_set(events)
    assert slots["product"] == "空调" and slots["model_code"] == "KFR-35GW"
    assert slots["requested_slot"] == "address"


def test_vague_address_is_reasked_with_an_example(recording, domain, portal):
    messages, events = validate(recording, "家里", domain)
    assert responses(messages) == ["utter_address_incomplete"]
    assert "门牌号" in rendered(messages[0], domain)
    assert slots_set(events)["address"] is None


def test_full_address_is_accepted(recording, domain, portal):
    _, events = validate(recording, "上海市浦东新区张江路88号3栋1201室", domain)
    assert slots_set(events)["address"] == "上海市浦东新区张江路88号3栋1201室"
    assert slots_set(events)["requested_slot"] == "preferred_time"


def test_unreadable_time_is_reasked_with_examples(recording, domain, portal):
    messages, events = validate(recording, "随便", domain)
    assert responses(messages) == ["utter_time_unparsed"]
    assert "明天下午" in rendered(messages[0], domain)
    assert slots_set(events)["preferred_time"] is None


def test_chinese_time_becomes_a_concrete_window(recording, domain, portal):
    messages, events = validate(recording, "明天下午", domain)
    assert messages == []
    assert slots_set(events)["preferred_time"] == parse_window("明天下午", sender="c1").canonical
    assert slots_set(events)["preferred_time"].endswith("13:00-18:00")


def test_summary_shows_the_window_in_words(recording, domain, portal):
    # The ask actions run inside the form; the state they saw is the one the next message met.
    tracker = tracker_at(recording, "时间改一下", FORM)
    [message], _ = run(ActionAskSummary(), tracker, domain)
    text = rendered(message, domain)
    assert message["response"] == "utter_summary_installation"
    assert "空调 KFR-35GW" in text and "张江路88号" in text
    assert describe(tracker.get_slot("preferred_time")) in text and "13:00-18:00" in text


def test_time_correction_asks_for_the_time_again(recording, domain, portal):
    messages, events = validate(recording, "时间改一下", domain)
    assert responses(messages) == ["utter_correction_ack"]
    assert slots_set(events)["preferred_time"] is None
    assert slots_set(events)["requested_slot"] == "preferred_time"


def test_confirmed_booking_files_an_installation_ticket(recording, domain, portal):
    tracker = tracker_at(recording, "确认", "action_book_installation")
    messages, events = run(ActionBookInstallation(), tracker, domain)
    body = [r for r in portal.requests if r["route"] == "POST /tickets"][0]["body"]
    assert body["type"] == "installation" and body["product"] == "空调"
    assert body["model_code"] == "KFR-35GW" and body["phone"] == "13800138000"
    assert body["address"] == "上海市浦东新区张江路88号3栋1201室"
    assert body["preferred_time"] == tracker.get_slot("preferred_time")
    assert body["preferred_time"].endswith("08:00-12:00")  # 后天上午
    text = rendered(messages[0], domain)
    assert "SR20261123-0001" in text and "10 分钟内响应" in text and "查进度" in text
    assert slots_set(events)["preferred_time"] is None
