"""Parts pages in headless Chromium on the real app: a network manager ships a defective part
back with its tracking number, and the stock page downloads a valid Excel workbook with the
filters it shows."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.database import Database
from portal.parts import service
from portal.parts.models import DefectiveReturn
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.parts.world import catalogue
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


def _build(db: Database) -> dict[str, Any]:
    """One network with two engineers who each fitted a returnable part: two returns owed;
    another network's return the manager must not see."""
    with db.session() as s:
        cat = catalogue(s)
        central = service.central(s)
        for code, qty in (("WM-PCB-01", 12), ("WM-MTR-01", 5), ("WM-PMP-01", 2)):
            service.receive(s, location=central, part=cat[code], quantity=qty, actor="t")
        net, far = f.network(s, name="上海浦东服务中心"), f.network(s, name="杭州西湖服务中心")
        jobs = [(net, "WM-PCB-01"), (net, "WM-MTR-01"), (far, "WM-PCB-01")]
        for network, code in jobs:
            eng = f.engineer(s, network=network)
            ticket = f.ticket(
                s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng
            )
            service.consume(
                s, ticket_id=ticket.id, part=cat[code], quantity=1, fallback=[central],
                actor="t", engineer_id=eng.id, return_to=central,
            )  # fmt: skip
        returns = s.scalars(select(DefectiveReturn).order_by(DefectiveReturn.id)).all()
        return {
            "manager": f.user(s, role="network_manager", network=net).username,
            "desk": f.user(s, role="dispatcher").username,
            "mine": [r.id for r in returns[:2]],
            "central": central.id,
            "pcb": cat["WM-PCB-01"].id,
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("parts-e2e"), _build) as running:
        yield running


def test_a_network_manager_ships_a_return(browser: Browser, portal: dict[str, Any]) -> None:
    first, second = portal["mine"]
    with signed_in_tab(browser, portal["base"], portal["manager"]) as page:
        page.click("#mainnav a[href='/parts/stock']")
        page.click("[data-testid=tab-returns]")
        page.wait_for_url("**/parts/returns")
        rows = page.locator("[data-testid=return-row]")
        expect(rows).to_have_count(2)  # their network's only
        row = page.locator(f"[data-testid=return-row][data-id='{first}']")
        expect(row).to_have_attribute("data-status", "awaiting")
        row.locator("input[name=tracking]").fill("SF1402938475")
        row.locator("[data-testid=ship-form] button").click()
        expect(page.locator("[data-testid=flash]")).to_contain_text("已寄出：电脑板")
        row = page.locator(f"[data-testid=return-row][data-id='{first}']")
        expect(row).to_have_attribute("data-status", "shipped")
        expect(row.locator("[data-testid=tracking]")).to_have_text("SF1402938475")
        expect(row.locator("[data-testid=ship-form]")).to_have_count(0)
        page.click("[data-testid=return-steps] a[data-status=shipped]")
        expect(page.locator("[data-testid=return-row]")).to_have_count(1)
        page.click("[data-testid=return-steps] a[data-status=open]")
        expect(page.locator(f"[data-testid=return-row][data-id='{second}']")).to_be_visible()
        page.screenshot(path=str(SHOTS / "returns-1280.png"), full_page=True)
    with portal["db"].session() as s:
        ret = s.get_one(DefectiveReturn, first)
        assert (ret.status, ret.tracking) == ("shipped", "SF1402938475")
        assert s.get_one(DefectiveReturn, second).status == "awaiting"


def test_the_desk_receives_and_inspects(browser: Browser, portal: dict[str, Any]) -> None:
    first = portal["mine"][0]
    with signed_in_tab(browser, portal["base"], portal["desk"]) as page:
        page.goto(f"{portal['base']}/parts/returns?status=shipped")
        row = page.locator(f"[data-testid=return-row][data-id='{first}']")
        row.locator("[data-testid=receive-form] button").click()
        expect(page.locator("[data-testid=flash]")).to_contain_text("已到货：电脑板")
        page.click("[data-testid=return-steps] a[data-status=received]")
        row = page.locator(f"[data-testid=return-row][data-id='{first}']")
        row.locator("[data-testid=inspect-form] button[value=repair]").click()
        expect(page.locator("[data-testid=flash]")).to_contain_text("已修复入库：电脑板")
    with portal["db"].session() as s:
        assert s.get_one(DefectiveReturn, first).status == "repaired"


def test_the_stock_downloads_as_excel(browser: Browser, portal: dict[str, Any]) -> None:
    with signed_in_tab(browser, portal["base"], portal["desk"]) as page:
        page.goto(f"{portal['base']}/parts/stock")
        page.select_option("select[name=location_id] >> nth=0", str(portal["central"]))
        page.click("form.filters button[type=submit]")
        page.wait_for_url(f"**location_id={portal['central']}**")
        with page.expect_download() as got:
            page.click("[data-testid=export-xlsx]")
        download = got.value
        assert download.suggested_filename.startswith("stock-")
        assert download.suggested_filename.endswith(".xlsx")
        sheet = load_workbook(io.BytesIO(download.path().read_bytes())).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("库位编码", "库位", "料号", "备件")
        # The page's filter: the central warehouse only, every part it holds.
        assert len({r[0] for r in rows[1:]}) == 1
        assert {r[2] for r in rows[1:]} == {"WM-PCB-01", "WM-MTR-01", "WM-PMP-01"}
        shown = page.locator("[data-testid=stock-row]").count()
        assert shown == len(rows) - 1
