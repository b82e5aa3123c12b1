"""Which language the bot answers in. A customer who writes an English sentence (two
English words or more: what does E21 mean, my washer is broken) is answered in English from
that message on, through the responses' English variations (condition: language = en),
until they write Chinese again; the portal's knowledge base answers an English question from
the English entries. A bare word (ok, hi), a code (E21, KFR-35GW) or a ticket number says
nothing about the language, so a Chinese customer typing one stays in Chinese; two such
English words in a row (hello, help) are English too.

A chat opened on an English web page (the widget sends the page's language, which the hub
passes on as `lang` in the message metadata) starts in English, greeting included: the slot
is filled on /session_start, before action_session_start greets. The page's language holds
until the customer writes something that says a language (a Chinese character, an English
sentence, two English messages in a row); from then on their writing decides, as above."""

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
# An e-mail address or a link is written the same in any language.
_ADDRESS = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)
# The languages a page may say it is in; anything else in the metadata is ignored.
LANGUAGES = ("zh", "en")


def english_words(text: str) -> int:
    """How many English words `text` has (codes, e-mail addresses and links are not words);
    0 if it has any Chinese."""
    if not text or text.startswith("/") or _CJK.search(text):
        return 0
    return len(_LATIN_WORD.findall(_CODE.sub("", _ADDRESS.sub("", text))))


def is_english(text: str) -> bool:
    """Written in English: Latin words and no Chinese characters."""
    return english_words(text) >= 1


def is_chinese(text: str) -> bool:
    """Written in Chinese (at least one Chinese character)."""
    return bool(_CJK.search(text or ""))


def says_language(texts: list[str]) -> bool:
    """True when what the customer wrote tells their language: something Chinese, an
    English sentence (two English words or more) or two English messages in a row."""
    if any(is_chinese(text) or english_words(text) >= 2 for text in texts):
        return True
    return any(is_english(a) and is_english(b) for a, b in zip(texts, texts[1:], strict=False))


def page_language(tracker: Tracker) -> str | None:
    """The language of the page the latest message came from ("zh" or "en", the `lang` of
    its metadata), or None when the channel did not say."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            lang = (event.get("metadata") or {}).get("lang")
            return lang if isinstance(lang, str) and lang in LANGUAGES else None
    return None


def language(tracker: Tracker) -> str:
    """ "en" for an English sentence, or when this message and the one before are English;
    "zh" once Chinese is written; otherwise the page's language until the customer has
    written anything that tells theirs, and as it was after that."""
    texts = [
        (e.get("text") or "").strip()
        for e in tracker.events
        if e.get("event") == "user" and not (e.get("text") or "").startswith("/")
    ]
    if texts:
        if is_chinese(texts[-1]):
            return "zh"
        if english_words(texts[-1]) >= 2:
            return "en"
        if len(texts) >= 2 and is_english(texts[-1]) and is_english(texts[-2]):
            return "en"
    page = page_language(tracker)
    if page is not None and not says_language(texts):
        return page
    return tracker.get_slot("language") or "zh"


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
