"""Fault report actions against a recorded conversation and a fake portal over HTTP.

The recordings in trackers/ were captured from a live `rasa run` + `rasa run actions`
(GET /conversations/<id>/tracker), every message sent with metadata {"channel": "web"}:
- fault_report_conversation: 你好 / 我的洗衣机坏了 / 坏了 / 不转了，一直响 / 1380013800 /
  13800138000 / 有 / 空调不制冷 / 13912345678 / 没了谢谢
- unsupported_product_conversation: 洗碗机坏了 / 洗碗机 / 冰箱 / 冰箱不制冷了 / 13700001111
Each test replays a recording up to the moment an action ran.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import FakePortal, form_validation_tracker, load_recording, tracker_at
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fault_report import ActionFileTicket, ValidateFaultReportForm, idempotency_key


@pytest.fixture(scope="module")
def recording() -> dict[str, Any]:
    return load_recording("fault_report_conversation")


def run(action: Action, tracker: Tracker, domain: dict) -> tuple[list[dict], list[dict]]:
    """Run an action the way the action server does; return (bot messages, events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def slots_set(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def rendered(message: dict, domain: dict) -> str:
    """The text the customer sees: the domain response filled with the message's values."""
    template = domain["responses"][message["response"]][0]["text"]
    return template.format_map({k: v for k, v in message.items() if k != "response"})


# --- collecting the report -------------------------------------------------------------

def test_product_named_first_is_kept_and_vague_report_asks_for_the_fault(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "我的洗衣机坏了", "fault_report_form"), domain
    )
    assert messages == []
    assert slots_set(events) == {"product": "洗衣机"}  # no fault_description: 坏了 says nothing


def test_symptom_in_first_message_becomes_the_fault_description(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "空调不制冷", "fault_report_form"), domain
    )
    assert messages == []
    assert slots_set(events) == {"product": "空调", "fault_description": "空调不制冷"}


def test_vague_answer_to_the_fault_question_is_reasked(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "坏了", "fault_report_form"), domain
    )
    assert [m["response"] for m in messages] == ["utter_fault_description_too_vague"]
    assert "不转" in rendered(messages[0], domain)
    assert slots_set(events) == {"fault_description": None}


def test_concrete_answer_fills_the_fault_description(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "不转了，一直响", "fault_report_form"), domain
    )
    assert messages == []
    assert slots_set(events) == {"fault_description": "不转了，一直响"}


def test_unsupported_product_is_refused_with_the_choices(domain):
    recording = load_recording("unsupported_product_conversation")
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "洗碗机", "fault_report_form"), domain
    )
    assert [m["response"] for m in messages] == ["utter_product_not_supported"]
    assert rendered(messages[0], domain).startswith("抱歉，“洗碗机”暂时不在线上报修范围内")
    # 洗碗机坏了 had been taken as the fault; it is asked again for the product chosen next.
    assert slots_set(events) == {"product": None, "fault_description": None}


def test_invalid_phone_is_reasked_with_an_example(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "1380013800", "fault_report_form"), domain
    )
    assert [rendered(m, domain) for m in messages] == [
        "手机号好像不对，请输入11位手机号，例如 13800138000"
    ]
    assert slots_set(events) == {"phone": None}


def test_valid_phone_is_accepted(recording, domain):
    messages, events = run(
        ValidateFaultReportForm(), form_validation_tracker(recording, "13800138000", "fault_report_form"), domain
    )
    assert messages == []
    assert slots_set(events) == {"phone": "13800138000"}


# --- filing the ticket -----------------------------------------------------------------

def test_ticket_is_filed_and_its_number_is_in_the_reply(recording, domain, portal: FakePortal):
    tracker = tracker_at(recording, "13800138000", "action_file_ticket")
    messages, events = run(ActionFileTicket(), tracker, domain)

    [request] = portal.requests
    assert request["body"] == {
        "type": "repair",
        "product": "洗衣机",
        "fault_description": "不转了，一直响",
        "phone": "13800138000",
        "channel": "web",
        "conversation_id": recording["sender_id"],
    }
    assert request["headers"]["idempotency-key"] == idempotency_key(tracker)
    assert [rendered(m, domain) for m in messages] == [
        "已为您登记报修，工单号 SR20261123-0001。我们会在 10 分钟内响应，"
        "您可以随时发送“查进度”了解进展。"
    ]
    assert slots_set(events) == {"product": None, "fault_description": None, "phone": None}


def test_retried_run_reuses_the_key_and_gets_the_same_ticket(recording, domain, portal):
    first, _ = run(ActionFileTicket(), tracker_at(recording, "13800138000", "action_file_ticket"), domain)
    retry, _ = run(ActionFileTicket(), tracker_at(recording, "13800138000", "action_file_ticket"), domain)

    keys = {r["headers"]["idempotency-key"] for r in portal.requests}
    assert len(portal.requests) == 2 and len(keys) == 1
    assert len(portal.by_key) == 1
    assert first[0]["ticket_number"] == retry[0]["ticket_number"] == "SR20261123-0001"


def test_next_report_in_the_same_conversation_gets_a_new_key(recording, domain, portal):
    first = tracker_at(recording, "13800138000", "action_file_ticket")
    second = tracker_at(recording, "13912345678", "action_file_ticket")
    assert idempotency_key(first) != idempotency_key(second)

    run(ActionFileTicket(), first, domain)
    messages, _ = run(ActionFileTicket(), second, domain)
    assert messages[0]["ticket_number"] == "SR20261123-0002"
    assert portal.requests[1]["body"]["product"] == "空调"


def test_channel_defaults_to_rest_without_metadata(recording, domain, portal):
    tracker = tracker_at(recording, "13800138000", "action_file_ticket")
    tracker.latest_message["metadata"] = None
    run(ActionFileTicket(), tracker, domain)
    assert portal.requests[0]["body"]["channel"] == "rest"


def test_portal_down_apologises_without_a_ticket_number(recording, domain, portal_down):
    messages, events = run(
        ActionFileTicket(), tracker_at(recording, "13800138000", "action_file_ticket"), domain
    )
    assert [m["response"] for m in messages] == ["utter_ticket_failed"]
    text = rendered(messages[0], domain)
    assert "抱歉" in text and "工单号" not in text
    assert slots_set(events) == {"product": None, "fault_description": None, "phone": None}


def test_refused_answer_is_asked_again(recording, domain, portal):
    portal.forced = (422, {"message": "invalid", "errors": [
        {"field": "phone", "message_zh": "该手机号已停机", "message_en": "number not in service"}]})
    messages, events = run(
        ActionFileTicket(), tracker_at(recording, "13800138000", "action_file_ticket"), domain
    )
    assert [rendered(m, domain) for m in messages] == ["抱歉，报修信息没有通过校验：该手机号已停机"]
    assert slots_set(events) == {"phone": None}
    assert {"event": "followup", "name": "fault_report_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
