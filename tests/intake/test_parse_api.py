"""POST /api/v1/intake/parse, the bot's one reader of times, addresses and phone numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.config import Settings
from portal.database import Database
from tests.portal import factories as f

URL = "/api/v1/intake/parse"
NOW = "2026-12-06T10:30:00+08:00"  # a Sunday morning in Shanghai
ONE_SHOT = "空调不制冷，地址上海市浦东新区张杨路500号，电话13800138000，明天下午来"


def _parse(client: TestClient, headers: dict[str, str], text: str, now: str | None = NOW) -> Any:
    body: dict[str, Any] = {"text": text}
    if now is not None:
        body["now"] = now
    r = client.post(URL, json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_one_shot_report(client: TestClient, bot_headers: dict[str, str]) -> None:
    assert _parse(client, bot_headers, ONE_SHOT) == {
        "window": {
            "start": "2026-12-07T13:00:00+08:00",
            "end": "2026-12-07T18:00:00+08:00",
            "canonical": "2026-12-07 13:00-18:00",
            "label_zh": "12月7日（周一）下午 13:00–18:00",
            "label_en": "Mon 7 Dec, afternoon 13:00–18:00",
        },
        "window_error": None,
        "address": {
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": "张杨路500号",
            "full": "上海市浦东新区张杨路500号",
        },
        "phone": "13800138000",
    }


@pytest.mark.parametrize(
    ("text", "start", "end", "error"),
    [
        # On a Sunday, 周六 is the coming Saturday, not yesterday.
        ("周六上午", "2026-12-12T08:00:00+08:00", "2026-12-12T12:00:00+08:00", None),
        ("星期一下午", "2026-12-07T13:00:00+08:00", "2026-12-07T18:00:00+08:00", None),
        ("下周三", "2026-12-09T09:00:00+08:00", "2026-12-09T18:00:00+08:00", None),
        ("后天晚上", "2026-12-08T18:00:00+08:00", "2026-12-08T20:00:00+08:00", None),
        ("tomorrow afternoon", "2026-12-07T13:00:00+08:00", "2026-12-07T18:00:00+08:00", None),
        ("明天晚上10点", None, None, "off_hours"),
        ("明天凌晨3点", None, None, "off_hours"),
        ("今天上午", None, None, "too_soon"),
        ("上周五", None, None, "past"),
        ("下周", None, None, "too_long"),
        ("明年3月1日", None, None, "too_far"),
        ("随时都行", None, None, "unparsed"),
        ("空调不制冷", None, None, None),
    ],
)
def test_times_in_and_out_of_hours(
    client: TestClient,
    bot_headers: dict[str, str],
    text: str,
    start: str | None,
    end: str | None,
    error: str | None,
) -> None:
    body = _parse(client, bot_headers, text)
    assert body["window_error"] == error
    if start is None:
        assert body["window"] is None
    else:
        assert (body["window"]["start"], body["window"]["end"]) == (start, end)


def test_no_address_no_phone(client: TestClient, bot_headers: dict[str, str]) -> None:
    body = _parse(client, bot_headers, "空调不制冷")
    assert body == {"window": None, "window_error": None, "address": None, "phone": None}


def test_english_and_phone_formats(client: TestClient, bot_headers: dict[str, str]) -> None:
    body = _parse(client, bot_headers, "my fridge is broken, call +86 138-0013-8000, tomorrow 10am")
    assert body["phone"] == "13800138000" and body["address"] is None
    assert body["window"]["label_en"] == "Mon 7 Dec, morning 10:00–12:00"


def test_address_only(client: TestClient, bot_headers: dict[str, str]) -> None:
    body = _parse(client, bot_headers, "沪浦东张杨路500号")
    assert body["address"]["city"] == "上海市" and body["address"]["district"] == "浦东新区"
    assert body["window"] is None and body["window_error"] is None


def test_now_defaults_to_the_present(client: TestClient, bot_headers: dict[str, str]) -> None:
    body = _parse(client, bot_headers, "后天下午", now=None)
    assert body["window"]["label_zh"].endswith("下午 13:00–18:00")
    naive = _parse(client, bot_headers, "明天下午", now="2026-12-06T10:30:00")
    assert naive["window"]["start"] == "2026-12-07T13:00:00+08:00"


def test_staff_may_read_customers_and_strangers_may_not(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        dispatcher = f.headers_for(s, settings, "dispatcher")
        customer = f.headers_for(s, settings, "customer")
        finance = f.headers_for(s, settings, "finance")
    assert client.post(URL, json={"text": ONE_SHOT}, headers=dispatcher).status_code == 200
    assert client.post(URL, json={"text": ONE_SHOT}, headers=customer).status_code == 403
    assert client.post(URL, json={"text": ONE_SHOT}, headers=finance).status_code == 403
    anonymous = client.post(URL, json={"text": ONE_SHOT})
    assert anonymous.status_code == 401
    wrong = client.post(URL, json={"text": ONE_SHOT}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "请先登录" in wrong.json()["message_zh"]


@pytest.mark.parametrize(
    ("body", "field", "zh"),
    [
        ({}, "text", "缺少必填字段「文本」"),
        ({"text": 5}, "text", "「文本」的值无效"),
        ({"text": "好" * 2001}, "text", "「文本」过长"),
        ({"text": "明天", "now": "tomorrow"}, "now", "「参考时间」的值无效"),
        ({"text": "明天", "now": "0001-01-01T00:00:00"}, "now", "「参考时间」的值无效"),
    ],
)
def test_bad_input_is_explained_in_both_languages(
    client: TestClient, bot_headers: dict[str, str], body: dict[str, Any], field: str, zh: str
) -> None:
    r = client.post(URL, json=body, headers=bot_headers)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["errors"][0]["field"] == field
    assert zh in answer["message_zh"] and answer["message_en"]


def test_not_json_is_explained(client: TestClient, bot_headers: dict[str, str]) -> None:
    r = client.post(URL, content=b"{", headers={**bot_headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["message_zh"] and r.json()["message_en"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(max_size=2000),
    now=st.none() | st.datetimes(min_value=datetime(2000, 1, 1)).map(datetime.isoformat),
)
def test_any_text_never_fails(
    client: TestClient, bot_headers: dict[str, str], text: str, now: str | None
) -> None:
    r = client.post(URL, json={"text": text, "now": now}, headers=bot_headers)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        body = r.json()
        assert body["window"] is None or body["window_error"] is None
