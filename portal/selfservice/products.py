"""The product a customer typed on /my/request, read against the catalogue.

Customers type products loosely: "xiyiji 洗衣机吧", "家里的滚筒洗衣机", "Kong Tiao". The
catalogue's words are its product lines (滚筒洗衣机) and categories (洗衣机), and the English
names of the usual categories; a typed product reads as the longest catalogue word inside
it, else as a word whose pinyin the letters typed spell, else as the one word that contains
what was typed. Several equally good words, or none, are the customer's to settle: the form
says which, or that nothing matched and what is serviced, and keeps what was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import Product
from portal.i18n import MESSAGES
from portal.places import jio

_LETTERS = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_ANY_HAN = re.compile(r"[\u4e00-\u9fff]")
# Pinyin this short ("ji", "kong") names too many things to be read alone inside other letters.
_SHORTEST_INSIDE = 4


@dataclass(frozen=True, slots=True)
class ProductReading:
    """What a typed product reads as: one catalogue name, several it could be, or none."""

    product: str | None
    candidates: tuple[str, ...]
    categories: tuple[str, ...]  # what is serviced, to say when nothing matched


def offered(session: Session) -> list[str]:
    """The catalogue's names a customer may pick from: categories, then product lines."""
    rows = session.execute(select(Product.category, Product.name)).all()
    categories = sorted({c for c, _ in rows if c})
    lines = sorted({n for _, n in rows if n} - set(categories))
    return categories + lines


def _words(session: Session) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """Catalogue words (lower case) → the name stored; each name's category; categories."""
    rows = session.execute(select(Product.category, Product.name)).all()
    words: dict[str, str] = {}
    category_of: dict[str, str] = {}
    for category, name in rows:
        for word in (category, name):
            if word:
                words[word.lower()] = word
                category_of[word] = category
        english = MESSAGES.get(f"category.{category}")
        if english:
            words[english[1].lower()] = category
    return words, category_of, tuple(sorted({c for c, _ in rows if c}))


@lru_cache(maxsize=1024)
def _spelled(word: str) -> str:
    """A Chinese word's pinyin as one string ("洗衣机" → "xiyiji"); "" for any other."""
    if not _ANY_HAN.search(word) or not all(_ANY_HAN.match(ch) for ch in word):
        return ""
    return "".join(jio.pinyin(word))


def _one(found: set[str], category_of: dict[str, str]) -> str | None:
    """The one name several matches come to: a category whose own lines matched with it."""
    if len(found) == 1:
        return next(iter(found))
    categories = {category_of.get(n, n) for n in found}
    if len(categories) == 1 and (category := next(iter(categories))) in found:
        return category
    return None


def _longest(found: dict[str, str], category_of: dict[str, str]) -> tuple[str | None, set[str]]:
    """Of matched words (word → name), the name of the longest; else the tied names."""
    if not found:
        return None, set()
    size = max(len(w) for w in found)
    names = {name for word, name in found.items() if len(word) == size}
    return _one(names, category_of), names


def read_product(session: Session, typed: str) -> ProductReading | None:
    """What `typed` names in the catalogue; None when the catalogue is empty (nothing to
    read against: the words are taken as typed)."""
    words, category_of, categories = _words(session)
    if not words:
        return None
    text = " ".join(typed.split()).lower()
    if text in words:
        return ProductReading(words[text], (), categories)
    inside = {
        w: n
        for w, n in words.items()
        if (w in text if _ANY_HAN.search(w) else re.search(rf"\b{re.escape(w)}\b", text))
    }
    name, tied = _longest(inside, category_of)
    if name is None and not tied:
        letters = _LETTERS.findall(text)
        joined = "".join(letters)
        spelled = {}
        if letters:
            for word, target in words.items():
                sound = _spelled(word)
                if sound and (
                    sound == joined
                    or sound in letters
                    or (len(sound) >= _SHORTEST_INSIDE and sound in joined)
                ):
                    spelled[sound] = target
        name, tied = _longest(spelled, category_of)
    if name is None and not tied:
        parts = _HAN.findall(text)
        within = {n for w, n in words.items() for part in parts if part in w}
        name, tied = _one(within, category_of), within
    if name is not None:
        return ProductReading(name, (), categories)
    return ProductReading(None, tuple(sorted(tied)), categories)
