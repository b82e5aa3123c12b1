"""What a ledger or statement line's memo means, stored as segments (a message code and its
parameters, a product category, or the company's own words such as a part's name) and read
in the reader's language through the translation layer.

A line keeps its Chinese sentence in `memo` too: what exports and older readers show, and
all a line written before memos had segments has (shown as written).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from portal.i18n import MESSAGES, Lang, t

Segment = dict[str, Any]
SEPARATOR = " · "


def said(key: str, **params: object) -> Segment:
    """A segment that is one of our sentences (`key` in portal.i18n) with its parameters; a
    parameter may itself be a segment (a cost centre's name), read in the same language."""
    if key not in MESSAGES:
        raise KeyError(key)
    return {"k": key, "p": {name: _plain(value) for name, value in params.items()}}


def text(value: str) -> Segment:
    """A segment that is the company's own words (a part's code and name): shown as written."""
    return {"text": value}


def part(code: str, name: str, name_en: str = "") -> Segment:
    """A part by its name and code, in English where the company gave it an English name."""
    zh = f"{name}（{code}）"
    return {"text": zh, "text_en": f"{name_en} ({code})"} if name_en else text(zh)


def category(name: str) -> Segment:
    """A product category: its English name where it has one, else as the company wrote it."""
    return {"category": name}


def _plain(value: object) -> object:
    # JSON keeps numbers and text; money and distances are Decimals, kept exact as text.
    if isinstance(value, bool | int | str | dict) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _one(segment: Segment, lang: Lang) -> str:
    if "k" in segment:
        params = {
            name: _one(value, lang) if isinstance(value, dict) else value
            for name, value in dict(segment.get("p") or {}).items()
        }
        return t(segment["k"], lang, **params)
    if "category" in segment:
        name = str(segment["category"])
        key = f"category.{name}"
        return t(key, lang) if key in MESSAGES else name
    if lang == "en" and segment.get("text_en"):
        return str(segment["text_en"])
    return str(segment.get("text", ""))


def render(segments: Sequence[Segment] | None, lang: Lang = "zh", fallback: str = "") -> str:
    """The memo in `lang`; `fallback` (the stored sentence) for a line without segments."""
    if not segments:
        return fallback
    if not all(_known(s) for s in segments):
        return fallback  # a sentence since retired: the words it was stored with
    return SEPARATOR.join(part for part in (_one(s, lang) for s in segments) if part)


def _known(segment: Segment) -> bool:
    if "k" not in segment:
        return True
    nested = [v for v in dict(segment.get("p") or {}).values() if isinstance(v, dict)]
    return segment["k"] in MESSAGES and all(_known(v) for v in nested)


class HasMemo(Protocol):
    """A row with a memo: a ledger entry, a statement line, an engineer's earning."""

    @property
    def memo(self) -> str: ...

    @property
    def memo_parts(self) -> list[Any] | None: ...


def of(row: HasMemo, lang: Lang = "zh") -> str:
    """A row's memo in `lang` (as written, for a row stored before memos had segments)."""
    return render(row.memo_parts, lang, row.memo)


class HasDescription(Protocol):
    """A ledger transaction: what it is, said the same way as a memo."""

    @property
    def description(self) -> str: ...

    @property
    def description_parts(self) -> list[Any] | None: ...


def described(txn: HasDescription, lang: Lang = "zh") -> str:
    """A transaction's description in `lang` (as written, for one stored before)."""
    return render(txn.description_parts, lang, txn.description)
