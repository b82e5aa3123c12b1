"""Handing over to a person: on request, on a complaint, after two failed turns.

handoff_conversation (the hub accepts handoffs): 我要投诉你们师傅 / 今天天气怎么样 / 给我讲个笑话
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakePortal, load_recording, tracker_at
from helpers import rendered, responses, run, slots_set

from actions.handoff import ActionHandoff, summarize
from actions.session import ActionNotUnderstood, ActionSessionStart


@pytest.fixture
def recording(portal: FakePortal) -> dict[str, Any]:
    portal.handoff_status = 202
    return load_recording("handoff_conversation")


def test_complaint_is_handed_over_with_reason_and_summary(recording, domain, portal):
    tracker = tracker_at(recording, "我要投诉你们师傅", "action_handoff")
    messages, _ = run(ActionHandoff(), tracker, domain)
    # Queued: the hub's notice (第 1 位) follows; the bot only apologises.
    assert responses(messages) == ["utter_complaint_sorry"]
    assert "马上请人工客服" in rendered(messages[0], domain)
    [handoff] = portal.handoffs
    assert handoff["conversation"] == recording["sender_id"]
    assert handoff["reason"] == "complaint"
    assert handoff["summary"].startswith("诉求：投诉") and "我要投诉你们师傅" in handoff["summary"]


def test_a_plain_request_leaves_the_queue_notice_to_the_hub(recording, domain, portal):
    tracker = tracker_at(recording, "我要投诉你们师傅", "action_handoff")
    tracker.latest_message["intent"] = {"name": "request_human", "confidence": 0.99}
    messages, events = run(ActionHandoff(), tracker, domain)
    assert messages == []
    assert portal.handoffs[0]["reason"] == "request"
    assert slots_set(events) == {"last_failed_turn": None}


def test_off_duty_a_complaint_is_not_promised_a_person_now(recording, domain, portal):
    portal.handoff_result = {"state": "bot", "queued": False, "on_duty": False}
    tracker = tracker_at(recording, "我要投诉你们师傅", "action_handoff")
    messages, _ = run(ActionHandoff(), tracker, domain)
    assert responses(messages) == ["utter_complaint_noted"]
    text = rendered(messages[0], domain)
    assert "认真处理" in text and "马上" not in text and "转接" not in text


def test_a_hub_that_does_not_say_what_it_did_gets_the_generic_line(recording, domain, portal):
    portal.handoff_result = {}
    tracker = tracker_at(recording, "我要投诉你们师傅", "action_handoff")
    messages, _ = run(ActionHandoff(), tracker, domain)
    assert responses(messages) == ["utter_complaint_sorry", "utter_handoff_started"]
    assert rendered(messages[1], domain) == "正在为您转接人工客服，请稍候…"


def test_without_the_hub_the_customer_is_offered_a_ticket(recording, domain, portal):
    portal.handoff_status = 404
    tracker = tracker_at(recording, "我要投诉你们师傅", "action_handoff")
    messages, _ = run(ActionHandoff(), tracker, domain)
    assert responses(messages) == ["utter_handoff_unavailable"]
    assert [
        b["payload"] for b in domain["responses"]["utter_handoff_unavailable"][0]["buttons"]
    ] == ["/report_fault", "/request_installation"]


def test_first_unanswerable_message_apologises_and_ends_the_turn(recording, domain, portal):
    tracker = tracker_at(recording, "今天天气怎么样", "action_not_understood")
    messages, events = run(ActionNotUnderstood(), tracker, domain)
    assert responses(messages) == ["utter_out_of_scope"]
    assert slots_set(events) == {"last_failed_turn": 2, "failed_streak": 1}
    # Without an explicit listen, the policies predicted the fallback again and again until
    # Rasa's circuit breaker tripped (ten apologies, then silence).
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}


def test_second_failed_turn_in_a_row_offers_a_person(recording, domain, portal):
    tracker = tracker_at(recording, "给我讲个笑话", "action_not_understood")
    tracker.slots["failed_streak"] = 1
    messages, events = run(ActionNotUnderstood(), tracker, domain)
    assert responses(messages) == ["utter_default_offer_human"]
    assert [
        b["payload"]
        for b in messages[0]["buttons"]
        or domain["responses"]["utter_default_offer_human"][0]["buttons"]
    ][0] == "/request_human"
    assert events[-1]["name"] == "action_listen"


def test_third_failed_turn_in_a_row_goes_to_a_person(recording, domain, portal):
    tracker = tracker_at(recording, "给我讲个笑话", "action_not_understood")
    tracker.slots["failed_streak"] = 2
    messages, events = run(ActionNotUnderstood(), tracker, domain)
    assert messages == []
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_handoff"}
    handoff = tracker_at(recording, "给我讲个笑话", "action_handoff")
    run(ActionHandoff(), handoff, domain)
    assert portal.handoffs[-1]["reason"] == "failures"


def test_summary_is_short_and_names_what_is_known(recording):
    tracker = tracker_at(recording, "给我讲个笑话", "action_handoff")
    tracker.slots.update(product="洗衣机", ticket_number="SR20261123-0007")
    summary = summarize(tracker)
    assert "产品：洗衣机" in summary and "工单：SR20261123-0007" in summary
    assert "「给我讲个笑话」" in summary and len(summary) <= 300


def test_new_session_keeps_only_the_phone(recording, domain):
    tracker = tracker_at(recording, "给我讲个笑话", "action_handoff")
    tracker.slots.update(phone="13800138000", verified_ticket="SR20261123-0007", product="空调")
    _, events = run(ActionSessionStart(), tracker, domain)
    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "action"]
    assert slots_set(events)["phone"] == "13800138000"
    assert "verified_ticket" not in slots_set(events)
