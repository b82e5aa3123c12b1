"""The hub's safety net around the bot: every customer turn with the bot gets one to three
messages, none repeated in the turn or straight after the last one, and when Rasa answers
nothing, loops (its circuit breaker), times out or fails, the hub answers itself with an
apology and the offer of a person, counts it, and repairs Rasa's tracker so the next turn
works. Rasa is faked at the HTTP boundary (TrackingRasa.plan)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    NOT_UNDERSTOOD,
    TrackingRasa,
    add_agent,
    detail,
    go_online,
    hand_off,
    metric,
    open_chat,
    public_id,
    say,
    token,
)

FALLBACKS = "portal_bot_fallback_total"
HUMAN = {"title": "转人工", "payload": "转人工"}
NORMAL = ["收到：你好", "请选择产品"]  # what the fake answers when nothing is planned


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("text", "")) for r in replies]


def test_the_circuit_breaker_gets_one_apology_and_the_next_turn_works(
    hc: TestClient, db: Database, rasa: TrackingRasa, caplog: pytest.LogCaptureFixture
) -> None:
    before = metric(hc, FALLBACKS, reason="loop")
    rasa.plan("loop")
    with caplog.at_level(logging.WARNING, logger="portal.conversations"):
        replies = say(hc, "loop-1", "嗯")
    conversation = public_id(db, "loop-1")
    (reply,) = replies
    assert NOT_UNDERSTOOD not in reply["text"]
    assert reply["text"].startswith("抱歉") and "转人工" in reply["text"]
    assert "目前无需排队" in reply["text"]  # the real queue: nobody waits
    assert reply["buttons"] == [HUMAN]
    assert metric(hc, FALLBACKS, reason="loop") == before + 1
    assert any(
        r.levelno == logging.WARNING and conversation in r.getMessage() for r in caplog.records
    )
    # The tracker was left mid-turn: the hub appended the action_listen Rasa missed.
    assert rasa.listens(conversation) == 1
    assert ("action", "action_listen") in [
        (b["event"], b.get("name")) for s, b in rasa.tracker_bodies if s == conversation
    ]
    # So the next message is answered normally, as are the ones after it (the same
    # question as just before comes after another message, so it does not follow itself).
    assert texts(say(hc, "loop-1", "你好")) == NORMAL
    assert texts(say(hc, "loop-1", "查进度")) == ["收到：查进度", "请选择产品"]
    stored = detail(hc, _agent(hc, db), conversation)["messages"]
    assert [m["author"] for m in stored[:2]] == ["customer", "system"]


def test_an_empty_answer_gets_the_apology_and_a_repaired_tracker(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    before = metric(hc, FALLBACKS, reason="empty")
    rasa.plan("empty")
    (reply,) = say(hc, "empty-1", "查一下工单SR20200101-9999，手机13800000000")
    assert reply["text"].startswith("抱歉") and reply["buttons"] == [HUMAN]
    assert metric(hc, FALLBACKS, reason="empty") == before + 1
    assert rasa.listens(public_id(db, "empty-1")) == 1
    assert texts(say(hc, "empty-1", "你好")) == NORMAL


@pytest.mark.parametrize("mode", ["timeout", "error"])
def test_a_timeout_or_an_error_gets_the_apology_without_touching_the_tracker(
    hc: TestClient, db: Database, rasa: TrackingRasa, mode: str
) -> None:
    before = metric(hc, FALLBACKS, reason=mode)
    rasa.plan(mode)
    (reply,) = say(hc, "fail-1", "你好")
    assert reply["text"].startswith("抱歉") and reply["buttons"] == [HUMAN]
    assert metric(hc, FALLBACKS, reason=mode) == before + 1
    assert rasa.listens(public_id(db, "fail-1")) == 0  # Rasa may still be on that turn
    assert texts(say(hc, "fail-1", "你好")) == NORMAL


def test_rasa_down_gets_the_apology_too(hc: TestClient, rasa: TrackingRasa) -> None:
    rasa.up = False
    (reply,) = say(hc, "down-1", "你好")
    assert reply["buttons"] == [HUMAN]


def test_the_apology_states_the_real_queue(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    for n in range(2):
        hand_off(hc, open_chat(hc, db, f"queued-{n}"))
    rasa.plan("empty")
    (reply,) = say(hc, "after-queue", "你好")
    assert "目前有 2 位客户在排队" in reply["text"]


def test_off_duty_the_apology_gives_the_hours_and_a_ticket(
    make_client: Callable[..., TestClient], rasa: TrackingRasa
) -> None:
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).isoweekday()
    client = make_client(handoff_schedule=f"{day} 09:00-18:00")
    rasa.plan("loop")
    (reply,) = say(client, "night-1", "嗯")
    names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert "不在服务时间" in reply["text"] and f"{names[day - 1]} 09:00-18:00" in reply["text"]
    assert reply["buttons"] == [HUMAN, {"title": "留下工单", "payload": "/report_fault"}]


def test_an_english_customer_gets_the_apology_in_english(
    hc: TestClient, rasa: TrackingRasa
) -> None:
    rasa.plan("empty")
    (reply,) = say(hc, "en-1", "hi, my washing machine is broken")
    assert reply["text"].startswith("Sorry")
    assert reply["buttons"] == [{"title": "Talk to an agent", "payload": "转人工"}]


def test_two_failures_in_a_row_are_not_worded_the_same(hc: TestClient, rasa: TrackingRasa) -> None:
    rasa.plan("empty", "empty", "empty")
    first, second, third = (say(hc, "twice-1", "嗯")[0] for _ in range(3))
    assert first["text"] != second["text"] and second["text"] != third["text"]
    assert first["buttons"] == second["buttons"] == third["buttons"] == [HUMAN]


def test_the_same_message_twice_in_a_turn_is_sent_once_with_its_buttons(
    hc: TestClient, rasa: TrackingRasa
) -> None:
    choose = [{"title": "洗衣机", "payload": "/inform"}]
    rasa.plan(
        [
            {"text": "请问是什么产品？"},
            {"text": "好的"},
            {"text": "请问是什么产品？", "buttons": choose},
        ]
    )
    replies = say(hc, "dup-1", "报修")
    assert texts(replies) == ["请问是什么产品？", "好的"]
    assert replies[0]["buttons"] == choose


def test_more_than_three_messages_keep_two_and_merge_the_rest(
    hc: TestClient, rasa: TrackingRasa
) -> None:
    faq = [{"title": "问题一", "payload": "/faq1"}, {"title": "问题二", "payload": "/faq2"}]
    form = [{"title": "是", "payload": "/affirm"}]
    rasa.plan(
        [
            {"text": "一"},
            {"text": "二"},
            {"text": "三"},
            {"text": "您想问的是下面哪个问题？", "buttons": faq},
            {"text": "请确认报修信息", "buttons": form},
        ]
    )
    replies = say(hc, "many-1", "空调不制冷怎么办")
    assert texts(replies) == ["一", "二", "三\n您想问的是下面哪个问题？\n请确认报修信息"]
    assert [b["payload"] for b in replies[2]["buttons"]] == ["/faq1", "/faq2", "/affirm"]


def test_a_question_repeated_across_turns_is_reworded_not_dropped(
    hc: TestClient, rasa: TrackingRasa
) -> None:
    choose = [{"title": "洗衣机", "payload": "/inform"}]
    ask = {"text": "请问是什么产品？", "buttons": choose}
    rasa.plan([ask], [ask], [ask])
    assert texts(say(hc, "again-1", "报修")) == ["请问是什么产品？"]
    second = say(hc, "again-1", "嗯")
    assert texts(second) == ["再确认一下：请问是什么产品？"]
    assert second[0]["buttons"] == choose
    # Not the same as the one before it either.
    assert texts(say(hc, "again-1", "啊")) == ["请问是什么产品？"]


def _agent(client: TestClient, db: Database) -> dict[str, str]:
    add_agent(db, "reader")
    headers = token(client, "reader")
    go_online(client, headers)
    return headers
