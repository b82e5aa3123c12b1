"""Addresses in official names: fields and free text normalised, addresses found in messages
(and not found where there are none), coverage compared on the names."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.places.service import (
    Place,
    city_key,
    city_spellings,
    covers,
    find_address,
    normalise,
    same_city,
)

SHANGHAI = ("上海市", "上海市")
PUDONG = Place("上海市", "上海市", "浦东新区")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"city": "上海市"}, Place(*SHANGHAI)),
        ({"city": "上海"}, Place(*SHANGHAI)),
        ({"city": "沪"}, Place(*SHANGHAI)),
        ({"city": " 上海 "}, Place(*SHANGHAI)),
        ({"district": "浦东"}, PUDONG),
        ({"district": "浦东新区"}, PUDONG),
        ({"city": "上海", "district": "浦东新区"}, PUDONG),
        ({"city": "沪", "district": "浦东"}, PUDONG),
        (
            {"address": "北京朝阳区建国路88号"},
            Place("北京市", "北京市", "朝阳区", "建国路88号"),
        ),
        ({"address": "广州天河体育西路"}, Place("广东省", "广州市", "天河区", "体育西路")),
        ({"city": "广州", "district": "天河"}, Place("广东省", "广州市", "天河区")),
        ({"city": "杭州", "district": "西湖区"}, Place("浙江省", "杭州市", "西湖区")),
        ({"city": "南京", "district": "鼓楼区"}, Place("江苏省", "南京市", "鼓楼区")),
        # The address fills what the fields leave blank.
        (
            {"city": "上海", "address": "浦东新区张杨路500号"},
            Place("上海市", "上海市", "浦东新区", "张杨路500号"),
        ),
        # Fields win where the address says otherwise.
        (
            {"city": "上海", "district": "徐汇区", "address": "北京市朝阳区建国路88号"},
            Place("上海市", "上海市", "徐汇区", ""),
        ),
        # A name jionlp does not know compares as written.
        ({"city": "测试市"}, Place("", "测试市", "")),
        ({}, Place()),
        ({"address": "空调不制冷"}, Place()),
    ],
)
def test_normalise(fields: dict[str, str], expected: Place) -> None:
    assert normalise(**fields) == expected


def test_full_address_does_not_repeat_a_municipality() -> None:
    assert normalise(address="上海浦东张杨路500号").full == "上海市浦东新区张杨路500号"
    assert normalise(address="广州天河体育西路").full == "广东省广州市天河区体育西路"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "空调不制冷，地址上海市浦东新区张杨路500号，电话13800138000，明天下午来",
            Place("上海市", "上海市", "浦东新区", "张杨路500号"),
        ),
        ("上海浦东，张杨路500号", Place("上海市", "上海市", "浦东新区", "张杨路500号")),
        ("我家住在浦东新区张杨路500号", Place("上海市", "上海市", "浦东新区", "张杨路500号")),
        (
            "上海市浦东新区张杨路500号的空调坏了",
            Place("上海市", "上海市", "浦东新区", "张杨路500号"),
        ),
        ("地址是北京市朝阳区建国路88号3栋", Place("北京市", "北京市", "朝阳区", "建国路88号3栋")),
        ("深圳南山科技园", Place("广东省", "深圳市", "南山区", "科技园")),
        ("浦东的冰箱坏了", PUDONG),
        ("我在上海", Place(*SHANGHAI)),
        ("朝阳区建国路88号", Place("", "", "朝阳区", "建国路88号")),
        ("我家在阳光小区3栋201室", Place(detail="阳光小区3栋201室")),
        ("中山路100号", Place(detail="中山路100号")),
    ],
)
def test_addresses_found_in_messages(text: str, expected: Place) -> None:
    assert find_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "空调不制冷",
        "洗衣机漏水了，派人来修",
        "你们保修期一般多久",
        "查一下工单SR20200101-9999",
        "型号KFR-35GW",
        "我不知道",
        "家里的冰箱坏了",
        "明天下午来",
        "5",
        "嗯",
        "",
        "hi, my washing machine is broken",
        "朝阳区",  # a district in several cities, with nothing more
        "和平",
        "东方",
        "3号线",
        "南京路",
    ],
)
def test_no_address_where_there_is_none(text: str) -> None:
    assert find_address(text) is None


def test_city_keys_and_spellings() -> None:
    assert {city_key(c) for c in ("上海市", "上海", "沪", "浦东")} == {"上海市"}
    assert same_city("上海", "沪") and not same_city("上海", "北京") and not same_city("", "")
    assert city_spellings("上海") >= {"上海市", "上海", "沪"}
    assert city_spellings("杭州") == {"杭州市", "杭州"}


@pytest.mark.parametrize(
    ("place", "coverage", "covered"),
    [
        (normalise(city="上海市", district="浦东"), ["浦东新区"], True),
        (normalise(city="沪", district="浦东新区"), ["浦东新区", "徐汇区"], True),
        (normalise(city="上海", district="徐汇区"), ["浦东新区"], False),
        (normalise(city="上海", district=""), ["浦东新区"], False),
        (normalise(city="上海", district=""), [], True),
        (normalise(city="北京", district="浦东新区"), [], False),
        (Place(), [], False),
    ],
)
def test_coverage_compares_official_names(place: Place, coverage: list[str], covered: bool) -> None:
    assert covers(city="上海", coverage=coverage, place=place) is covered


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_read_without_error(text: str) -> None:
    found = find_address(text)
    assert found is None or found.known
    place = normalise(city=text[:32], district=text[32:64], address=text)
    assert all(isinstance(v, str) for v in (place.province, place.city, place.district))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ["上海", "浦东", "张杨路", "500号", "，", "明天", "空调", "沪", "区", "市"]
        ),
        max_size=30,
    )
)
def test_address_like_text_is_read_without_error(words: list[str]) -> None:
    found = find_address("".join(words))
    assert found is None or found.known


def test_readers_agree_when_called_from_many_threads() -> None:
    # jionlp keeps the call in progress on shared objects: calls must not interleave.
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime

    from portal.intake.windows import ZONE, find_window

    now = datetime(2026, 11, 23, 10, 30, tzinfo=ZONE)
    # The same table rows matched with different counts: one call reading another's counts
    # would place the bare 朝阳区 in Beijing.
    texts = [
        "北京朝阳区建国路88号，明天下午",
        "朝阳区建国路88号，周六上午",
        "长春朝阳区红旗街，后天晚上",
        "上海浦东张杨路500号，下周三",
        "浦东张杨路500号，明天上午十点半",
    ]

    def read(text: str) -> tuple[object, ...]:
        return (find_address(text), find_window(text, now))

    expected = [read(t) for t in texts]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a loaded server would
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(read, texts * 40))
    finally:
        sys.setswitchinterval(interval)
    assert results == expected * 40
