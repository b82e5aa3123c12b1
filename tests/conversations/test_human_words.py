"""转人工 and its synonyms reach the agent queue from any state, whatever the bot would do:
the hub recognises them itself and hands over as the bot's handoff call does (the tracker
paused), with a summary written from the stored messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    detail,
    go_online,
    hand_off,
    open_chat,
    public_id,
    queue,
    say,
    token,
    wait_for,
)

QUEUED = "正在为您转接人工客服，您当前排在第 1 位，请稍候。"
QUEUED_EN = "We are connecting you to an agent; you are number 1 in line."


@pytest.mark.parametrize(
    "word",
    [
        "转人工",
        "人工",
        " 人工客服！",
        "客服",
        "找真人。",
        "真人",
        "转接人工",
        "HUMAN",
        "Agent?",
        "real person",
        "Talk to a human.",
    ],
)
def test_each_word_queues_without_asking_the_bot(
    hc: TestClient, db: Database, rasa: TrackingRasa, word: str
) -> None:
    add_agent(db, "wang")
    headers = token(hc, "wang")
    conversation = open_chat(hc, db, "human-1", "洗衣机漏水了")
    (reply,) = say(hc, "human-1", word)
    assert reply["text"] == (QUEUED_EN if word.isascii() else QUEUED)
    assert rasa.texts_from(conversation) == ["洗衣机漏水了"]  # Rasa never heard it
    (item,) = queue(hc, headers)
    assert item["public_id"] == conversation and item["reason"] == "request"
    assert "洗衣机漏水了" in item["summary"]
    assert [e["kind"] for e in detail(hc, headers, conversation)["events"]] == ["handoff"]
    wait_for(
        lambda: (conversation, "pause") in [(s, e) for s, e, _tok in rasa.tracker_events],
        what="the tracker paused",
    )


def test_mid_form_with_rasa_looping_or_down(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "li")
    rasa.plan([{"text": "请问是什么产品？", "buttons": [{"title": "洗衣机", "payload": "/x"}]}])
    open_chat(hc, db, "form-1", "报修")
    rasa.up = False
    assert [r["text"] for r in say(hc, "form-1", "转人工")] == [QUEUED]
    summary = queue(hc, token(hc, "li"))[0]["summary"]
    assert summary.startswith("诉求：要求人工") and "报修" in summary


def test_the_fallback_button_hands_over(hc: TestClient, db: Database, rasa: TrackingRasa) -> None:
    rasa.plan("loop")
    (apology,) = say(hc, "button-1", "嗯")
    (button,) = apology["buttons"]
    assert [r["text"] for r in say(hc, "button-1", button["payload"])] == [QUEUED]


def test_english_words_are_answered_in_english(hc: TestClient, db: Database) -> None:
    open_chat(hc, db, "human-en", "hello")
    (reply,) = say(hc, "human-en", "talk to a human")
    assert reply["text"] == QUEUED_EN


@pytest.mark.parametrize(
    "sentence",
    [
        "怎么查不到啊，帮我转人工吧",
        "我要找人工",
        "能不能给我接人工客服",
        "I want to talk to a human",
    ],
)
def test_a_sentence_that_asks_for_a_person_queues(
    hc: TestClient, db: Database, rasa: TrackingRasa, sentence: str
) -> None:
    add_agent(db, "zhao")
    conversation = open_chat(hc, db, "human-3", "你好")
    say(hc, "human-3", sentence)
    assert rasa.texts_from(conversation) == ["你好"]
    assert [item["public_id"] for item in queue(hc, token(hc, "zhao"))] == [conversation]


def test_words_inside_a_sentence_still_go_to_the_bot(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    conversation = open_chat(hc, db, "human-2", "你好")
    say(hc, "human-2", "人工智能是什么")
    say(hc, "human-2", "客服电话多少")
    assert rasa.texts_from(conversation) == ["你好", "人工智能是什么", "客服电话多少"]
    assert queue(hc, token_for(hc, db)) == []


def test_while_waiting_or_with_an_agent_nothing_changes(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    headers = token_for(hc, db)
    go_online(hc, headers)
    conversation = open_chat(hc, db, "human-3")
    hand_off(hc, conversation)
    say(hc, "human-3", "转人工")
    hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
    assert say(hc, "human-3", "人工") == []
    shown = detail(hc, headers, conversation)
    assert shown["state"] == "agent"
    assert [e["kind"] for e in shown["events"]] == ["handoff", "accept"]
    assert rasa.texts_from(conversation) == ["你好"]


def test_off_duty_the_word_offers_a_ticket(
    make_client: Callable[..., TestClient], db: Database, rasa: TrackingRasa
) -> None:
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).isoweekday()
    client = make_client(handoff_schedule=f"{day} 09:00-18:00")
    conversation = open_chat(client, db, "human-4")
    (reply,) = say(client, "human-4", "转人工")
    assert "现在不是人工客服服务时间" in reply["text"]
    assert reply["buttons"] == [{"title": "留下工单", "payload": "/report_fault"}]
    assert rasa.texts_from(conversation) == ["你好"]
    assert public_id(db, "human-4") == conversation  # still with the bot


def token_for(client: TestClient, db: Database) -> dict[str, str]:
    add_agent(db, "zhou")
    return token(client, "zhou")
