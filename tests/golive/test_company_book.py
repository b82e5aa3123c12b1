"""The go-live workbook through the import API: its dry run with mistakes lists each one where
it is and stores nothing; the good book applies, and its engineers and districts are what
dispatch reads (official names, skills as ticket types, certificates)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.config import Settings
from portal.database import Database
from portal.masterdata.models import EngineerCertificate, FaultCode
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.parts.models import Part, StockBalance
from tests.golive import company
from tests.portal import factories as f

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import(client: TestClient, headers: dict[str, str], data: bytes, *, apply: bool) -> Any:
    return client.post(
        "/api/v1/admin/masterdata/import",
        headers=headers,
        files={"file": ("company.xlsx", data, XLSX)},
        data={"apply": "true" if apply else "false"},
    )


def _count(db: Database, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_go_live_book_dry_runs_its_mistakes_then_applies(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        admin = f.headers_for(s, settings, "admin")
    bad, where = company.with_errors()
    report = _import(client, admin, company.xlsx(bad), apply=True)
    assert report.status_code == 422, report.text
    errors = report.json()["errors"]
    assert {(e["sheet"], e["row"], e["column"]) for e in errors} == where
    assert all(e["message_zh"] and e["message_en"] for e in errors)
    assert any("火星区" in e["message_zh"] and "上海市" in e["message_zh"] for e in errors)
    assert _count(db, ServiceNetwork) == 0 and _count(db, Part) == 0  # applied nothing

    good = _import(client, admin, company.xlsx(), apply=True)
    assert good.status_code == 200, good.text
    counts = good.json()["counts"]
    assert counts["networks"]["created"] == 3 and counts["engineers"]["created"] == 20
    assert counts["products"]["created"] == 5 and counts["parts"]["created"] == 30
    with db.session() as s:
        nets = {n.name: n for n in s.scalars(select(ServiceNetwork))}
        assert nets[company.CHUANSHA].parent_id == nets[company.PUDONG].id
        # Stored in official names, so coverage compares with customers' addresses.
        assert (nets[company.PUDONG].province, nets[company.PUDONG].city) == ("上海市", "上海市")
        assert nets[company.XUHUI].coverage == ["徐汇区", "长宁区"]
        picked = s.scalars(select(Engineer).where(Engineer.phone == company.PICKED_PHONE)).one()
        assert {(k.product_category, k.service_type) for k in picked.skills} == {
            ("洗衣机", "repair"),
            ("冰箱", "repair"),
        }
        assert picked.home_lat is None  # no coordinates: dispatch uses the district centre
        assert s.scalar(select(func.count()).select_from(EngineerSkill)) >= 20
        assert s.scalar(select(func.count()).select_from(EngineerCertificate)) == 3
        assert s.scalar(select(func.count()).select_from(FaultCode)) == 9
        total = s.scalar(select(func.sum(StockBalance.on_hand)))
        assert total == 30 * 20 + 4 + 2
    again = _import(client, admin, company.xlsx(), apply=True).json()["counts"]
    assert all(c["created"] == 0 and c["updated"] == 0 for c in again.values()), again
