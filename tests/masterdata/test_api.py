"""The master data JSON API: each kind created, listed, read and updated; unknown ids 404;
bad input 422 naming the field in Chinese and English; admin only, except a network
manager's own network and engineers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database
from tests.portal import factories as f

# One valid row per kind, each naming only rows made before it; then one field to change.
ROWS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "networks",
        {"name": "浦东服务中心", "kind": "自营", "city": "上海", "districts": ["浦东新区"]},
        {"capacity": 40},
    ),
    (
        "engineers",
        {
            "phone": "13800000001",
            "name": "赵工",
            "network": "浦东服务中心",
            "skills": "洗衣机/维修/2",
            "account": "zhao",
        },
        {"skills": ["洗衣机/维修/3", "空调/安装/1"]},
    ),
    ("products", {"name": "滚筒洗衣机", "category": "洗衣机"}, {"category": "洗衣设备"}),
    (
        "models",
        {"code": "WD-100", "product": "滚筒洗衣机", "name": "滚筒 10kg", "warranty_months": 12},
        {"parts_warranty_months": 36},
    ),
    (
        "fault_codes",
        {"model": "WD-100", "code": "e1", "description": "进水超时"},
        {"description": "进水慢"},
    ),
    (
        "parts",
        {"code": "P-PUMP", "name": "排水泵", "price": "120", "cost": "60", "models": ["WD-100"]},
        {"returnable": True},
    ),
    ("warehouses", {"code": "WH-1", "name": "中心库", "kind": "上级库"}, {"name": "上海中心库"}),
    ("stock", {"warehouse": "WH-1", "part": "P-PUMP", "quantity": 5}, {"quantity": 7}),
]


def test_every_kind_is_created_listed_read_and_updated(
    client: TestClient, admin: dict[str, str]
) -> None:
    for kind, row, change in ROWS:
        created = client.post(f"/api/v1/admin/{kind}", headers=admin, json=row)
        assert created.status_code == 201, (kind, created.text)
        body = created.json()
        listed = client.get(f"/api/v1/admin/{kind}", headers=admin).json()
        assert [r["id"] for r in listed] == [body["id"]]
        patched = client.patch(f"/api/v1/admin/{kind}/{body['id']}", headers=admin, json=change)
        assert patched.status_code == 200, (kind, patched.text)
        read = client.get(f"/api/v1/admin/{kind}/{body['id']}", headers=admin).json()
        for key, value in change.items():
            assert read[key] == value, (kind, key, read)
        # The same natural key again is refused, not a second row.
        again = client.post(f"/api/v1/admin/{kind}", headers=admin, json=row)
        assert again.status_code == 422, (kind, again.text)
        assert again.json()["errors"][0]["message_en"].endswith("already exists")
    fault = client.get("/api/v1/admin/fault_codes", headers=admin).json()[0]
    assert fault["code"] == "E1"  # codes are kept upper case, as the display shows them
    engineer = client.get("/api/v1/admin/engineers", headers=admin).json()[0]
    assert engineer["skills"] == ["洗衣机/维修/3", "空调/安装/1"]
    assert engineer["account"] == "zhao"


def test_renaming_an_engineer_renames_their_login(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    # A tester renamed 赵工 in master data; the top bar and the staff list kept the old name.
    net = {"name": "浦东服务中心", "kind": "自营", "city": "上海", "districts": ["浦东新区"]}
    assert client.post("/api/v1/admin/networks", headers=admin, json=net).status_code == 201
    row = {"phone": "13800000001", "name": "赵工", "network": "浦东服务中心", "account": "zhao"}
    created = client.post("/api/v1/admin/engineers", headers=admin, json=row).json()
    renamed = client.patch(
        f"/api/v1/admin/engineers/{created['id']}", headers=admin, json={"name": "赵建国"}
    )
    assert renamed.status_code == 200, renamed.text
    with db.session() as s:
        login = s.scalars(select(User).where(User.username == "zhao")).one()
        assert login.display_name == "赵建国"


def test_unknown_ids_are_404_and_bad_fields_422_in_both_languages(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert client.get("/api/v1/admin/networks/999", headers=admin).status_code == 404
    missing = client.patch("/api/v1/admin/parts/999", headers=admin, json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["message_en"] == "Part not found"
    bad = client.post(
        "/api/v1/admin/networks",
        headers=admin,
        json={"name": "川沙店", "kind": "伞下店", "city": "上海", "contact_phone": "12"},
    )
    assert bad.status_code == 422
    (error,) = bad.json()["errors"]
    assert error["field"] == "contact_phone"
    assert "手机号" in error["message_zh"] and "phone" in error["message_en"]
    orphan = client.post(
        "/api/v1/admin/networks",
        headers=admin,
        json={"name": "川沙店", "kind": "伞下店", "city": "上海"},
    )
    assert orphan.status_code == 422
    assert orphan.json()["errors"][0] == orphan.json()["errors"][0] | {
        "field": "parent",
        "message_zh": "伞下店必须填写上级网点",
        "message_en": "A sub-outlet needs a parent network",
    }
    assert client.get("/api/v1/admin/networks", headers=admin).json() == []


def test_a_network_cannot_be_its_own_ancestor(client: TestClient, admin: dict[str, str]) -> None:
    a = client.post(
        "/api/v1/admin/networks", headers=admin, json={"name": "甲", "kind": "自营", "city": "上海"}
    ).json()
    b = client.post(
        "/api/v1/admin/networks",
        headers=admin,
        json={"name": "乙", "kind": "伞下店", "parent": "甲", "city": "上海"},
    )
    assert b.status_code == 201
    loop = client.patch(f"/api/v1/admin/networks/{a['id']}", headers=admin, json={"parent": "乙"})
    assert loop.status_code == 422
    assert loop.json()["errors"][0]["field"] == "parent"


@pytest.mark.parametrize("role", ["agent", "dispatcher", "finance", "engineer"])
def test_other_staff_may_not(
    client: TestClient, db: Database, settings: Settings, role: str
) -> None:
    with db.session() as s:
        headers = f.headers_for(s, settings, role, network=f.network(s))
    assert client.get("/api/v1/admin/networks", headers=headers).status_code == 403
    assert client.post("/api/v1/admin/parts", headers=headers, json={}).status_code == 403
    assert client.get("/api/v1/admin/masterdata/export", headers=headers).status_code == 403


def test_a_network_manager_keeps_their_own_network_and_engineers(
    client: TestClient, db: Database, settings: Settings, admin: dict[str, str]
) -> None:
    with db.session() as s:
        own = f.network(s, name="浦东服务中心")
        other = f.network(s, name="徐汇授权店")
        own_id, other_id = own.id, other.id
        manager = f.headers_for(s, settings, "network_manager", network=own)
    listed = client.get("/api/v1/admin/networks", headers=manager).json()
    assert [n["id"] for n in listed] == [own_id]
    assert client.get(f"/api/v1/admin/networks/{other_id}", headers=manager).status_code == 404
    ok = client.patch(
        f"/api/v1/admin/networks/{own_id}", headers=manager, json={"contact_name": "张三"}
    )
    assert ok.status_code == 200, ok.text
    hire = {"phone": "13800000009", "name": "新工", "network": "浦东服务中心"}
    assert client.post("/api/v1/admin/engineers", headers=manager, json=hire).status_code == 201
    poach = hire | {"phone": "13800000010", "network": "徐汇授权店"}
    refused = client.post("/api/v1/admin/engineers", headers=manager, json=poach)
    assert refused.status_code == 422
    assert client.get("/api/v1/admin/parts", headers=manager).status_code == 403
    assert (
        client.get("/api/v1/admin/engineers", headers=admin).json()[0]["network"] == "浦东服务中心"
    )


def test_values_are_stored_as_the_columns_hold_them(
    client: TestClient, admin: dict[str, str]
) -> None:
    """What the database could not hold is a 422 naming the field, never a 500 (PostgreSQL
    refuses an oversized value), and a number is stored at the column's places, so reading it
    back and saving it again changes nothing."""
    net = {"name": "甲", "kind": "自营", "city": "上海", "lat": "31.2304567", "lng": "121.4737"}
    created = client.post("/api/v1/admin/networks", headers=admin, json=net)
    assert created.status_code == 201, created.text
    assert (created.json()["lat"], created.json()["lng"]) == ("31.230457", "121.473700")
    for field, value in [("lat", "500"), ("lng", "-181"), ("contact_phone", "1" * 25)]:
        bad = client.post("/api/v1/admin/networks", headers=admin, json=net | {field: value})
        assert bad.status_code == 422, (field, bad.text)
        assert bad.json()["errors"][0]["field"] == field
    long_skill = {
        "phone": "13800000001",
        "name": "赵工",
        "network": "甲",
        "skills": "洗" * 40 + "/维修/1",
    }
    refused = client.post("/api/v1/admin/engineers", headers=admin, json=long_skill)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "skills"
