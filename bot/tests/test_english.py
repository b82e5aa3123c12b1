"""English replies: every response has an English variation on language = en (the slot
actions/language.py turns to en once a customer writes English), which says the
same thing with the same placeholders and the same button payloads as the Chinese one.

The texts are rendered by Rasa's own response generator, as `rasa run` picks them."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from actions.common import response_text

EN_CONDITION = [{"type": "slot", "name": "language", "value": "en"}]
# Ideographs, CJK punctuation (，。、「」) and full-width forms (：（）！？).
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def placeholders(text: str) -> set[str]:
    """The {names} a response's text is filled with ({{ }} is a literal brace)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def english(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in variants if v.get("condition") == EN_CONDITION]


def chinese(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in variants if not v.get("condition")]


def payloads(variant: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in variant.get("buttons") or []]


def test_the_condition_names_a_value_the_language_slot_takes(domain):
    slot = domain["slots"]["language"]
    assert slot["type"] == "categorical" and "en" in slot["values"]


def test_every_response_has_one_english_variation_and_a_chinese_default(domain):
    for name, variants in domain["responses"].items():
        assert len(english(variants)) == 1, f"{name}: no English variation (or several)"
        assert chinese(variants), f"{name}: no Chinese default"
        assert all(v.get("condition") in (None, [], EN_CONDITION) for v in variants), (
            f"{name}: a condition other than language = en"
        )


def test_the_chinese_default_comes_first(domain):
    # response_text() and the ask-product buttons read the first variation as the one
    # Chinese customers see (a summary line, the product buttons).
    for name, variants in domain["responses"].items():
        assert not variants[0].get("condition"), f"{name}: the first variation is conditioned"
    line = response_text(domain, "utter_line_product", product="洗衣机")
    assert line.startswith("· 家电")


def test_english_keeps_the_placeholders_and_the_line_breaks(domain):
    for name, variants in domain["responses"].items():
        (en,) = english(variants)
        for zh in chinese(variants):
            assert placeholders(en["text"]) == placeholders(zh["text"]), name
            assert en["text"].count("\n") == zh["text"].count("\n"), name


def test_english_buttons_send_the_same_payloads(domain):
    for name, variants in domain["responses"].items():
        (en,) = english(variants)
        for zh in chinese(variants):
            assert payloads(en) == payloads(zh), name


def test_english_is_english(domain):
    for name, variants in domain["responses"].items():
        (en,) = english(variants)
        texts = [en["text"]] + [b["title"] for b in en.get("buttons") or []]
        for text in texts:
            assert not CHINESE.search(text), f"{name}: {text!r}"
            assert text.strip(), name


@pytest.mark.parametrize("language, written_in", [("en", "English"), ("zh", "Chinese")])
def test_rasa_picks_the_variation_of_the_slot(domain, language, written_in):
    nlg = TemplatedNaturalLanguageGenerator(domain["responses"])
    for name, variants in domain["responses"].items():
        # Latin values, so that only the template can bring in Chinese characters.
        values = {field: "X" for v in variants for field in placeholders(v["text"])}
        message = nlg.generate_from_slots(name, {"language": language}, "rest", **values)
        assert message is not None, name
        texts = [message["text"]] + [b["title"] for b in message.get("buttons") or []]
        found = "Chinese" if any(CHINESE.search(t) for t in texts) else "English"
        # {answer} alone (a knowledge-base answer) has no words of its own.
        if message["text"] != "X":
            assert found == written_in, f"{name} with language={language}: {texts}"
