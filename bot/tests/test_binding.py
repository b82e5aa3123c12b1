"""No ticket number at hand: the phone is proven with a one-time code the portal texts, the
code typed back binds the chat, and the customer's own tickets are used from then on.

bind_code_conversation (nobody bound): 查一下我的维修进度 / 不记得单号了 / 13800138000 / 12345 /
000000 (wrong) / 246810 / 帮我催一下
bind_code_cancel_conversation: 我要取消工单 / the 用手机验证码查询 button / 13800138000 / 没收到 /
246810 / 对
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import FakePortal, form_validation_tracker, load_recording, state_before, tracker_at
from fake_portal import CODE
from helpers import rendered, responses, run, slots_set
from rasa_sdk import Tracker

from actions.tickets import (
    ActionAskOtpCode,
    ActionAskTicketFormPhone,
    ActionTicketOperation,
    ActionTicketRequest,
    ValidateTicketForm,
)

FORM = "ticket_form"
PHONE = "13800138000"
BUTTON = '/inform{"proof_method": "code"}'


def _tickets(portal: FakePortal) -> None:
    portal.add_ticket(
        "SR20261120-0031",
        PHONE,
        status="departed",
        engineer_name="王师傅",
        engineer_phone="13600001111",
        eta_text="11月23日 16:00",
    )
    portal.add_ticket("SR20261118-0102", PHONE, status="arrived", customer="c2")
    portal.add_ticket("SR20261115-0009", PHONE, status="completed", customer="c2")


@pytest.fixture
def recording(portal: FakePortal) -> dict[str, Any]:
    _tickets(portal)
    return load_recording("bind_code_conversation")


@pytest.fixture
def cancel(portal: FakePortal) -> dict[str, Any]:
    _tickets(portal)
    return load_recording("bind_code_cancel_conversation")


def validate(recording: dict, text: str, domain: dict) -> tuple[list, list]:
    return run(ValidateTicketForm(), form_validation_tracker(recording, text, FORM), domain)


def code_sent(portal: FakePortal, recording: dict) -> None:
    """The text the recorded conversation got (the fake checks codes against what it sent)."""
    portal.texts.append((recording["sender_id"], PHONE))


# --- choosing the code ------------------------------------------------------------------


def test_no_number_at_hand_switches_to_the_code(recording, domain, portal):
    messages, events = validate(recording, "不记得单号了", domain)
    assert messages == []
    slots = slots_set(events)
    assert slots["proof_method"] == "code" and slots["requested_slot"] == "phone"
    # Only asked whether the chat is bound already; nothing is texted before the phone.
    assert portal.paths() == [f"GET /api/v1/bot/conversations/{recording['sender_id']}/customer"]


def test_the_ticket_question_offers_the_code_as_a_button(recording, domain, portal):
    from actions.tickets import ActionAskTicketNumber

    tracker = tracker_at(recording, "查一下我的维修进度", "action_ticket_request")
    tracker.slots["ticket_operation"] = "progress"
    [message], _ = run(ActionAskTicketNumber(), tracker, domain)
    assert message["response"] == "utter_ask_ticket_number"
    assert "手机验证码" in rendered(message, domain)
    buttons = domain["responses"]["utter_ask_ticket_number"][0]["buttons"]
    assert [b["payload"].format() for b in buttons] == [BUTTON]


def test_a_bound_customer_is_not_sent_a_code(recording, domain, portal):
    portal.bind(recording["sender_id"], customer="c1")
    messages, events = validate(recording, "不记得单号了", domain)
    assert "proof_method" not in slots_set(events)
    assert portal.texts == []


def test_a_bound_customer_saying_so_first_gets_their_tickets(recording, domain, portal):
    portal.bind(recording["sender_id"], customer="c1")
    tracker = tracker_at(recording, "查一下我的维修进度", "action_ticket_request")
    tracker.latest_message["text"] = "单号忘了，帮我查下进度"
    messages, events = run(ActionTicketRequest(), tracker, domain)
    assert responses(messages)[0] == "utter_open_tickets"
    assert slots_set(events)["proof_method"] is None


def test_the_button_chooses_the_code_too(cancel, domain, portal):
    messages, events = validate(cancel, BUTTON, domain)
    assert messages == []
    assert slots_set(events)["proof_method"] == "code"
    assert slots_set(events)["requested_slot"] == "phone"


def test_saying_so_in_the_first_message_goes_straight_to_the_code(recording, domain, portal):
    tracker = tracker_at(recording, "查一下我的维修进度", "action_ticket_request")
    tracker.latest_message["text"] = "单号忘了，帮我查下进度"
    _, events = run(ActionTicketRequest(), tracker, domain)
    assert slots_set(events)["proof_method"] == "code"
    assert slots_set(events)["ticket_step"] == "form"


def test_the_phone_question_says_what_the_phone_is_for(recording, domain, portal):
    tracker = state_before(recording, "13800138000")
    assert tracker.slots["proof_method"] == "code"
    [message], _ = run(ActionAskTicketFormPhone(), tracker, domain)
    assert message["response"] == "utter_ask_phone_for_code"
    assert "验证码" in rendered(message, domain)
    tracker.slots["proof_method"] = None
    [plain], _ = run(ActionAskTicketFormPhone(), tracker, domain)
    assert plain["response"] == "utter_ask_ticket_form_phone"


def test_a_ticket_number_typed_after_all_goes_back_to_number_and_phone(domain):
    tracker = Tracker(
        "s",
        {"proof_method": "code", "otp_code": None, "requested_slot": "otp_code"},
        {
            "text": "SR20261120-0031",
            "intent": {"name": "inform"},
            "entities": [{"entity": "ticket_number", "value": "SR20261120-0031"}],
        },
        [{"event": "user", "text": "SR20261120-0031"}],
        False,
        None,
        {"name": FORM},
        None,
    )
    events = asyncio.run(ValidateTicketForm()._switch_proof(tracker))
    assert slots_set(events) == {"proof_method": None, "otp_code": None, "otp_sent_to": None}


# --- the code ---------------------------------------------------------------------------


def test_the_code_is_texted_once_then_only_asked_for(recording, domain, portal):
    tracker = state_before(recording, "12345")
    tracker.slots["otp_sent_to"] = None
    [message], events = run(ActionAskOtpCode(), tracker, domain)
    assert rendered(message, domain) == (
        "验证码已发送到 138****8000，5 分钟内有效。请把短信里的 6 位数字发给我。"
    )
    assert portal.texts == [(recording["sender_id"], PHONE)]
    assert slots_set(events) == {"otp_sent_to": PHONE}
    tracker.slots["otp_sent_to"] = PHONE
    [again], events = run(ActionAskOtpCode(), tracker, domain)
    assert again["response"] == "utter_ask_otp_code" and events == []
    assert len(portal.texts) == 1


def test_a_code_sent_a_moment_ago_is_the_one_to_type(recording, domain, portal):
    code_sent(portal, recording)
    tracker = state_before(recording, "12345")
    tracker.slots["otp_sent_to"] = None
    [message], events = run(ActionAskOtpCode(), tracker, domain)
    assert (
        rendered(message, domain)
        == "刚刚已经给 138****8000 发过验证码了，请查看短信，把 6 位数字发给我。"
    )
    assert slots_set(events) == {"otp_sent_to": PHONE}


def test_a_code_that_cannot_be_sent_is_apologised_for(recording, domain, portal):
    portal.forced = (503, {})
    tracker = state_before(recording, "12345")
    tracker.slots["otp_sent_to"] = None
    [message], events = run(ActionAskOtpCode(), tracker, domain)
    assert message["response"] == "utter_otp_send_failed" and events == []
    # Not retried: a second text would be refused as too soon anyway.
    assert len(portal.requests) == 1


def test_not_six_digits_is_asked_again_without_asking_the_portal(recording, domain, portal):
    messages, events = validate(recording, "12345", domain)
    assert responses(messages) == ["utter_otp_format"]
    slots = slots_set(events)
    assert slots["otp_code"] is None and slots["requested_slot"] == "otp_code"
    assert portal.code_checks == []


def test_a_wrong_code_says_so_and_counts(recording, domain, portal):
    code_sent(portal, recording)
    messages, events = validate(recording, "000000", domain)
    assert responses(messages) == ["utter_otp_wrong"]
    slots = slots_set(events)
    assert slots["otp_code"] is None and slots["verify_failures"] == 1
    assert slots["requested_slot"] == "otp_code"
    assert portal.bound == {}


def test_three_wrong_codes_stop_and_offer_a_person(recording, domain, portal):
    code_sent(portal, recording)
    tracker = form_validation_tracker(recording, "000000", FORM)
    tracker.slots["verify_failures"] = 2
    messages, events = run(ValidateTicketForm(), tracker, domain)
    assert responses(messages) == ["utter_verify_give_up"]
    assert slots_set(events)["requested_slot"] is None
    assert slots_set(events)["ticket_operation"] is None


def test_the_right_code_binds_the_chat_and_lists_the_open_tickets(recording, domain, portal):
    code_sent(portal, recording)
    messages, events = validate(recording, CODE, domain)
    assert responses(messages) == [
        "utter_chat_bound",
        "utter_open_tickets",
        "utter_ticket_progress",
    ]
    assert rendered(messages[0], domain) == (
        "验证成功，已为您绑定手机号 138****8000，之后在这里就能直接查看您的工单。"
    )
    assert "SR20261120-0031" in rendered(messages[2], domain)
    slots = slots_set(events)
    assert slots["otp_code"] == "verified" and slots["requested_slot"] is None
    assert portal.code_checks == [
        {"conversation": recording["sender_id"], "phone": PHONE, "code": CODE}
    ]
    assert portal.bound[recording["sender_id"]][0] == "c1"


def test_once_bound_urging_needs_no_questions(recording, domain, portal):
    portal.bind(recording["sender_id"], customer="c1")
    tracker = tracker_at(recording, "帮我催一下", "action_ticket_request")
    messages, events = run(ActionTicketRequest(), tracker, domain)
    assert responses(messages) == ["utter_urged"]
    assert slots_set(events)["ticket_step"] == "done"


def test_did_not_get_it_asks_for_another(cancel, domain, portal):
    messages, events = validate(cancel, "没收到", domain)
    assert messages == []
    slots = slots_set(events)
    assert slots["otp_code"] is None and slots["otp_sent_to"] is None
    assert slots["requested_slot"] == "otp_code"


def test_bound_by_code_the_one_ticket_that_can_be_cancelled_is_taken(cancel, domain, portal):
    code_sent(portal, cancel)
    messages, events = validate(cancel, CODE, domain)
    assert responses(messages) == ["utter_chat_bound"]
    slots = slots_set(events)
    assert slots["ticket_number"] == slots["verified_ticket"] == "SR20261120-0031"
    assert slots["requested_slot"] == "cancel_confirmed"
    tracker = tracker_at(cancel, "对", "action_ticket_operation")
    messages, _ = run(ActionTicketOperation(), tracker, domain)
    assert responses(messages) == ["utter_cancelled"]
    assert portal.tickets["SR20261120-0031"].status == "cancelled"
