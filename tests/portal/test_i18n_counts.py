"""Texts with a count read right in English ("1 day", "2 days") through Babel's plural rules,
counts are written as numbers of the language, and a field is named once by its code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.database import Database, utcnow
from portal.errors import Invalid
from portal.i18n import EN_PLURALS, MESSAGES, both, t
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
    # A caller that names the field itself still may (labels that are not fields).
    assert both("validation.missing", field="x", field_zh="甲", field_en="a")[1].endswith("'a'")


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
