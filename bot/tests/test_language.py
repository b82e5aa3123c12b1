"""Which language the bot answers in (actions/language.py): a customer who writes English is
answered in English from their first English sentence; Chinese customers keep Chinese, and
a bare ok, a code or a ticket number changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage, language


def tracker(*texts: str, slot: str | None = None) -> Tracker:
    """A tracker whose customer wrote `texts`, in order, the language slot at `slot`."""
    events: list[dict[str, Any]] = [{"event": "user", "text": text} for text in texts]
    return Tracker(
        sender_id="s1",
        slots={"language": slot},
        latest_message={"text": texts[-1] if texts else ""},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    "text",
    [
        "What does E21 mean?",
        "How long is the warranty?",
        "my washing machine is broken",
        "hi, my washer won't drain",
        "I need a repair",
    ],
)
def test_a_first_english_sentence_is_answered_in_english(text: str) -> None:
    assert language(tracker(text)) == "en"


@pytest.mark.parametrize(
    "text",
    ["E21是什么意思", "洗衣机显示E21，不转了，派人来修", "我的washing machine坏了", "你好"],
)
def test_chinese_is_answered_in_chinese(text: str) -> None:
    assert language(tracker(text)) == "zh"
    assert language(tracker("What does E21 mean?", text, slot="en")) == "zh"


@pytest.mark.parametrize(
    "text",
    ["ok", "hi", "E21", "SR20261123-0007", "KFR-35GW", "13800138000", "zhang.wei@qq.com"],
)
def test_a_bare_word_or_a_code_keeps_the_language(text: str) -> None:
    assert language(tracker("洗衣机不转了", text, slot="zh")) == "zh"
    assert language(tracker("my washer won't spin", text, slot="en")) == "en"


def test_two_short_english_messages_in_a_row_are_english() -> None:
    assert language(tracker("hello", "help", slot="zh")) == "en"


def test_commands_are_not_read() -> None:
    assert language(tracker("/session_start", slot="zh")) == "zh"


def test_the_action_sets_the_slot_only_when_it_changes() -> None:
    action = ActionDetectLanguage()
    dispatcher = CollectingDispatcher()
    changed = asyncio.run(action.run(dispatcher, tracker("What does E21 mean?", slot="zh"), {}))
    assert changed == [SlotSet("language", "en")]
    kept = asyncio.run(action.run(dispatcher, tracker("E21是什么意思", slot="zh"), {}))
    assert kept == []
    assert dispatcher.messages == []
