"""District centroids shipped with the portal: dispatch measures distance for imported
engineers and customers that have an address but no coordinates, without the internet."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.dispatch.scoring import haversine_km
from portal.places import centroids
from portal.places.centroids import Centroid, centroid, centroid_of
from portal.places.jio import china_locations
from portal.places.service import Place
from tests.dispatch import helpers as h
from tests.masterdata import book
from tests.portal import factories as f

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PUDONG = (31.221517, 121.544379)
XUHUI = (31.188464, 121.436128)


def test_every_district_of_shanghai_has_its_own_centre() -> None:
    shanghai = china_locations()["上海市"]["上海市"]
    districts = [d for d in shanghai if not d.startswith("_")]
    assert len(districts) == 16
    found = {d: centroid(Place("上海市", "上海市", d)) for d in districts}
    assert all(c is not None and c.level == "district" for c in found.values()), found
    # Sixteen different points, all within 70 km of People's Square.
    spots = {(c.lat, c.lng) for c in found.values() if c is not None}
    assert len(spots) == 16
    assert all(haversine_km(31.2304, 121.4737, lat, lng) < 70 for lat, lng in spots)


def test_the_table_covers_nearly_every_district_jionlp_knows() -> None:
    table = centroids._table()
    known = 0
    total = 0
    for province, cities in china_locations().items():
        if province.startswith("_"):
            continue
        for city, districts in cities.items():
            if city.startswith("_"):
                continue
            for district in districts:
                if district.startswith("_"):
                    continue
                total += 1
                known += (province, city, district) in table
    # What is missing is mostly development zones and Taiwan: they fall back to the city.
    assert total > 2900
    assert known / total > 0.95, (known, total)
    # And every row names a place jionlp knows, so `normalise` output finds it.
    for province, city, district in table:
        assert province in china_locations()
        if city:
            assert city in china_locations()[province]
        if district:
            assert district in china_locations()[province][city]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"city": "上海", "district": "浦东"}, Centroid(*PUDONG, "district")),
        ({"city": "沪", "address": "浦东新区张江路100号"}, Centroid(*PUDONG, "district")),
        ({"address": "上海市徐汇区漕溪北路88号"}, Centroid(*XUHUI, "district")),
        ({"city": "上海", "district": "火星区"}, Centroid(31.230372, 121.473662, "city")),
        ({"city": "上海市"}, Centroid(31.230372, 121.473662, "city")),
        # A renamed county (郫县 → 郫都区) keeps its old coordinates.
        ({"city": "成都", "district": "郫都区"}, Centroid(30.795854, 103.901091, "district")),
        ({"city": "火星"}, None),
        ({}, None),
    ],
)
def test_a_place_is_found_by_its_district_else_its_city(
    fields: dict[str, str], expected: Centroid | None
) -> None:
    assert centroid_of(**fields) == expected


def test_pudong_to_xuhui_centre_to_centre_is_a_city_distance() -> None:
    km = haversine_km(*PUDONG, *XUHUI)
    assert 9 < km < 13


ENGINEERS: list[list[Any]] = [
    ["手机号", "姓名", "所属网点", "技能(品类/服务/等级)", "常驻地址", "每日单量", "在职"],
    ["13800000011", "浦东师傅", "上海总部", "空调/维修/2", "浦东新区张江", 6, "是"],
    ["13800000012", "无区师傅", "上海总部", "空调/维修/2", "上海市某小区", 6, "是"],
]


def test_imported_engineer_and_customer_without_coordinates_get_a_distance(
    client: TestClient, db: Database, settings: Settings, bot_headers: dict[str, str]
) -> None:
    """The issue's case: an engineer imported with only a home address in 浦东新区 and a
    customer who gives an address in 徐汇区: about 11 km, from the district centres."""
    sheets = {
        "网点": [
            ["网点名称", "类型", "市", "覆盖区县"],
            ["上海总部", "自营", "上海", "浦东新区、徐汇区"],  # no site coordinates either
        ],
        "工程师": ENGINEERS,
    }
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
        dispatcher = h.user(s, role="dispatcher")
        s.commit()
        headers = h.bearer(settings, dispatcher)
    imported = client.post(
        "/api/v1/admin/masterdata/import",
        headers=admin,
        files={"file": ("company.xlsx", book.xlsx(sheets), XLSX)},
        data={"apply": "true"},
    )
    assert imported.status_code == 200, imported.text
    filed = client.post(
        "/api/v1/tickets",
        json={
            "product": "空调",
            "fault_description": "不制冷",
            "phone": "13800138000",
            "channel": "web",
            "address": "上海市徐汇区漕溪北路88号",
            "fault_started": "昨天",
            "preferred_time": "明天下午",
        },
        headers=bot_headers,
    )
    assert filed.status_code == 201, filed.text
    number = filed.json()["number"]
    accept = client.post(
        f"/api/v1/tickets/{number}/transitions", json={"action": "accept"}, headers=headers
    )
    assert accept.status_code == 200, accept.text
    r = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates",
        params={"date": h.today().isoformat()},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    found = {c["name"]: c for c in r.json()["candidates"]}
    pudong = found["浦东师傅"]
    assert pudong["position_source"] == "district"
    assert 9 < pudong["distance_km"] < 13
    assert "按区县中心估算" in pudong["explanation_zh"]
    # A home address without a district: the city's centre, a few km from Xuhui's.
    nowhere = found["无区师傅"]
    assert nowhere["position_source"] == "city"
    assert 3 < nowhere["distance_km"] < 8
    # Closer counts: the engineer estimated at the city centre ranks first.
    assert [c["name"] for c in r.json()["candidates"]] == ["无区师傅", "浦东师傅"]
