"""Knowledge-base answers, suggestions and feedback, against recorded conversations and a
fake portal over HTTP.

faq_conversation (a confident answer for every question): 检查了不修要钱吗 / 解决了 /
上门费多少 / 没有 / 转人工 (no handoff endpoint yet)
faq_suggest_conversation (middling matches): 洗衣机显示E21什么意思 / (first suggestion) / 没解决
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FakePortal, load_recording, tracker_at
from helpers import rendered, responses, run, slots_set

from actions.faq import ActionKbFeedback, ActionKbSearch
from actions.handoff import ActionHandoff

ANSWER = {
    "band": "answer",
    "results": [
        {
            "id": "fee-visit-only",
            "question": "师傅上门检查了但是我不修，要付钱吗？",
            "answer": "保修期内检测免费；保修期外不修只收上门费 50 元。",
            "score": 0.92,
            "band": "answer",
        },
    ],
}
SUGGEST = {
    "band": "suggest",
    "results": [
        {
            "id": "wm-e21",
            "question": "洗衣机显示 E21 是什么故障？",
            "answer": "E21 表示排水超时…",
            "score": 0.61,
            "band": "suggest",
        },
        {
            "id": "wm-e30",
            "question": "洗衣机显示 E30 是什么故障？",
            "answer": "E30 表示门锁异常…",
            "score": 0.55,
            "band": "suggest",
        },
    ],
}


@pytest.fixture
def answered(portal: FakePortal) -> dict[str, Any]:
    portal.kb = ANSWER
    return load_recording("faq_conversation")


@pytest.fixture
def suggested(portal: FakePortal) -> dict[str, Any]:
    portal.kb = SUGGEST
    return load_recording("faq_suggest_conversation")


def test_confident_answer_asks_whether_it_helped(answered, domain, portal):
    tracker = tracker_at(answered, "检查了不修要钱吗", "action_kb_search")
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert responses(messages) == ["utter_kb_answer", "utter_kb_ask_helpful"]
    assert rendered(messages[0], domain).startswith("保修期内检测免费")
    assert rendered(messages[1], domain) == "是否解决了您的问题？"
    assert slots_set(events) == {
        "kb_band": "answer",
        "kb_entry_id": "fee-visit-only",
        "kb_query": "检查了不修要钱吗",
    }
    [search] = portal.requests
    assert search["route"] == "GET /kb/search" and search["query"]["q"] == "检查了不修要钱吗"


def test_helpful_answer_is_recorded(answered, domain, portal):
    tracker = tracker_at(answered, "解决了", "action_kb_feedback")
    messages, _ = run(ActionKbFeedback(), tracker, domain)
    assert portal.kb_feedback == [
        {
            "entry_id": "fee-visit-only",
            "helpful": True,
            "query": "检查了不修要钱吗",
            "conversation_id": answered["sender_id"],
        }
    ]
    assert responses(messages) == ["utter_kb_glad"]


def test_feedback_without_the_endpoint_still_thanks_the_customer(answered, domain, portal):
    # Search answered, but the portal has no /api/v1/kb/feedback yet (or it fails): the
    # customer is answered as usual; only the record is missing.
    portal.forced = (404, {"detail": "Not Found"})
    tracker = tracker_at(answered, "解决了", "action_kb_feedback")
    messages, events = run(ActionKbFeedback(), tracker, domain)
    assert responses(messages) == ["utter_kb_glad"]
    assert slots_set(events) == {"kb_band": None, "kb_suggestions": None}
    assert [r["route"] for r in portal.requests] == ["POST /kb/feedback"]
    assert portal.kb_feedback == []


def test_unhelpful_answer_is_recorded_and_a_person_or_a_ticket_offered(answered, domain, portal):
    tracker = tracker_at(answered, "没有", "action_kb_feedback")
    messages, _ = run(ActionKbFeedback(), tracker, domain)
    assert portal.kb_feedback[0]["helpful"] is False
    assert responses(messages) == ["utter_kb_not_helpful"]
    payloads = [b["payload"] for b in domain["responses"]["utter_kb_not_helpful"][0]["buttons"]]
    assert payloads == ["/request_human", "/report_fault"]


def test_middling_matches_are_offered_as_buttons(suggested, domain, portal):
    tracker = tracker_at(suggested, "洗衣机显示E21什么意思", "action_kb_search")
    # A question naming no code (one naming E21 is answered with the E21 entry, below).
    tracker.latest_message["text"] = "洗衣机屏幕上的字母什么意思"
    [message], events = run(ActionKbSearch(), tracker, domain)
    assert message["response"] == "utter_kb_suggest"
    assert [b["title"] for b in message["buttons"]] == [
        "洗衣机显示 E21 是什么故障？",
        "洗衣机显示 E30 是什么故障？",
        "都不是",
    ]
    assert message["buttons"][0]["payload"] == '/ask_faq{"kb_choice": "0"}'
    assert slots_set(events)["kb_band"] == "suggest"


def test_picked_suggestion_is_answered_without_searching_again(suggested, domain, portal):
    tracker = tracker_at(suggested, '/ask_faq{"kb_choice": "0"}', "action_kb_search")
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert rendered(messages[0], domain) == "E21 表示排水超时…"
    assert slots_set(events)["kb_entry_id"] == "wm-e21"
    assert portal.requests == []
    feedback = tracker_at(suggested, "没解决", "action_kb_feedback")
    run(ActionKbFeedback(), feedback, domain)
    assert (
        portal.kb_feedback[0]["entry_id"] == "wm-e21" and portal.kb_feedback[0]["helpful"] is False
    )


def test_nothing_good_enough_offers_a_person_or_a_ticket(answered, domain, portal):
    portal.kb = {
        "band": "none",
        "results": [{"id": "x", "question": "?", "answer": "?", "score": 0.1, "band": "none"}],
    }
    messages, events = run(
        ActionKbSearch(), tracker_at(answered, "检查了不修要钱吗", "action_kb_search"), domain
    )
    assert responses(messages) == ["utter_kb_no_answer"]
    assert slots_set(events)["kb_band"] == "none"
    assert slots_set(events)["last_failed_turn"] == 1


def test_missing_knowledge_base_degrades_gracefully(answered, domain, portal):
    portal.kb = None  # the portal has no /api/v1/kb/search yet: 404
    messages, events = run(
        ActionKbSearch(), tracker_at(answered, "检查了不修要钱吗", "action_kb_search"), domain
    )
    assert responses(messages) == ["utter_kb_unavailable"]
    assert "转人工" in rendered(messages[0], domain)


def test_second_failure_in_a_row_offers_a_person(answered, domain, portal):
    portal.kb = None
    tracker = tracker_at(answered, "上门费多少", "action_kb_search")
    tracker.slots["last_failed_turn"] = 2  # the message before also went unanswered
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert responses(messages) == ["utter_default_offer_human"]
    assert slots_set(events)["failed_streak"] == 2
    assert "followup" not in [e["event"] for e in events]


def test_third_failure_in_a_row_hands_over(answered, domain, portal):
    portal.kb = None
    tracker = tracker_at(answered, "上门费多少", "action_kb_search")
    tracker.slots.update(last_failed_turn=2, failed_streak=2)
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert messages == []
    assert {"event": "followup", "name": "action_handoff"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


def test_handoff_without_the_endpoint_apologises_and_offers_a_ticket(answered, domain, portal):
    messages, _ = run(ActionHandoff(), tracker_at(answered, "转人工", "action_handoff"), domain)
    assert responses(messages) == ["utter_handoff_unavailable"]
    text = rendered(messages[0], domain)
    assert "抱歉" in text
    assert [b["payload"] for b in domain["responses"]["utter_handoff_unavailable"][0]["buttons"]][
        0
    ] == "/report_fault"


def test_one_half_recognised_entry_is_answered_as_a_guess(answered, domain, portal):
    # The portal's decision (knowledge_base.bands.decide): answer, its top hit only suggested.
    portal.kb = {
        "band": "answer",
        "results": [
            {
                "id": "gas",
                "question": "燃气热水器附近闻到煤气味怎么办？",
                "answer": "先关**总阀**",
                "score": 0.32,
                "band": "suggest",
            },
            {"id": "x", "question": "热水器水发黄", "answer": "?", "score": 0.29, "band": "none"},
        ],
    }
    messages, events = run(
        ActionKbSearch(), tracker_at(answered, "检查了不修要钱吗", "action_kb_search"), domain
    )
    assert responses(messages) == ["utter_kb_answer_guess", "utter_kb_ask_helpful"]
    assert "燃气热水器附近闻到煤气味怎么办？" in rendered(messages[0], domain)
    assert slots_set(events)["kb_entry_id"] == "gas"


def test_an_english_customer_gets_english_buttons(suggested, domain, portal):
    tracker = tracker_at(suggested, "洗衣机显示E21什么意思", "action_kb_search")
    tracker.latest_message["text"] = "what do the letters on my washer mean"
    tracker.slots["language"] = "en"
    [message], _ = run(ActionKbSearch(), tracker, domain)
    assert message["buttons"][-1] == {"title": "None of these", "payload": "/deny"}


# What the portal's knowledge base answers to E21是什么意思 (no product named): three
# entries of other codes and products score alike, the one about E21 among them.
CODE_SUGGESTIONS = {
    "band": "suggest",
    "results": [
        {
            "id": "dw-e1",
            "question": "洗碗机显示 E1 是什么意思？",
            "answer": "E1 表示进水异常…",
            "score": 0.469,
            "band": "suggest",
        },
        {
            "id": "wh-e2",
            "question": "电热水器显示 E2 是什么意思？",
            "answer": "E2 表示干烧保护…",
            "score": 0.456,
            "band": "suggest",
        },
        {
            "id": "wm-e21",
            "question": "洗衣机显示 E21 是什么故障？怎么处理？",
            "answer": "E21 表示排水超时…",
            "score": 0.447,
            "band": "suggest",
        },
    ],
}


def test_a_code_only_one_suggestion_names_is_answered(answered, domain, portal):
    portal.kb = CODE_SUGGESTIONS
    tracker = tracker_at(answered, "检查了不修要钱吗", "action_kb_search")
    tracker.latest_message["text"] = "E21是什么意思"
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert responses(messages) == ["utter_kb_answer_guess", "utter_kb_ask_helpful"]
    assert "E21 表示排水超时" in rendered(messages[0], domain)
    assert slots_set(events)["kb_entry_id"] == "wm-e21"


def test_a_code_several_suggestions_name_is_still_a_choice(answered, domain, portal):
    portal.kb = CODE_SUGGESTIONS
    tracker = tracker_at(answered, "检查了不修要钱吗", "action_kb_search")
    tracker.latest_message["text"] = "E2是什么意思"  # E2 only: not E21
    messages, events = run(ActionKbSearch(), tracker, domain)
    assert responses(messages) == ["utter_kb_answer_guess", "utter_kb_ask_helpful"]
    assert slots_set(events)["kb_entry_id"] == "wh-e2"
    tracker.latest_message["text"] = "E1是什么意思"
    portal.kb = {
        "band": "suggest",
        "results": [
            {**CODE_SUGGESTIONS["results"][0]},
            {**CODE_SUGGESTIONS["results"][0], "id": "ac-e1", "question": "空调显示E1"},
        ],
    }
    [message], _ = run(ActionKbSearch(), tracker, domain)
    assert message["response"] == "utter_kb_suggest"
