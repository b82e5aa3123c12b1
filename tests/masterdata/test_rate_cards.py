"""The rate-card sheet (价目表) of the master-data workbook: a dry run names every bad cell in
both languages, the same file again adds no version, a changed row adds exactly one version
(the old one stays as it was), and an export imports back unchanged."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.database import Database
from portal.fees.models import RateCard
from tests.masterdata import book
from tests.masterdata.test_import import _import
from tests.masterdata.test_pages import ERROR_ROW, _upload
from tests.portal import factories as f
from tests.portal.test_pages import login

HEAD = [
    "价目表编码",
    "价目表名称",
    "生效日期",
    "服务类型",
    "品类",
    "保内保外",
    "上门服务费",
    "含工时(分钟)",
    "超时每小时",
    "工程师计件",
    "工程师超时每小时",
    "里程费(公里:收费/工程师)",
]
CARDS: list[list[Any]] = [
    HEAD,
    [
        "SH-2027",
        "上海 2027",
        "2027-01-01",
        "维修",
        "洗衣机",
        "保外",
        "80",
        60,
        "40",
        "50",
        "20",
        "0-10:0/0、10-30:20/10、30-:50/25",
    ],
    ["SH-2027", "", "", "安装", "空调", "保外", "150.50", 90, "60", "90", "30", ""],
    ["SH-2027", "", "", "*", "", "保内", 0, "", "", "45", "", ""],
]


def _book(cards: list[list[Any]]) -> bytes:
    return book.xlsx({**book.SHEETS, "价目表": cards})


def _versions(db: Database, code: str = "SH-2027") -> list[RateCard]:
    with db.session() as s:
        cards = list(
            s.scalars(select(RateCard).where(RateCard.code == code).order_by(RateCard.version))
        )
        s.expunge_all()
        return cards


def _count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(RateCard)) or 0)


def test_the_dry_run_names_every_bad_rate_card_cell(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    bad = [list(r) for r in CARDS]
    bad[1][3] = "拆机"  # no such service type
    bad[2][4] = "冰箱"  # no product of that category
    bad[3][6] = "八十"  # not money
    bad[3][9] = "12.345"  # money has two places at most
    bad.append(
        ["SH-2027", "", "", "维修", "洗衣机", "", "80", "", "", "", "", ""]
    )  # no warranty, no pay
    bad.append(["", "无编码", "2027-01-01", "维修", "", "保外", "80", "", "", "50", "", ""])
    bad.append(["NEW", "新卡", "2027-13-40", "维修", "", "保外", "80", "", "", "50", "", "5-:1"])
    response = _import(client, admin, _book(bad), apply=False)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    found = {(e["sheet"], e["row"], e["column"]) for e in errors}
    assert found == {
        ("价目表", 2, "service_type"),
        ("价目表", 3, "product_category"),
        ("价目表", 4, "service_fee"),
        ("价目表", 4, "engineer_pay"),
        ("价目表", 5, "warranty"),
        ("价目表", 5, "engineer_pay"),
        ("价目表", 6, "code"),
        ("价目表", 7, "effective_from"),
    }
    for e in errors:
        assert e["message_zh"] and e["message_en"] and e["message_zh"] != e["message_en"]
    by_cell = {(e["row"], e["column"]): e for e in errors}
    assert "冰箱" in by_cell[(3, "product_category")]["message_zh"]
    assert "冰箱" in by_cell[(3, "product_category")]["message_en"]
    assert "上门服务费" in by_cell[(4, "service_fee")]["message_zh"]
    assert "service fee" in by_cell[(4, "service_fee")]["message_en"]
    assert _count(db) == 0


def test_bands_and_a_second_start_are_checked_too(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    bad = [list(r) for r in CARDS]
    bad[1][11] = "0-10:0/0、5-30:20"  # overlapping
    bad[2][2] = "2027-02-01"  # the same card said to start on another day
    bad.append(
        ["OTHER", "另一张", "2027-01-01", "维修", "", "保外", "80", "", "", "50", "", "十公里"]
    )
    response = _import(client, admin, _book(bad), apply=False)
    assert response.status_code == 422, response.text
    found = {(e["row"], e["column"]) for e in response.json()["errors"]}
    assert found == {(2, "bands"), (3, "effective_from"), (5, "bands")}


def test_apply_then_the_same_file_adds_no_version(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    data = _book(CARDS)
    dry = _import(client, admin, data, apply=False)
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"]["rate_cards"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert _count(db) == 0
    first = _import(client, admin, data, apply=True)
    assert first.status_code == 200, first.text
    (card,) = _versions(db)
    assert (card.version, card.name, card.effective_from) == (1, "上海 2027", date(2027, 1, 1))
    lines = {(ln.service_type, ln.product_category, ln.warranty): ln for ln in card.lines}
    install = lines[("installation", "空调", "out")]
    assert install.service_fee == Decimal("150.50") and isinstance(install.service_fee, Decimal)
    assert (install.included_minutes, install.hour_rate) == (90, Decimal("60.00"))
    warranty = lines[("*", "*", "in")]
    assert (warranty.service_fee, warranty.included_minutes, warranty.hour_rate) == (
        Decimal("0.00"),
        60,
        Decimal("0.00"),
    )
    assert [(b.min_km, b.max_km, b.fee, b.engineer_pay) for b in card.bands] == [
        (Decimal("0.0"), Decimal("10.0"), Decimal("0.00"), Decimal("0.00")),
        (Decimal("10.0"), Decimal("30.0"), Decimal("20.00"), Decimal("10.00")),
        (Decimal("30.0"), None, Decimal("50.00"), Decimal("25.00")),
    ]
    again = _import(client, admin, data, apply=True)
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["rate_cards"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert [c.version for c in _versions(db)] == [1]


def test_a_changed_row_adds_exactly_one_version_and_keeps_the_old(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, _book(CARDS), apply=True).status_code == 200
    edited = [list(r) for r in CARDS]
    edited[1][6] = "95"  # the repair visit costs more
    same_day = _import(client, admin, _book(edited), apply=True)
    # A new version must start later than the one it follows: said at the start's cell.
    assert same_day.status_code == 422
    (err,) = same_day.json()["errors"]
    assert (err["sheet"], err["row"], err["column"]) == ("价目表", 2, "effective_from")
    assert [c.version for c in _versions(db)] == [1]
    edited[1][2] = "2027-07-01"
    response = _import(client, admin, _book(edited), apply=True)
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["rate_cards"] == {"created": 0, "updated": 1, "unchanged": 0}
    old, new = _versions(db)
    assert (old.version, new.version) == (1, 2)
    assert old.effective_to == date(2027, 7, 1) and new.effective_to is None
    fee = {ln.service_type: ln.service_fee for ln in old.lines if ln.warranty == "out"}
    assert fee["repair"] == Decimal("80.00")  # the old version is as it was
    fee = {ln.service_type: ln.service_fee for ln in new.lines if ln.warranty == "out"}
    assert fee["repair"] == Decimal("95.00")
    assert len(new.bands) == 3
    # A new code is a new card; the changed one again is no third version.
    edited.append(
        ["BJ-2027", "北京 2027", "2027-03-01", "维修", "", "保外", "70", "", "", "40", "", ""]
    )
    more = _import(client, admin, _book(edited), apply=True)
    assert more.status_code == 200, more.text
    assert more.json()["counts"]["rate_cards"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert [c.version for c in _versions(db)] == [1, 2]
    assert [c.version for c in _versions(db, "BJ-2027")] == [1]


def test_export_imports_back_unchanged(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, _book(CARDS), apply=True).status_code == 200
    edited = [list(r) for r in CARDS]
    edited[1][2], edited[2][6] = "2027-07-01", "160"
    assert _import(client, admin, _book(edited), apply=True).status_code == 200
    template = client.get("/api/v1/admin/masterdata/template.xlsx", headers=admin)
    blank = load_workbook(io.BytesIO(template.content))
    assert "价目表" in blank.sheetnames and blank["价目表"].max_row == 1
    exported = client.get("/api/v1/admin/masterdata/export", headers=admin)
    got = load_workbook(io.BytesIO(exported.content))
    assert [c.value for c in got["价目表"][1]] == [c.value for c in blank["价目表"][1]]
    rows = list(got["价目表"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3  # the newest version's lines only
    assert {r[2] for r in rows} == {"2027-07-01"}
    assert "160.5" not in {str(r[6]) for r in rows} and "160" in {str(r[6]) for r in rows}
    back = _import(client, admin, exported.content, apply=True)
    assert back.status_code == 200, back.text
    counts = back.json()["counts"]
    assert counts["rate_cards"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert [c.version for c in _versions(db)] == [1, 2]
    csv = client.get(
        "/api/v1/admin/masterdata/export",
        headers=admin,
        params={"format": "csv", "kind": "rate_cards"},
    )
    assert csv.status_code == 200
    again = _import(
        client, admin, csv.content, apply=True, name="rate_cards.csv", kind="rate_cards"
    )
    assert again.status_code == 200, again.text
    assert again.json()["counts"]["rate_cards"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_the_import_page_lists_rate_card_errors_and_counts(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        username = f.user(s, role="admin").username
    login(client, username)
    bad = [list(r) for r in CARDS]
    bad[2][4] = "冰箱"
    report = _upload(client, _book(bad), apply=False)
    assert report.status_code == 422
    assert ERROR_ROW.findall(report.text) == [("价目表", "3")]
    assert "品类「冰箱」不存在" in report.text
    assert "No product category &#39;冰箱&#39;" in report.text
    applied = _upload(client, _book(CARDS), apply=True)
    assert applied.status_code == 200 and 'data-applied="true"' in applied.text
    assert 'data-kind="rate_cards"' in applied.text
    assert [c.version for c in _versions(db)] == [1]
