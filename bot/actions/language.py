"""Which language the bot answers in. Chinese first: a customer who writes English once
(hi, my washing machine is broken) is still answered in Chinese, one who keeps writing it
(a second English message in a row) is answered in English, through the responses'
English variations (condition: language = en), until they write Chinese again."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# SR20261123-0007, KFR-35GW, E4: codes, not English.
_CODE = re.compile(r"\b(?:SR\s*\d{8}[-\s]?\d{4}|[A-Z]{1,4}-?\d+[A-Z]*)\b", re.IGNORECASE)


def is_english(text: str) -> bool:
    """Written in English: Latin words and no Chinese characters."""
    if not text or text.startswith("/") or _CJK.search(text):
        return False
    return bool(_LATIN_WORD.search(_CODE.sub("", text)))


def is_chinese(text: str) -> bool:
    """Written in Chinese (at least one Chinese character)."""
    return bool(_CJK.search(text or ""))


def language(tracker: Tracker) -> str:
    """ "en" when this message and the one before are English; "zh" once Chinese is
    written; otherwise as it was."""
    texts = [
        (e.get("text") or "").strip()
        for e in tracker.events
        if e.get("event") == "user" and not (e.get("text") or "").startswith("/")
    ]
    current = tracker.get_slot("language") or "zh"
    if not texts:
        return current
    if is_chinese(texts[-1]):
        return "zh"
    if len(texts) >= 2 and is_english(texts[-1]) and is_english(texts[-2]):
        return "en"
    return current


class ActionDetectLanguage(Action):
    """Fills the `language` slot on every message (a custom slot mapping's action)."""

    def name(self) -> str:
        """Named in the language slot's mapping (domain/core.yml)."""
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """SlotSet(language) when it changes."""
        found = language(tracker)
        if found == (tracker.get_slot("language") or "zh"):
            return []
        return [SlotSet("language", found)]
