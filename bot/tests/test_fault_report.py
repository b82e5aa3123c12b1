"""Fault report actions against recorded conversations and a fake portal over HTTP.

The recordings in trackers/ were captured from a live `rasa run` + `rasa run actions`
(record_trackers.py), every message sent with metadata {"channel": "web"}:
- fault_report_conversation: 你好 / 我的洗衣机坏了 / 坏了 / 不转了，一直响 / 1380013800 /
  13800138000 / 电话写错了，是13800138001 / 对的 / 有 / 空调不制冷 / 13912345678 /
  保修期多久 / 确认 / 没了谢谢
- unsupported_product_conversation: 洗碗机坏了 / 洗碗机 / 冰箱 / 冰箱不制冷了 / 13700001111 /
  算了不报了
- bound_fault_report_conversation (a customer bound to the conversation): 热水器不出热水 /
  上海市浦东新区世纪大道100号 / 地址写错了 / 上海市徐汇区漕溪北路398号2号楼1503室 / (确认提交)
Each test replays a recording up to the moment an action ran.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakePortal, form_validation_tracker, load_recording, state_before, tracker_at
from helpers import rendered, run, slots_set
from rasa_sdk.executor import CollectingDispatcher

from actions.common import idempotency_key
from actions.fault_report import ActionFileTicket, ValidateFaultReportForm
from actions.intake import ActionAskAddress, ActionAskSummary

FORM = "fault_report_form"


# Recorded before the form asked where and when: both answers are put in after the first
# message, as if given with it.
ADDRESS, WINDOW = "上海市浦东新区张江路88号3栋1201室", "2026-11-25 13:00-18:00"


def with_where_and_when(recording: dict[str, Any]) -> dict[str, Any]:
    events = list(recording["events"])
    first = next(i for i, e in enumerate(events) if e.get("event") == "user")
    extra = [
        {"event": "slot", "timestamp": events[first]["timestamp"], "name": name, "value": value}
        for name, value in (
            ("address", ADDRESS),
            ("preferred_time", WINDOW),
            ("fault_started", "昨天"),
        )
    ]
    return {**recording, "events": events[: first + 1] + extra + events[first + 1 :]}


@pytest.fixture(scope="module")
def recording() -> dict[str, Any]:
    return with_where_and_when(load_recording("fault_report_conversation"))


def validate(recording: dict, text: str, domain: dict, nth: int = 1) -> tuple[list, list]:
    return run(
        ValidateFaultReportForm(), form_validation_tracker(recording, text, FORM, nth), domain
    )


# --- collecting the report -------------------------------------------------------------


def test_product_named_first_is_kept_and_vague_report_asks_for_the_fault(recording, domain, portal):
    messages, events = validate(recording, "我的洗衣机坏了", domain)
    assert messages == []
    slots = slots_set(events)
    assert slots["product"] == "洗衣机" and "fault_description" not in slots
    assert slots["requested_slot"] == "fault_description"  # 坏了 says nothing


def test_symptom_in_first_message_becomes_the_fault_description(recording, domain, portal):
    messages, events = validate(recording, "空调不制冷", domain)
    assert messages == []
    assert slots_set(events)["fault_description"] == "空调不制冷"
    assert slots_set(events)["product"] == "空调"


def test_vague_answer_to_the_fault_question_is_reasked(recording, domain, portal):
    messages, events = validate(recording, "坏了", domain)
    assert [m["response"] for m in messages] == ["utter_fault_description_too_vague"]
    assert "不转" in rendered(messages[0], domain)
    assert slots_set(events)["fault_description"] is None


def test_concrete_answer_fills_the_fault_description(recording, domain, portal):
    messages, events = validate(recording, "不转了，一直响", domain)
    assert messages == []
    assert slots_set(events)["fault_description"] == "不转了，一直响"
    assert slots_set(events)["requested_slot"] == "phone"


def test_unsupported_product_is_refused_with_the_choices(domain, portal):
    recording = load_recording("unsupported_product_conversation")
    messages, events = validate(recording, "洗碗机", domain)
    assert [m["response"] for m in messages] == ["utter_product_not_supported"]
    assert rendered(messages[0], domain).startswith("抱歉，“洗碗机”暂时不在线上服务范围内")
    # 洗碗机坏了 had been taken as the fault; it is asked again for the product chosen next.
    assert slots_set(events)["product"] is None and slots_set(events)["fault_description"] is None


def test_invalid_phone_is_reasked_with_an_example(recording, domain, portal):
    messages, events = validate(recording, "1380013800", domain)
    assert [rendered(m, domain) for m in messages] == [
        "手机号好像不对，请输入11位手机号，例如 13800138000"
    ]
    assert slots_set(events)["phone"] is None


def test_valid_phone_leads_to_the_summary(recording, domain, portal):
    messages, events = validate(recording, "13800138000", domain)
    assert messages == []
    assert slots_set(events)["phone"] == "13800138000"
    assert slots_set(events)["requested_slot"] == "summary_confirmed"


def test_summary_lists_the_answers_and_reads_as_a_confirmation(recording, domain, portal):
    # The ask actions run inside the form; the state they saw is the one the next message met.
    tracker = state_before(recording, "电话写错了，是13800138001")
    [message], _ = run(ActionAskSummary(), tracker, domain)
    text = rendered(message, domain)
    assert text.startswith("请确认报修信息")
    assert "洗衣机" in text and "不转了，一直响" in text and "13800138000" in text
    # The widget test answers by keywords; the summary must not look like another question.
    assert not any(word in text for word in ("手机", "电话", "产品", "电器", "故障", "问题"))
    assert [b["payload"] for b in domain["responses"][message["response"]][0]["buttons"]] == [
        "/affirm",
        "/deny",
    ]


def test_correction_at_the_summary_replaces_the_phone(recording, domain, portal):
    messages, events = validate(recording, "电话写错了，是13800138001", domain)
    assert [m["response"] for m in messages] == ["utter_correction_ack"]
    slots = slots_set(events)
    assert slots["phone"] == "13800138001"
    assert slots["summary_confirmed"] is None and slots["requested_slot"] == "summary_confirmed"


def test_yes_confirms_the_summary(recording, domain, portal):
    messages, events = validate(recording, "对的", domain)
    assert messages == []
    assert slots_set(events)["summary_confirmed"] is True
    assert slots_set(events)["requested_slot"] is None


def test_faq_question_mid_form_is_not_taken_as_an_answer(recording, domain, portal):
    # The summary was open (the phone was known from the first report); the form leaves
    # the FAQ message to the rules.
    _, events = validate(recording, "保修期多久", domain)
    assert {k: v for k, v in slots_set(events).items() if k != "requested_slot"} == {}
    # Back from the FAQ answer, the same message is not read again.
    back = tracker_at(recording, "保修期多久", FORM)
    _, events = run(ValidateFaultReportForm(), back, domain)
    # The second report of the recording has no address yet: that question comes back.
    assert slots_set(events) == {"requested_slot": "address"}


def test_giving_up_ends_the_form_without_a_ticket(domain, portal):
    recording = load_recording("unsupported_product_conversation")
    messages, events = validate(recording, "算了不报了", domain)
    assert [m["response"] for m in messages] == ["utter_intake_stopped"]
    assert slots_set(events)["requested_slot"] is None
    tracker = tracker_at(recording, "算了不报了", "action_file_ticket")
    messages, _ = run(ActionFileTicket(), tracker, domain)
    assert messages == [] and not [r for r in portal.requests if r["route"] == "POST /tickets"]


# --- a customer bound to the conversation ----------------------------------------------


@pytest.fixture
def bound(portal: FakePortal) -> dict[str, Any]:
    recording = load_recording("bound_fault_report_conversation")
    portal.bind(recording["sender_id"])
    events = list(recording["events"])
    first = next(i for i, e in enumerate(events) if e.get("event") == "user")
    started = {
        "event": "slot",
        "timestamp": events[first]["timestamp"],
        "name": "fault_started",
        "value": "昨天",
    }
    return {**recording, "events": events[: first + 1] + [started] + events[first + 1 :]}


def test_bound_customer_is_asked_for_the_address_but_not_the_phone(bound, domain, portal):
    messages, events = validate(bound, "热水器不出热水", domain)
    slots = slots_set(events)
    assert slots["phone"] == "13800138000"  # from the customer's profile
    assert slots["requested_slot"] == "address"
    tracker = tracker_at(bound, "上海市浦东新区世纪大道100号", FORM)
    [ask], _ = run(ActionAskAddress(), tracker, domain)
    assert ask["response"] == "utter_ask_address_saved"
    assert ask["buttons"] == [
        {"title": "家：上海市浦东新区世纪大道100号", "payload": "上海市浦东新区世纪大道100号"}
    ]


def test_address_correction_asks_for_the_address_again(bound, domain, portal):
    messages, events = validate(bound, "地址写错了", domain)
    assert [m["response"] for m in messages] == ["utter_correction_ack"]
    assert slots_set(events)["address"] is None
    assert slots_set(events)["requested_slot"] == "address"


def test_bound_report_is_filed_with_the_corrected_address(bound, domain, portal):
    tracker = tracker_at(bound, "/affirm", "action_file_ticket")
    messages, _ = run(ActionFileTicket(), tracker, domain)
    [request] = [r for r in portal.requests if r["route"] == "POST /tickets"]
    assert request["body"]["address"] == "上海市徐汇区漕溪北路398号2号楼1503室"
    assert request["body"]["phone"] == "13800138000" and request["body"]["product"] == "热水器"
    assert "SR20261123-0001" in rendered(messages[0], domain)


# --- filing the ticket -----------------------------------------------------------------


def test_ticket_is_filed_and_the_reply_says_number_promise_and_how_to_follow(
    recording, domain, portal
):
    tracker = tracker_at(recording, "对的", "action_file_ticket")
    messages, events = run(ActionFileTicket(), tracker, domain)

    [request] = [r for r in portal.requests if r["route"] == "POST /tickets"]
    assert request["body"] == {
        "type": "repair",
        "product": "洗衣机",
        "fault_description": "不转了，一直响",
        "phone": "13800138001",
        "address": ADDRESS,
        "preferred_time": WINDOW,
        "fault_started": "昨天",
    }
    # The chat is the route's: the portal takes the channel and the customer from it.
    assert request["chat"] == recording["sender_id"]
    assert request["headers"]["idempotency-key"] == idempotency_key(tracker, FORM)
    assert [rendered(m, domain) for m in messages] == [
        "已为您登记报修，工单号 SR20261123-0001。客服将在 10 分钟内响应，请保持电话畅通。"
        "之后随时发送“查进度”，就能看到处理进展。",
        "工单校验码：246001。以后查询、取消、改约或评价这张工单时，请连同单号和手机号一起提供；"
        "请勿告诉他人。",
    ]
    slots = slots_set(events)
    assert slots["product"] is None and slots["summary_confirmed"] is None
    # Following it up right away needs no questions.
    assert slots["verified_ticket"] == "SR20261123-0001" and "phone" not in slots


def test_promise_comes_from_the_portal_when_it_publishes_one(recording, domain, portal):
    portal.sla_promise = {"text_zh": "30 分钟内回电"}
    messages, _ = run(
        ActionFileTicket(), tracker_at(recording, "对的", "action_file_ticket"), domain
    )
    assert "客服将在 30 分钟内回电" in rendered(messages[0], domain)


def test_retried_run_reuses_the_key_and_gets_the_same_ticket(recording, domain, portal):
    first, _ = run(ActionFileTicket(), tracker_at(recording, "对的", "action_file_ticket"), domain)
    retry, _ = run(ActionFileTicket(), tracker_at(recording, "对的", "action_file_ticket"), domain)

    creations = [r for r in portal.requests if r["route"] == "POST /tickets"]
    assert len(creations) == 2 and len({r["headers"]["idempotency-key"] for r in creations}) == 1
    assert len(portal.by_key) == 1
    assert first[0]["ticket_number"] == retry[0]["ticket_number"] == "SR20261123-0001"


def test_next_report_in_the_same_conversation_gets_a_new_key(recording, domain, portal):
    first = tracker_at(recording, "对的", "action_file_ticket")
    second = tracker_at(recording, "确认", "action_file_ticket")
    assert idempotency_key(first, FORM) != idempotency_key(second, FORM)

    run(ActionFileTicket(), first, domain)
    messages, _ = run(ActionFileTicket(), second, domain)
    assert messages[0]["ticket_number"] == "SR20261123-0002"
    creations = [r for r in portal.requests if r["route"] == "POST /tickets"]
    assert creations[1]["body"]["product"] == "空调"


def test_the_bot_names_neither_channel_nor_customer_when_filing(recording, domain, portal):
    tracker = tracker_at(recording, "对的", "action_file_ticket")
    tracker.latest_message["metadata"] = {"channel": "wechat"}
    run(ActionFileTicket(), tracker, domain)
    [request] = [r for r in portal.requests if r["route"] == "POST /tickets"]
    assert not {"channel", "conversation_id", "customer_id"} & set(request["body"])
    assert request["chat"] == tracker.sender_id


def test_portal_down_apologises_without_a_ticket_number(recording, domain, portal_down):
    messages, events = run(
        ActionFileTicket(), tracker_at(recording, "对的", "action_file_ticket"), domain
    )
    assert [m["response"] for m in messages] == ["utter_ticket_failed"]
    text = rendered(messages[0], domain)
    assert "抱歉" in text and "工单号" not in text
    assert slots_set(events)["product"] is None


def test_refused_answer_is_asked_again(recording, domain, portal):
    portal.forced = (
        422,
        {
            "message": "invalid",
            "errors": [
                {
                    "field": "phone",
                    "message_zh": "该手机号已停机",
                    "message_en": "number not in service",
                }
            ],
        },
    )
    messages, events = run(
        ActionFileTicket(), tracker_at(recording, "对的", "action_file_ticket"), domain
    )
    assert [rendered(m, domain) for m in messages] == ["抱歉，登记信息没有通过校验：该手机号已停机"]
    assert slots_set(events) == {"phone": None, "summary_confirmed": None}
    assert {"event": "followup", "name": FORM} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


# --- what customers type that the recordings do not have ------------------------------


def test_one_shot_report_takes_every_volunteered_detail(recording, domain, portal):
    from actions.details import volunteered, without_details

    text = "空调不制冷，地址上海市浦东新区张杨路500号，电话13800138000，明天下午来"
    found = volunteered(text, sender="c1")
    assert found["address"] == "上海市浦东新区张杨路500号"
    assert found["phone"] == "13800138000"
    assert found["preferred_time"].endswith("13:00-18:00")
    assert without_details(text) == "空调不制冷"


@pytest.mark.parametrize(
    "text",
    [
        "取消",
        "算了",
        "不报了",
        "不用了",
        "重新开始",
        "我只是问问",
        "我不想报修了",
        "不用报修，我只是问问",
        "cancel",
    ],
)
def test_universal_exits_leave_the_form(recording, domain, portal, text):
    from actions.parsing import wants_to_stop

    assert wants_to_stop(text)


@pytest.mark.parametrize("text", ["取消工单", "不转了", "漏水", "确认", "上海市浦东新区张江路88号"])
def test_answers_are_not_exits(text):
    from actions.parsing import wants_to_stop

    assert not wants_to_stop(text)


def test_english_product_names_are_understood():
    from actions.fault_text import normalize_product

    assert normalize_product("washing machine") == "洗衣机"
    assert normalize_product("hi, my Fridge is not cooling") == "冰箱"
    assert normalize_product("the aircon leaks") == "空调"
    assert normalize_product("hobby") is None


def test_answers_the_form_cannot_use_climb_the_ladder(recording, domain, portal):
    """The question again, then a person offered, then the form ends and a person takes over."""
    from actions.intake import HANDOVER, MISSES

    tracker = form_validation_tracker(recording, "1380013800", FORM)
    messages, events = run(ValidateFaultReportForm(), tracker, domain)
    assert [m["response"] for m in messages] == ["utter_invalid_phone"]
    assert slots_set(events)[MISSES] == 1 and slots_set(events)["requested_slot"] == "phone"

    tracker = form_validation_tracker(recording, "1380013800", FORM)
    tracker.slots[MISSES] = 1
    messages, events = run(ValidateFaultReportForm(), tracker, domain)
    assert [m["response"] for m in messages] == ["utter_invalid_phone", "utter_form_offer_human"]
    assert slots_set(events)[MISSES] == 2

    tracker = form_validation_tracker(recording, "1380013800", FORM)
    tracker.slots[MISSES] = 2
    messages, events = run(ValidateFaultReportForm(), tracker, domain)
    assert [m["response"] for m in messages][-1] == "utter_form_handover"
    assert slots_set(events)[HANDOVER] is True and slots_set(events)["requested_slot"] is None

    filing = tracker_at(recording, "对的", "action_file_ticket")
    filing.slots[HANDOVER] = True
    messages, events = run(ActionFileTicket(), filing, domain)
    assert messages == [] and events[-1]["event"] == "followup"
    assert events[-1]["name"] == "action_handoff"
    assert not [r for r in portal.requests if r["route"] == "POST /tickets"]


def test_an_address_the_second_time_must_still_name_a_place(recording, domain, portal):
    """After 地址好像不太完整 a vaguer place is taken, words that name none are not."""
    validator = ValidateFaultReportForm()
    tracker = form_validation_tracker(recording, "1380013800", FORM)
    tracker.events.append(
        {"event": "bot", "text": "x", "metadata": {"utter_action": "utter_address_incomplete"}}
    )
    tracker.events.append({"event": "user", "text": "随便 都行", "parse_data": {}})
    assert validator.validate_address("随便 都行", CollectingDispatcher(), tracker, domain) == {
        "address": None
    }
    assert validator.validate_address("燃气热水器", CollectingDispatcher(), tracker, domain) == {
        "address": None
    }
    assert validator.validate_address(
        "深圳南山 科技园那边 腾讯大厦旁边", CollectingDispatcher(), tracker, domain
    ) == {"address": "深圳南山 科技园那边 腾讯大厦旁边"}


def test_details_typed_with_spaces_are_taken(portal):
    from actions.details import address_in, phone_in

    text = "洗衣机漏水 电话13711112222 地址广州天河区体育西路1号 明早"
    assert address_in(text) == "广州天河区体育西路1号"
    assert phone_in(text) == "13711112222"
