"""The master data pages through the real app: the admin's lists, edit forms, import report
and downloads; a network manager's own network; everyone else refused."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.database import Database
from portal.i18n import MESSAGES
from portal.masterdata.ratecards import BOOK_KINDS
from portal.networks.models import ServiceNetwork
from tests.masterdata import book
from tests.portal import factories as f
from tests.portal.test_pages import csrf, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERROR_ROW = re.compile(r'data-testid="import-error-row" data-sheet="([^"]*)" data-row="(\d+)"')


def _user(db: Database, role: str, **fields: Any) -> str:
    with db.session() as s:
        return f.user(s, role=role, **fields).username


def _upload(client: TestClient, data: bytes, *, apply: bool) -> Any:
    return client.post(
        "/masterdata/import",
        data={"csrf_token": csrf(client, "/masterdata/import"), "apply": "1" if apply else "0"},
        files={"file": ("company.xlsx", data, XLSX)},
    )


def test_the_admin_imports_from_the_page_and_edits_a_network(
    client: TestClient, db: Database
) -> None:
    login(client, _user(db, "admin"))
    home = client.get("/tickets")
    assert 'data-testid="nav-masterdata"' in home.text
    bad = book.changed("网点", 3, 1, "加盟")
    report = _upload(client, book.xlsx(bad), apply=False)
    assert report.status_code == 422
    # The bad row, and the engineer who works there (refused in turn, naming the network).
    assert ERROR_ROW.findall(report.text) == [("网点", "4"), ("工程师", "3")]
    assert "类型" in report.text and "must be one of" in report.text
    dry = _upload(client, book.xlsx(), apply=False)
    assert dry.status_code == 200 and 'data-applied="false"' in dry.text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ServiceNetwork)) == 0
    applied = _upload(client, book.xlsx(), apply=True)
    assert applied.status_code == 200 and 'data-applied="true"' in applied.text
    listing = client.get("/masterdata/networks")
    assert listing.status_code == 200
    assert listing.text.count('data-testid="masterdata-row"') == 3
    with db.session() as s:
        xuhui = s.scalars(select(ServiceNetwork).where(ServiceNetwork.name == "徐汇授权店")).one()
        xid = xuhui.id
    form = client.get(f"/masterdata/networks/{xid}")
    assert 'value="徐汇区、长宁区"' in form.text
    fields = {
        "name": "徐汇授权店",
        "kind": "authorised",
        "city": "上海",
        "districts": "徐汇区、长宁区、闵行区",
        "capacity": "30",
        "contact_phone": "not a phone",
    }
    token = csrf(client, f"/masterdata/networks/{xid}")
    refused = client.post(f"/masterdata/networks/{xid}", data={"csrf_token": token, **fields})
    assert refused.status_code == 422
    assert 'data-testid="field-error"' in refused.text
    fields["contact_phone"] = "021-64000000"
    saved = client.post(f"/masterdata/networks/{xid}", data={"csrf_token": token, **fields})
    assert saved.status_code == 200 and str(saved.url).endswith("/masterdata/networks")
    with db.session() as s:
        xuhui = s.get_one(ServiceNetwork, xid)
        assert (xuhui.capacity, xuhui.coverage) == (30, ["徐汇区", "长宁区", "闵行区"])
    export = client.get("/masterdata/export.xlsx")
    assert export.status_code == 200 and export.headers["content-type"] == XLSX
    assert client.get("/masterdata/template.xlsx").status_code == 200


def test_a_network_manager_sees_only_their_network_and_engineers(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        own, other = f.network(s, name="浦东服务中心"), f.network(s, name="徐汇授权店")
        own_id, other_id = own.id, other.id
        manager = f.user(s, role="network_manager", network=own).username
    login(client, manager)
    index = client.get("/masterdata")
    assert index.status_code == 200
    assert 'href="/masterdata/parts"' not in index.text
    assert client.get(f"/masterdata/networks/{own_id}").status_code == 200
    assert client.get(f"/masterdata/networks/{other_id}").status_code == 404
    assert client.get("/masterdata/parts").status_code == 403
    assert client.get("/masterdata/import").status_code == 403


def test_the_desk_has_no_master_data(client: TestClient, db: Database) -> None:
    login(client, _user(db, "agent"))
    assert 'data-testid="nav-masterdata"' not in client.get("/tickets").text
    assert client.get("/masterdata").status_code == 403


def test_every_kind_and_column_is_named_through_the_translations() -> None:
    # Headings, tabs and messages name a column by its i18n key, never by words kept in data.
    for kind in BOOK_KINDS.values():
        assert kind.title_key in MESSAGES, kind.name
        for col in kind.columns:
            assert col.title_key in MESSAGES, col.title_key
            assert col.heading == f"{MESSAGES[col.title_key][0]} {col.key}"
