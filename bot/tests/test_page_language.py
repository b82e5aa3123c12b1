"""The language of the page the chat is on (the widget's `lang`, which the hub passes on in
the message metadata): a chat opened on an English page is greeted and answered in English
from its /session_start on; the customer's own writing still decides once it says anything
(a Chinese sentence switches to Chinese, as on a Chinese page)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage, language


def tracker(*texts: str, lang: str | None = "en", slot: str | None = "zh") -> Tracker:
    """A tracker whose customer sent `texts` in order, each with the page language `lang` in
    its metadata (as the hub sends a widget message), the language slot at `slot`."""
    metadata: dict[str, Any] = {"channel": "web"}
    if lang is not None:
        metadata["lang"] = lang
    events: list[dict[str, Any]] = [
        {"event": "user", "text": text, "metadata": metadata} for text in texts
    ]
    return Tracker(
        sender_id="s1",
        slots={"language": slot},
        latest_message={"text": texts[-1], "metadata": metadata},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def detect(tracker: Tracker) -> list[dict[str, Any]]:
    """The events action_detect_language returns for `tracker`."""
    return asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), tracker, {}))


def test_a_chat_opened_on_an_english_page_starts_in_english() -> None:
    # The slot is filled on /session_start, before action_session_start greets.
    assert detect(tracker("/session_start")) == [SlotSet("language", "en")]


def test_a_chat_opened_on_a_chinese_page_stays_chinese() -> None:
    assert detect(tracker("/session_start", lang="zh")) == []
    assert language(tracker("/session_start", lang="zh")) == "zh"


@pytest.mark.parametrize("lang", [None, "fr", "EN", "en-US", 1, ""])
def test_no_or_an_unknown_page_language_changes_nothing(lang: Any) -> None:
    assert detect(tracker("/session_start", lang=lang)) == []


@pytest.mark.parametrize("text", ["ok", "hi", "E21", "13800138000", "SR20261123-0007"])
def test_a_bare_word_on_an_english_page_is_answered_in_english(text: str) -> None:
    assert language(tracker("/session_start", text)) == "en"


def test_a_chinese_sentence_on_an_english_page_switches_to_chinese() -> None:
    assert language(tracker("/session_start", "洗衣机不转了", slot="en")) == "zh"
    # And stays Chinese: a bare word after it says nothing about the language.
    assert language(tracker("/session_start", "洗衣机不转了", "E21", slot="zh")) == "zh"
    assert language(tracker("洗衣机不转了", "13800138000", slot="zh")) == "zh"


def test_an_english_sentence_on_a_chinese_page_switches_to_english() -> None:
    assert language(tracker("/session_start", "What does E21 mean?", lang="zh")) == "en"
    assert language(tracker("What does E21 mean?", "ok", lang="zh", slot="en")) == "en"


def test_two_short_english_messages_on_a_chinese_page_are_english_and_stay_so() -> None:
    assert language(tracker("hello", "help", lang="zh")) == "en"
    assert language(tracker("hello", "help", "E21", lang="zh", slot="en")) == "en"
