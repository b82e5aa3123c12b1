"""Texts with a count read right in English ("1 day", "2 days") through Babel's plural rules,
counts are written as numbers of the language, and a field is named once by its code."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.database import Database, utcnow
from portal.errors import Invalid
from portal.i18n import (
    EN_COUNTED,
    EN_PLURALS,
    MESSAGES,
    STATUS_LABELS,
    Term,
    both,
    stored_params,
    t,
)
from portal.security import Principal
from portal.tickets import service as tickets
from portal.tickets.schemas import TransitionRequest
from tests.portal import factories as f


def test_every_plural_text_is_the_messages_own_english() -> None:
    for key, (count, forms) in EN_PLURALS.items():
        zh, en = MESSAGES[key]
        assert forms["other"] == en, key
        assert "{" + count + "}" in zh, key


@pytest.mark.parametrize(
    ("key", "params", "english"),
    [
        ("error.reopen_window", {"days": 1}, "Completed more than 1 day ago"),
        ("error.reopen_window", {"days": 30}, "Completed more than 30 days ago"),
        ("sla.promise.minutes", {"n": 1}, "1 minute"),
        ("sla.promise.minutes", {"n": 1440}, "1,440 minutes"),
        ("ui.fact.reopened", {"count": 1}, "Reopened once"),
        ("ui.fact.reopened", {"count": 3}, "Reopened 3 times"),
        ("golive.admins.ok", {"n": 1}, "1 admin account"),
        ("golive.admins.ok", {"n": 2}, "2 admin accounts"),
    ],
)
def test_the_english_form_follows_the_count(key: str, params: dict[str, int], english: str) -> None:
    assert t(key, "en", **params).startswith(english)


def test_chinese_keeps_its_one_form_with_the_number_written_out() -> None:
    assert t("sla.promise.minutes", "zh", n=1440) == "1,440 分钟"
    assert t("error.reopen_window", "zh", days=1).startswith("完工已超过1天")


def test_a_field_is_named_once_by_its_code() -> None:
    assert both("validation.missing", field="reason") == (
        "缺少必填字段「原因」",
        "Missing required field 'reason'",
    )
    # A caller that names the field itself still may (labels that are not fields), once.
    named = Term("甲", "a")
    assert both("validation.missing", field="x", field_name=named) == (
        "缺少必填字段「甲」",
        "Missing required field 'a'",
    )


def test_no_sentence_takes_a_parameter_once_per_language() -> None:
    # A word that changes with the language (a status, a reason) is one parameter, a Term:
    # no `{x_zh}` in the Chinese and `{x_en}` in the English for callers to fill twice.
    for key, (zh, en) in MESSAGES.items():
        names = set(re.findall(r"\{(\w+)\}", zh)) | set(re.findall(r"\{(\w+)\}", en))
        assert not {n for n in names if n.endswith(("_zh", "_en"))}, key


def test_a_term_is_written_in_the_sentence_s_language() -> None:
    current = Term.of(STATUS_LABELS, "completed")
    assert "「已完工」" in t("error.reschedule_not_allowed", "zh", current=current)
    english = t("error.reschedule_not_allowed", "en", current=current)
    assert "Completed" in english and "已完工" not in english


def test_a_queued_notification_keeps_its_words_in_both_languages() -> None:
    # Stored as JSON, the Term comes back as one; a payload queued before Terms (a word and
    # its `_en`) reads right too.
    stored = {"number": "SR1", "kind": Term.key("sla.kind.response").to_json()}
    older = {"number": "SR1", "kind": t("sla.kind.response", "zh"), "kind_en": "response"}
    for payload in (stored, older):
        params = stored_params(payload)
        assert "the response deadline" in t("notify.sla_warning", "en", due="x", **params)
        assert "的响应时限" in t("notify.sla_warning", "zh", due="x", **params)


def test_reopening_after_a_one_day_window_says_one_day(db: Database) -> None:
    with db.session() as s:
        engineer = f.engineer(s, network=f.network(s))
        ticket = f.ticket(
            s,
            customer=f.customer(s),
            at=utcnow() - timedelta(days=2),
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete"),
            engineer=engineer,
        )
        with pytest.raises(Invalid) as refused:
            tickets.transition(
                s,
                ticket=ticket,
                req=TransitionRequest(action="reopen"),
                principal=Principal(kind="service", role="admin", name="t"),
                reopen_window=timedelta(days=1),
            )
        assert "more than 1 day ago" in refused.value.message_en


def test_a_service_error_names_its_field_once() -> None:
    missing = Invalid("validation.missing", field="reason")
    assert (missing.message_zh, missing.message_en) == (
        "缺少必填字段「原因」",
        "Missing required field 'reason'",
    )
    assert missing.field == "reason"


def test_every_counted_word_is_a_parameter_of_both_sentences() -> None:
    for key, counted in EN_COUNTED.items():
        zh, en = MESSAGES[key]
        for name in counted:
            assert "{" + name + "}" in zh and "{" + name + "}" in en, (key, name)


@pytest.mark.parametrize(
    ("key", "params", "english", "chinese"),
    [
        (
            "dispatch.ui.plan_summary",
            {"engineers": 1, "stops": 3, "km": "12.0", "left": 0},
            "1 engineer, 3 visits, 12.0 km in all",
            "1 位工程师，3 个上门点",
        ),
        ("staff.form_problems", {"n": 1}, "1 field needs a change", "有 1 项需要修改"),
        ("staff.form_problems", {"n": 2}, "2 fields need a change", "有 2 项需要修改"),
        ("assets.field.months", {"n": 1}, "1 month's warranty", "整机保修 1 个月"),
        ("my.login.sent", {"phone": "138****8000", "minutes": 1}, "valid for 1 minute.", "1 分钟"),
        ("kb.stats", {"entries": 1200, "model": "e5"}, "1,200 entries", "1,200 条"),
    ],
)
def test_a_counted_word_follows_its_count(
    key: str, params: dict[str, object], english: str, chinese: str
) -> None:
    assert english in t(key, "en", **params)
    assert chinese in t(key, "zh", **params)
