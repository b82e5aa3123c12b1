"""Engineers' certificates with their expiry: imported, edited and exported as master data,
and dispatch leaves out an engineer whose certificate the work requires is missing or has
expired by the visit day (a gas water heater needs 燃气)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from portal.config import Settings
from portal.database import Database
from portal.masterdata.models import CertificateRule, EngineerCertificate
from portal.networks.models import Engineer
from tests.dispatch import helpers as h
from tests.masterdata import book
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FAR_FUTURE = "2099-12-31"
SHEETS: dict[str, list[list[Any]]] = {
    "网点": [
        ["网点名称", "类型", "市", "覆盖区县"],
        ["浦东燃气服务站", "自营", "上海", "浦东新区"],
    ],
    "工程师": [
        ["手机号", "姓名", "所属网点", "技能(品类/服务/等级)", "常驻地址", "证书(名称/到期日)"],
        [
            "13800000021",
            "有证师傅",
            "浦东燃气服务站",
            "燃气热水器/维修/2",
            "浦东新区",
            "燃气/RQ-0012/" + FAR_FUTURE,
        ],
        [
            "13800000022",
            "过期师傅",
            "浦东燃气服务站",
            "燃气热水器/维修/3",
            "浦东新区",
            "燃气/2020-01-31",
        ],
        [
            "13800000023",
            "无证师傅",
            "浦东燃气服务站",
            "燃气热水器/维修/3、洗衣机/维修/1",
            "浦东新区",
            "高处作业/长期",
        ],
    ],
    "证书要求": [
        ["品类", "服务类型", "所需证书"],
        ["燃气热水器", "", "燃气"],  # any service on it
        ["空调", "安装", "高处作业"],
    ],
}


def _import(client: TestClient, headers: dict[str, str], data: bytes, *, apply: bool) -> Any:
    return client.post(
        "/api/v1/admin/masterdata/import",
        headers=headers,
        files={"file": ("company.xlsx", data, XLSX)},
        data={"apply": "true" if apply else "false"},
    )


def _sheets(**changes: Any) -> dict[str, list[list[Any]]]:
    copy = {k: [list(r) for r in v] for k, v in SHEETS.items()}
    for (sheet, row, col), value in changes.get("cells", {}).items():
        copy[sheet][row][col] = value
    return copy


def test_certificates_and_rules_import_idempotently_and_export_back(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    first = _import(client, admin, book.xlsx(SHEETS), apply=True)
    assert first.status_code == 200, first.text
    assert first.json()["counts"]["certificate_rules"]["created"] == 2
    with db.session() as s:
        held = {
            (e.name, c.name, c.number, c.expires_on and c.expires_on.isoformat())
            for c, e in s.execute(
                select(EngineerCertificate, Engineer).join(
                    Engineer, Engineer.id == EngineerCertificate.engineer_id
                )
            )
        }
        assert held == {
            ("有证师傅", "燃气", "RQ-0012", FAR_FUTURE),
            ("过期师傅", "燃气", "", "2020-01-31"),
            ("无证师傅", "高处作业", "", None),
        }
        rules = {
            (r.product_category, r.service_type, r.certificate)
            for r in s.scalars(select(CertificateRule))
        }
        assert rules == {("燃气热水器", "*", "燃气"), ("空调", "installation", "高处作业")}
    again = _import(client, admin, book.xlsx(SHEETS), apply=True)
    counts = again.json()["counts"]
    assert counts["engineers"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert counts["certificate_rules"] == {"created": 0, "updated": 0, "unchanged": 2}
    # A renewed certificate updates that engineer only.
    renewed = _sheets(cells={("工程师", 2, 5): "燃气/2031-06-30"})
    counts = _import(client, admin, book.xlsx(renewed), apply=True).json()["counts"]
    assert counts["engineers"] == {"created": 0, "updated": 1, "unchanged": 2}
    export = client.get("/api/v1/admin/masterdata/export", headers=admin)
    sheet = load_workbook(io.BytesIO(export.content))["工程师"]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("证书(名称/到期日) certificates")
    assert {r[column] for r in rows[1:]} == {
        "燃气/RQ-0012/" + FAR_FUTURE,
        "燃气/2031-06-30",
        "高处作业/长期",
    }
    # The export imports back unchanged.
    back = _import(client, admin, export.content, apply=False).json()
    assert back["ok"], back
    assert back["counts"]["engineers"] == {"created": 0, "updated": 0, "unchanged": 3}


def test_a_bad_certificate_cell_is_an_error_naming_it(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    bad = _sheets(
        cells={
            ("工程师", 1, 5): "燃气",  # no expiry
            ("工程师", 2, 5): "燃气/2027-02-30",  # no such day
            ("工程师", 3, 5): "燃气/2030-01-01、燃气/2031-01-01",  # twice
            ("证书要求", 2, 1): "清洗",  # not a service type
        }
    )
    r = _import(client, admin, book.xlsx(bad), apply=False)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    at = {(e["sheet"], e["row"], e["column"]) for e in errors}
    assert at == {
        ("工程师", 2, "certificates"),
        ("工程师", 3, "certificates"),
        ("工程师", 4, "certificates"),
        ("证书要求", 3, "service_type"),
    }
    first = next(e for e in errors if e["row"] == 2 and e["sheet"] == "工程师")
    assert "名称/到期日" in first["message_zh"] and "name/expiry" in first["message_en"]
    with db.session() as s:
        assert s.scalars(select(Engineer)).first() is None


def test_the_api_and_the_page_edit_certificates(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, book.xlsx(SHEETS), apply=True).status_code == 200
    listed = client.get("/api/v1/admin/engineers", headers=admin).json()
    zhao = next(e for e in listed if e["name"] == "过期师傅")
    assert zhao["certificates"] == ["燃气/2020-01-31"]
    patched = client.patch(
        f"/api/v1/admin/engineers/{zhao['id']}",
        headers=admin,
        json={"certificates": ["燃气/RQ-9/2030-05-01", "高处作业/2029-01-01"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["certificates"] == ["燃气/RQ-9/2030-05-01", "高处作业/2029-01-01"]
    refused = client.patch(
        f"/api/v1/admin/engineers/{zhao['id']}", headers=admin, json={"certificates": "燃气/明年"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "certificates"
    # The edit page shows them in one field and saves a renewal.
    with db.session() as s:
        username = f.user(s, role="admin").username
    login(client, username)
    url = f"/masterdata/engineers/{zhao['id']}"
    form = client.get(url)
    assert 'value="燃气/RQ-9/2030-05-01、高处作业/2029-01-01"' in form.text
    cells = {k: v for k, v in patched.json().items() if k != "id"}
    cells = {k: "、".join(v) if isinstance(v, list) else str(v or "") for k, v in cells.items()}
    cells["active"] = "是"
    cells["certificates"] = "燃气/RQ-9/2032-05-01"
    saved = client.post(url, data={"csrf_token": csrf(client, url), **cells})
    assert saved.status_code == 200 and str(saved.url).endswith("/masterdata/engineers")
    with db.session() as s:
        names = {(c.name, str(c.expires_on)) for c in s.scalars(select(EngineerCertificate))}
        assert ("燃气", "2032-05-01") in names and ("高处作业", "2029-01-01") not in names


@pytest.fixture
def gas(client: TestClient, db: Database, admin: dict[str, str], settings: Settings) -> Any:
    """The gas station's book imported, a dispatcher, and a gas water heater ticket."""
    assert _import(client, admin, book.xlsx(SHEETS), apply=True).status_code == 200
    with db.session() as s:
        dispatcher = h.user(s, role="dispatcher")
        who = h.customer(s)
        ticket = h.ticket(s, who, product="燃气热水器", fault_description="打不着火")
        s.commit()
        return ticket.number, h.bearer(settings, dispatcher)


def _candidates(client: TestClient, number: str, headers: dict[str, str], day: str) -> Any:
    r = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates", params={"date": day}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_dispatch_leaves_out_an_expired_or_missing_certificate(
    client: TestClient, db: Database, gas: Any
) -> None:
    number, headers = gas
    body = _candidates(client, number, headers, h.today().isoformat())
    assert [c["name"] for c in body["candidates"]] == ["有证师傅"]
    out = {e["name"]: e for e in body["excluded"]}
    assert out["过期师傅"]["reason"] == "certificate"
    assert out["无证师傅"]["reason"] == "certificate"
    assert "证书" in out["过期师傅"]["reason_zh"]
    # A dispatcher cannot assign the expired one by hand either: the reason is named.
    with db.session() as s:
        expired = s.scalars(select(Engineer).where(Engineer.name == "过期师傅")).one().id
    r = client.post(
        f"/api/v1/dispatch/tickets/{number}/assign",
        json={"engineer_id": expired},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    assert "证书" in r.json()["message_zh"]


def test_a_certificate_is_valid_through_its_expiry_day(
    client: TestClient, db: Database, gas: Any
) -> None:
    number, headers = gas
    day = h.today() + timedelta(days=3)
    with db.session() as s:
        cert = s.scalars(
            select(EngineerCertificate)
            .join(Engineer, Engineer.id == EngineerCertificate.engineer_id)
            .where(Engineer.name == "有证师傅")
        ).one()
        cert.expires_on = day
        s.commit()
    on_the_day = _candidates(client, number, headers, day.isoformat())
    assert [c["name"] for c in on_the_day["candidates"]] == ["有证师傅"]
    after = _candidates(client, number, headers, (day + timedelta(days=1)).isoformat())
    assert after["candidates"] == []


def test_work_without_a_rule_needs_no_certificate(
    client: TestClient, db: Database, gas: Any, settings: Settings
) -> None:
    _, headers = gas
    with db.session() as s:
        who = h.customer(s)
        washer = h.ticket(s, who, product="洗衣机").number
        s.commit()
    body = _candidates(client, washer, headers, h.today().isoformat())
    assert [c["name"] for c in body["candidates"]] == ["无证师傅"]
