"""Bulk import and export: a dry run lists every error and stores nothing, an apply stores
all or nothing, the same file again changes nothing, a changed row updates that row, and an
export imports back unchanged."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.assets.models import ProductModel
from portal.database import Database
from portal.masterdata.models import FaultCode
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts.models import StockBalance, StockLocation, StockMovement
from tests.masterdata import book

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import(
    client: TestClient,
    headers: dict[str, str],
    data: bytes,
    *,
    apply: bool,
    name: str = "company.xlsx",
    kind: str | None = None,
) -> Any:
    form = {"apply": "true" if apply else "false"} | ({"kind": kind} if kind else {})
    mime = XLSX if name.endswith(".xlsx") else "text/csv"
    return client.post(
        "/api/v1/admin/masterdata/import",
        headers=headers,
        files={"file": (name, data, mime)},
        data=form,
    )


def _count(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_dry_run_lists_every_error_and_stores_nothing(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    bad = book.changed("网点", 3, 1, "加盟")  # not one of 自营 / 授权 / 伞下店
    bad["工程师"][2][0] = "12345"  # not a phone
    bad["工程师"][3][2] = "不存在的网点"
    bad["型号"][2][3] = "十二"  # months are a number
    bad["备件"][1][3] = "10"  # price below the cost of 60
    bad["备件"][3][5] = "AC-99"  # fits a model nobody has
    bad["库存"][3][2] = -3
    bad["库存"].append(["WH-CENTRAL", "P-PUMP", 1, 0])  # the same key twice
    bad["网点"][0].append("备注")  # a column nobody knows
    response = _import(client, admin, book.xlsx(bad), apply=False)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["ok"] is False
    found = {(e["sheet"], e["row"], e["column"]) for e in body["errors"]}
    assert found == {
        ("网点", 1, "备注"),
        ("网点", 4, "kind"),
        ("工程师", 3, "phone"),
        ("工程师", 4, "network"),
        ("型号", 3, "warranty_months"),
        ("备件", 2, "price"),
        ("备件", 4, "models"),
        ("库存", 4, "quantity"),
        ("库存", 6, "part"),
        # Rows that name a row refused above are refused too, and say which name is unknown.
        ("故障码", 4, "model"),
        ("库存", 2, "part"),
        ("库存", 5, "part"),
    }
    for e in body["errors"]:
        assert e["message_zh"] and e["message_en"] and e["message_zh"] != e["message_en"]
    by_cell = {(e["sheet"], e["row"]): e for e in body["errors"]}
    assert "自营" in by_cell[("网点", 4)]["message_zh"]
    assert "AC-99" in by_cell[("备件", 4)]["message_en"]
    # Nothing stored, though most rows were fine.
    for model in (ServiceNetwork, Engineer, ProductModel, FaultCode, StockLocation, StockMovement):
        assert _count(db, model) == 0, model
    # An apply of the same book stores nothing either, and says why.
    applied = _import(client, admin, book.xlsx(bad), apply=True)
    assert applied.status_code == 422
    assert applied.json()["applied"] is False
    assert _count(db, ServiceNetwork) == 0


def test_apply_then_the_same_file_again_changes_nothing(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    data = book.xlsx()
    dry = _import(client, admin, data, apply=False)
    assert dry.status_code == 200, dry.text
    assert dry.json()["counts"]["networks"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert _count(db, ServiceNetwork) == 0  # a clean dry run stores nothing either
    first = _import(client, admin, data, apply=True)
    assert first.status_code == 200, first.text
    assert first.json()["applied"] is True
    with db.session() as s:
        nets = {n.name: n for n in s.scalars(select(ServiceNetwork))}
        assert nets["浦东川沙伞下店"].kind == "sub"
        assert nets["浦东川沙伞下店"].parent_id == nets["浦东服务中心"].id
        assert nets["浦东服务中心"].coverage == ["浦东新区", "闵行区"]
        zhao = s.scalars(select(Engineer).where(Engineer.phone == "13800000001")).one()
        # Stored as dispatch matches them (the ticket's type), whatever the sheet wrote.
        assert {(k.product_category, k.service_type, k.level) for k in zhao.skills} == {
            ("洗衣机", "repair", 3),
            ("空调", "installation", 2),
        }
        van = s.scalars(select(StockLocation).where(StockLocation.code == "VAN-ZHAO")).one()
        assert (van.kind, van.engineer_id) == ("van", zhao.id)
        model = s.scalars(select(ProductModel).where(ProductModel.code == "AC-35")).one()
        assert (model.warranty_months, model.parts_warranty_months) == (12, 72)
        pump = s.scalars(
            select(StockBalance).join(StockLocation).where(StockLocation.code == "WH-CENTRAL")
        ).all()
        assert {(b.part.code, b.on_hand, b.min_level) for b in pump} == {
            ("P-PUMP", 50, 10),
            ("P-BOARD", 20, 5),
        }
    movements = _count(db, StockMovement)
    again = _import(client, admin, data, apply=True)
    assert again.status_code == 200
    counts = again.json()["counts"]
    assert all(c["created"] == 0 and c["updated"] == 0 for c in counts.values()), counts
    assert counts["engineers"]["unchanged"] == 3
    assert _count(db, StockMovement) == movements  # no stock moved the second time
    assert _count(db, ServiceNetwork) == 3


def test_a_changed_row_updates_that_row_only(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, book.xlsx(), apply=True).status_code == 200
    edited = book.changed("网点", 3, 6, 30)  # 徐汇授权店 now takes 30 a day
    edited["库存"][1][2] = 45  # five pumps fewer at the central warehouse
    response = _import(client, admin, book.xlsx(edited), apply=True)
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert counts["networks"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert counts["stock"] == {"created": 0, "updated": 1, "unchanged": 3}
    with db.session() as s:
        xuhui = s.scalars(select(ServiceNetwork).where(ServiceNetwork.name == "徐汇授权店")).one()
        assert xuhui.capacity == 30
        last = s.scalars(select(StockMovement).order_by(StockMovement.id.desc())).first()
        assert last is not None and (last.kind, last.on_hand_delta) == ("adjust", -5)


def test_export_imports_back_unchanged_and_matches_the_template(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, book.xlsx(), apply=True).status_code == 200
    exported = client.get("/api/v1/admin/masterdata/export", headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == XLSX
    template = client.get("/api/v1/admin/masterdata/template.xlsx", headers=admin)
    got = load_workbook(io.BytesIO(exported.content))
    blank = load_workbook(io.BytesIO(template.content))
    assert got.sheetnames == blank.sheetnames
    for name in got.sheetnames:
        assert [c.value for c in got[name][1]] == [c.value for c in blank[name][1]]
        assert blank[name].max_row == 1
    assert got["网点"].max_row == 4 and got["库存"].max_row == 5
    back = _import(client, admin, exported.content, apply=True)
    assert back.status_code == 200, back.text
    counts = back.json()["counts"]
    assert all(c["created"] == 0 and c["updated"] == 0 for c in counts.values()), counts


def test_csv_of_one_kind_round_trips(
    client: TestClient, db: Database, admin: dict[str, str]
) -> None:
    assert _import(client, admin, book.xlsx(), apply=True).status_code == 200
    csv = client.get(
        "/api/v1/admin/masterdata/export", headers=admin, params={"format": "csv", "kind": "parts"}
    )
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("备件编码 code,")
    changed = text.replace("排水泵", "排水泵（新款）")
    response = _import(client, admin, changed.encode(), apply=True, name="parts.csv", kind="parts")
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["parts"] == {"created": 0, "updated": 1, "unchanged": 2}
    no_kind = _import(client, admin, changed.encode(), apply=True, name="parts.csv")
    assert no_kind.status_code == 422
    assert no_kind.json()["message_en"].startswith("A CSV file holds one kind")


def test_a_file_that_is_no_spreadsheet_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = _import(client, admin, b"not a workbook", apply=False)
    assert response.status_code == 422
    assert response.json()["message_zh"].startswith("无法读取文件")
