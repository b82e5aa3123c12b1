"""Progress, urging, cancelling, rescheduling and rating, against recorded conversations and
a fake portal over HTTP that knows a few tickets of two customers (same phone).

ticket_conversation (nobody bound): 查进度 / SR20261120-0031 / 13900000000 (wrong phone) /
SR20261120-0031 / 13800138000 / 催一下 / 改到明天下午 / 取消SR20261118-0102 (engineer on site) /
取消工单 / SR20261120-0031 / 对 / 评价一下 / SR20261115-0009 / 5分 / 师傅很专业
bound_ticket_conversation (the conversation is bound to the customer): 你好 / 查进度 /
取消工单 / 不取消了

Number + phone proves nothing, not even the progress (issue 19): the ticket's check code or a
one-time code that binds the chat is asked for first (the portal answers 403 alike for every
number and phone without it); the recorded unbound conversation is replayed with the chat
bound, or the check code typed, after that.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakePortal, form_validation_tracker, load_recording, tracker_at
from helpers import rendered, responses, run, slots_set

from actions.portal_client import TicketView
from actions.session import ActionGreet
from actions.tickets import (
    ActionAskTicketNumber,
    ActionTicketOperation,
    ActionTicketRequest,
    ValidateTicketForm,
    perform,
)
from actions.time_windows import parse_window

FORM = "ticket_form"


def _tickets(portal: FakePortal) -> None:
    portal.add_ticket(
        "SR20261120-0031",
        "13800138000",
        status="departed",
        engineer_name="王师傅",
        engineer_phone="13600001111",
        eta_text="11月23日 16:00",
    )
    portal.add_ticket("SR20261118-0102", "13800138000", status="arrived", customer="c2")
    portal.add_ticket("SR20261115-0009", "13800138000", status="completed", customer="c2")


@pytest.fixture
def recording(portal: FakePortal) -> dict[str, Any]:
    _tickets(portal)
    return load_recording("ticket_conversation")


@pytest.fixture
def bound(portal: FakePortal) -> dict[str, Any]:
    _tickets(portal)
    recording = load_recording("bound_ticket_conversation")
    portal.bind(recording["sender_id"])
    return recording


def validate(recording: dict, text: str, domain: dict, nth: int = 1) -> tuple[list, list]:
    return run(ValidateTicketForm(), form_validation_tracker(recording, text, FORM, nth), domain)


def lookups(portal: FakePortal) -> list[dict]:
    return [r["body"] for r in portal.requests if r["route"] == "POST /tickets/lookup"]


# --- proving the ticket is the customer's ----------------------------------------------


def test_progress_without_a_number_opens_the_form(recording, domain, portal):
    messages, events = run(
        ActionTicketRequest(), tracker_at(recording, "查进度", "action_ticket_request"), domain
    )
    assert messages == []
    assert slots_set(events)["ticket_step"] == "form"
    assert slots_set(events)["ticket_operation"] == "progress"


def test_nothing_is_revealed_before_the_phone(recording, domain, portal):
    messages, events = validate(recording, "SR20261120-0031", domain)
    assert messages == []
    assert slots_set(events)["ticket_number"] == "SR20261120-0031"
    assert slots_set(events)["requested_slot"] == "phone"
    assert "verified_ticket" not in slots_set(events)


def test_a_phone_that_does_not_match_is_asked_for_the_code_like_any_other(
    recording, domain, portal
):
    messages, events = validate(recording, "13900000000", domain)
    [message] = messages
    assert "工单校验码" in rendered(message, domain)
    slots = slots_set(events)
    assert slots["proof_method"] == "code" and slots["requested_slot"] == "otp_code"
    assert lookups(portal) == [{"number": "SR20261120-0031", "phone": "13900000000"}]
    assert portal.requests[-1]["chat"] == recording["sender_id"]


def test_number_and_phone_ask_for_the_check_code_before_anything_is_said(recording, domain, portal):
    """Issue 19: 查一下工单 … 的进度 with the phone alone answered the status in the chat."""
    messages, events = validate(recording, "13800138000", domain)
    [message] = messages
    text = rendered(message, domain)
    assert "工单校验码" in text and "短信验证码" in text
    assert "已出发" not in text and "王师傅" not in text
    slots = slots_set(events)
    assert slots["verified_ticket"] == "SR20261120-0031"
    assert slots["proof_method"] == "code" and slots["requested_slot"] == "otp_code"


def test_three_wrong_codes_stop_and_offer_a_person(recording, domain, portal):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    tracker = tracker_at(recording, "对", "action_ticket_operation")
    tracker.slots.update(
        ticket_number="SR20261120-0031",
        verified_ticket="SR20261120-0031",
        phone="13800138000",
        proof_method="code",
        otp_code="999999",
        verify_failures=2,
    )
    dispatcher = CollectingDispatcher()
    stop = asyncio.run(ValidateTicketForm()._bind(dispatcher, tracker, domain, []))
    assert stop is True
    assert responses(dispatcher.messages) == ["utter_verify_give_up"]


def test_progress_is_said_only_with_the_check_code(recording, domain, portal):
    tracker = tracker_at(recording, "13800138000", "action_ticket_operation")
    messages, _ = run(ActionTicketOperation(), tracker, domain)
    assert responses(messages) == ["utter_verify_give_up"]
    assert "已出发" not in rendered(messages[0], domain)
    tracker = tracker_at(recording, "13800138000", "action_ticket_operation")
    tracker.slots.update(proof_method="code", otp_code="check:135790")
    messages, events = run(ActionTicketOperation(), tracker, domain)
    [message] = messages
    text = rendered(message, domain)
    assert text.startswith("工单 SR20261120-0031（洗衣机维修）当前状态：已出发。")
    assert "负责师傅：王师傅，电话 13600001111。" in text
    assert text.endswith("师傅已经在路上，请保持电话畅通。")
    assert slots_set(events)["ticket_step"] == "done"


def test_progress_names_the_engineer_once_the_chat_is_bound(recording, domain, portal):
    portal.bind(recording["sender_id"])
    tracker = tracker_at(recording, "13800138000", "action_ticket_operation")
    [message], _ = run(ActionTicketOperation(), tracker, domain)
    text = rendered(message, domain)
    assert "负责师傅：王师傅，电话 13600001111。" in text and "预计 11月23日 16:00 前上门。" in text


def test_an_english_chat_hears_the_eta_in_english(recording, domain, portal):
    portal.tickets["SR20261120-0031"].eta_text_en = "23 Nov 16:00"
    portal.bind(recording["sender_id"])
    tracker = tracker_at(recording, "13800138000", "action_ticket_operation")
    tracker.slots["language"] = "en"
    [message], _ = run(ActionTicketOperation(), tracker, domain)
    text = rendered(message, domain, {"language": "en"})
    assert "23 Nov 16:00" in text and "11月23日" not in text


def test_progress_says_the_portals_one_visit_sentence(recording, domain, portal):
    """Issue 19: the bot said 12月9日 13:00-18:00 while the web page said another day; with the
    portal's visit sentence it says that one, not an ETA and a window of its own."""
    said = "已约定 12月9日（周三）下午 13:00–18:00，预计 13:05 到达"
    portal.tickets["SR20261120-0031"].visit_text = said
    portal.tickets["SR20261120-0031"].preferred_time = "2026-12-09 13:00-18:00"
    portal.bind(recording["sender_id"])
    tracker = tracker_at(recording, "13800138000", "action_ticket_operation")
    [message], _ = run(ActionTicketOperation(), tracker, domain)
    text = rendered(message, domain)
    assert f"上门时间：{said}。" in text
    assert "前上门" not in text and "预约上门时间" not in text


# --- operations ------------------------------------------------------------------------


def test_urging_needs_proof_then_happens_at_once(recording, domain, portal):
    tracker = tracker_at(recording, "催一下", "action_ticket_request")
    messages, events = run(ActionTicketRequest(), tracker, domain)
    # The ticket was only named with the phone before: nothing is sent, the ticket is asked.
    assert portal.tickets["SR20261120-0031"].events == []
    assert slots_set(events)["ticket_step"] == "form" and slots_set(events)["ticket_number"] is None
    portal.bind(recording["sender_id"])
    messages, events = run(
        ActionTicketRequest(), tracker_at(recording, "催一下", "action_ticket_request"), domain
    )
    assert responses(messages) == ["utter_urged"]
    assert portal.tickets["SR20261120-0031"].events == [{"action": "urge", "phone": "13800138000"}]
    assert slots_set(events)["ticket_step"] == "done"


def test_reschedule_by_number_and_phone_asks_for_a_code_first(recording, domain, portal):
    tracker = tracker_at(recording, "改到明天下午", "action_ticket_request")
    tracker.latest_message["entities"] = [{"entity": "ticket_number", "value": "SR20261120-0031"}]
    messages, events = run(ActionTicketRequest(), tracker, domain)
    [message] = messages
    assert "短信验证码" in rendered(message, domain)
    slots = slots_set(events)
    assert slots["proof_method"] == "code" and slots["ticket_step"] == "form"
    assert slots["preferred_time"]  # kept for after the code
    assert portal.tickets["SR20261120-0031"].events == []


def test_reschedule_reads_the_new_time_from_the_same_message(recording, domain, portal):
    portal.bind(recording["sender_id"])  # the chat proved the phone by a one-time code
    messages, _ = run(
        ActionTicketRequest(),
        tracker_at(recording, "改到明天下午", "action_ticket_request"),
        domain,
    )
    window = parse_window("明天下午", sender="c1")
    assert portal.tickets["SR20261120-0031"].events[0]["preferred_time"] == window.canonical
    assert responses(messages) == ["utter_rescheduled"]
    assert window.shown in rendered(messages[0], domain)


def test_cancel_after_arrival_is_refused_with_the_rule(recording, domain, portal):
    portal.bind(recording["sender_id"], customer="c2")
    messages, events = run(
        ActionTicketRequest(),
        tracker_at(recording, "取消SR20261118-0102", "action_ticket_request"),
        domain,
    )
    assert responses(messages) == ["utter_ticket_not_allowed", "utter_rule_cancel"]
    assert "已到场" in rendered(messages[0], domain)
    assert "师傅到场之前" in rendered(messages[1], domain)
    assert portal.tickets["SR20261118-0102"].events == []
    assert slots_set(events)["ticket_step"] == "done"


def test_cancel_asks_for_a_code_then_confirmation_then_cancels(recording, domain, portal):
    messages, events = validate(recording, "SR20261120-0031", domain, nth=3)
    assert "短信验证码" in rendered(messages[-1], domain)
    assert slots_set(events)["proof_method"] == "code"
    assert slots_set(events)["requested_slot"] == "otp_code"
    portal.bind(recording["sender_id"])  # the code was right (test_binding.py)
    _, events = validate(recording, "对", domain)
    assert slots_set(events)["cancel_confirmed"] is True
    messages, _ = run(
        ActionTicketOperation(), tracker_at(recording, "对", "action_ticket_operation"), domain
    )
    assert responses(messages) == ["utter_cancelled"]
    assert portal.tickets["SR20261120-0031"].status == "cancelled"
    assert portal.tickets["SR20261120-0031"].events[0]["reason"]


def test_portal_refusal_is_explained_with_its_message(recording, domain, portal):
    portal.tickets["SR20261120-0031"].status = "arrived"  # the engineer got there meanwhile
    portal.bind(recording["sender_id"])
    tracker = tracker_at(recording, "对", "action_ticket_operation")
    messages, _ = run(ActionTicketOperation(), tracker, domain)
    assert responses(messages) == ["utter_ticket_action_refused", "utter_rule_cancel"]
    assert rendered(messages[0], domain) == "抱歉，工单当前状态为「已到场」，不能执行「取消」。"


def test_rating_asks_for_a_completed_ticket_then_score_and_comment(recording, domain, portal):
    messages, events = run(
        ActionTicketRequest(), tracker_at(recording, "评价一下", "action_ticket_request"), domain
    )
    # The ticket proven before was cancelled: it cannot be rated, so the form asks which.
    assert slots_set(events)["ticket_step"] == "form" and slots_set(events)["ticket_number"] is None
    _, events = validate(recording, "SR20261115-0009", domain)
    assert slots_set(events)["verified_ticket"] == "SR20261115-0009"
    # Rating moves the network's money: number + phone is not enough, a code comes first.
    assert slots_set(events)["requested_slot"] == "otp_code"
    portal.bind(recording["sender_id"], customer="c2")
    _, events = validate(recording, "5分", domain)
    assert slots_set(events)["rating_score"] == 5
    _, events = validate(recording, "师傅很专业", domain)
    assert slots_set(events)["rating_comment"] == "师傅很专业"
    messages, _ = run(
        ActionTicketOperation(),
        tracker_at(recording, "师傅很专业", "action_ticket_operation"),
        domain,
    )
    assert (
        rendered(messages[0], domain)
        == "感谢您的评价！工单 SR20261115-0009 已记录 5 分，我们会继续改进服务。"
    )
    assert portal.tickets["SR20261115-0009"].events[0] == {
        "action": "evaluate",
        "phone": "13800138000",
        "score": 5,
        "comment": "师傅很专业",
    }


# --- a customer bound to the conversation ----------------------------------------------


def test_bound_customer_is_greeted_by_name(bound, domain, portal):
    [message], _ = run(ActionGreet(), tracker_at(bound, "你好", "action_greet"), domain)
    assert rendered(message, domain).startswith("张女士您好")


def test_bound_customer_gets_their_open_tickets_without_questions(bound, domain, portal):
    messages, events = run(
        ActionTicketRequest(), tracker_at(bound, "查进度", "action_ticket_request"), domain
    )
    assert responses(messages) == ["utter_open_tickets", "utter_ticket_progress"]
    assert "SR20261120-0031" in rendered(messages[1], domain)
    assert lookups(portal) == []  # another customer's tickets are never shown
    assert slots_set(events)["ticket_step"] == "done"


def test_bound_customer_cancels_their_only_open_ticket_after_confirming(bound, domain, portal):
    _, events = run(
        ActionTicketRequest(), tracker_at(bound, "取消工单", "action_ticket_request"), domain
    )
    assert slots_set(events)["verified_ticket"] == "SR20261120-0031"
    assert slots_set(events)["ticket_step"] == "form"
    _, events = validate(bound, "不取消了", domain)
    assert slots_set(events)["cancel_confirmed"] is False
    messages, _ = run(
        ActionTicketOperation(), tracker_at(bound, "不取消了", "action_ticket_operation"), domain
    )
    assert responses(messages) == ["utter_cancel_kept"]
    assert portal.tickets["SR20261120-0031"].status == "departed"


def test_ticket_question_offers_the_bound_customers_tickets(bound, domain, portal):
    tracker = tracker_at(bound, "取消工单", "action_ticket_request")
    tracker.slots["ticket_operation"] = "urge"
    portal.add_ticket("SR20261121-0001", "13800138000", status="new")
    [message], _ = run(ActionAskTicketNumber(), tracker, domain)
    assert message["response"] == "utter_ask_ticket_number_yours"
    assert [b["payload"] for b in message["buttons"]] == [
        '/inform{"ticket_number": "SR20261120-0031"}',
        '/inform{"ticket_number": "SR20261121-0001"}',
    ]


def test_operation_on_an_unproven_ticket_does_nothing(recording, domain, portal):
    tracker = tracker_at(recording, "查进度", "action_ticket_request")
    tracker.slots.update(
        ticket_operation="cancel", ticket_number="SR20261120-0031", verified_ticket=None
    )
    messages, _ = run(ActionTicketOperation(), tracker, domain)
    assert messages == [] and portal.requests == []


def test_perform_progress_needs_no_portal_write(domain, portal):
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    view = TicketView(
        number="SR1",
        type_label="维修",
        product="冰箱",
        status="new",
        status_label="待受理",
        next_step="客服会尽快受理。",
    )
    dispatcher = CollectingDispatcher()
    tracker = Tracker("s", {}, {}, [], False, None, {}, None)
    asyncio.run(perform(dispatcher, domain, tracker, "progress", view))
    assert (
        rendered(dispatcher.messages[0], domain)
        == "工单 SR1（冰箱维修）当前状态：待受理。客服会尽快受理。"
    )
    assert portal.requests == []


def test_a_greeting_instead_of_a_ticket_number_starts_over(recording, domain, portal):
    from actions.tickets import ActionTicketOperation, ValidateTicketForm

    tracker = tracker_at(recording, "SR20261120-0031", "ticket_form")
    tracker.latest_message = {"text": "你好", "intent": {"name": "greet"}}
    tracker.slots["requested_slot"] = "ticket_number"
    events = [e for e in tracker.events]
    events.append({"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}})
    tracker.events = events
    messages, result = run(ValidateTicketForm(), tracker, domain)
    assert messages == [] and slots_set(result)["switch_to"] == "greet"
    tracker.slots.update(switch_to="greet", requested_slot=None)
    _, after = run(ActionTicketOperation(), tracker, domain)
    assert after[-1] == {"event": "followup", "timestamp": None, "name": "action_greet"}


def test_changing_ones_mind_at_the_cancel_question_keeps_the_ticket(recording, domain, portal):
    from actions.tickets import _KEEP_TICKET

    assert _KEEP_TICKET.search("算了不取消了，还是来修吧")
    assert _KEEP_TICKET.search("先不取消")
    assert not _KEEP_TICKET.search("确定取消")


# --- the ticket's check code instead of the texted code --------------------------------


def test_the_check_code_typed_for_the_code_proves_the_ticket_and_cancels_it(
    recording, domain, portal
):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    tracker = tracker_at(recording, "对", "action_ticket_operation")
    tracker.slots.update(
        ticket_operation="cancel",
        ticket_number="SR20261120-0031",
        verified_ticket="SR20261120-0031",
        phone="13800138000",
        proof_method="code",
        otp_code="135790",
        cancel_confirmed=True,
    )
    dispatcher = CollectingDispatcher()
    events: list = []
    stop = asyncio.run(ValidateTicketForm()._bind(dispatcher, tracker, domain, events))
    assert stop is False
    assert slots_set(events) == {"otp_code": "check:135790", "verify_failures": 0}
    assert rendered(dispatcher.messages[0], domain) == "校验码正确。"
    assert not [r for r in portal.requests if r["route"] == "POST /verify"]  # no binding
    messages, _ = run(ActionTicketOperation(), tracker, domain)
    assert responses(messages) == ["utter_cancelled"]
    assert portal.tickets["SR20261120-0031"].status == "cancelled"
    [action] = [r for r in portal.requests if r["route"].endswith("/actions")]
    assert action["body"]["check_code"] == "135790"


def test_a_wrong_check_code_is_tried_as_the_texted_code(recording, domain, portal):
    import asyncio

    from rasa_sdk.executor import CollectingDispatcher

    tracker = tracker_at(recording, "对", "action_ticket_operation")
    tracker.slots.update(
        ticket_operation="cancel",
        ticket_number="SR20261120-0031",
        verified_ticket="SR20261120-0031",
        phone="13800138000",
        proof_method="code",
        otp_code="999999",
    )
    events: list = []
    asyncio.run(ValidateTicketForm()._bind(CollectingDispatcher(), tracker, domain, events))
    assert [r["route"] for r in portal.requests][-2:] == ["POST /tickets/lookup", "POST /verify"]
    assert slots_set(events)["otp_code"] is None and slots_set(events)["verify_failures"] == 1
