"""An admin sets a company up in headless Chromium: imports its workbook (a dry run with an
error first, then the good book), then edits one network in the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from portal.config import Settings
from portal.database import Database
from portal.main import create_app
from portal.masterdata.models import FaultCode
from portal.migrate import upgrade
from portal.networks.models import Engineer, ServiceNetwork
from portal.parts.models import StockBalance
from tests.e2e_fixtures import serve
from tests.masterdata import book
from tests.portal import factories as fx

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An empty portal (no demo) on a free port, with one admin."""
    var = tmp_path_factory.mktemp("masterdata-e2e")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        username = fx.user(s, role="admin").username
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        demo_mode=False,
        secret_key="masterdata-e2e-secret-key-long-enough-0123456789",
        action_server_secret="masterdata-e2e-action-secret-0123456789",
        bot_service_token="masterdata-e2e-bot-token-0123456789",
        rasa_token="masterdata-e2e-rasa-token-0123456789",
    )
    with serve(create_app(settings)) as base:
        yield {"base": base, "user": username, "db": db, "var": var}
    db.dispose()


@pytest.fixture
def page(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """A logged-in admin's page that may reach nothing but the portal."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(portal["base"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.goto(f"{portal['base']}/login")
    tab.fill("input[name=username]", portal["user"])
    tab.fill("input[name=password]", fx.PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/tickets**")
    yield tab
    context.close()
    assert outside == [], f"the pages reached outside the portal: {outside}"


def _file(portal: dict[str, Any], name: str, data: bytes) -> Path:
    path: Path = portal["var"] / name
    path.write_bytes(data)
    return path


def test_an_admin_imports_the_company_and_edits_a_network(
    page: Page, portal: dict[str, Any]
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base, db = portal["base"], portal["db"]
    page.click("[data-testid=nav-more] summary")  # past the bar's first entries
    page.click("[data-testid=nav-masterdata]")
    page.wait_for_url("**/masterdata")
    page.click("a[href='/masterdata/import']")
    # A book with a bad parts row: the dry run lists it and stores nothing.
    bad = book.changed("备件", 1, 3, "abc")
    page.set_input_files(
        "[data-testid=import-file]", str(_file(portal, "bad.xlsx", book.xlsx(bad)))
    )
    page.click("[data-testid=dry-run]")
    report = page.locator("[data-testid=import-report]")
    report.wait_for()
    assert report.get_attribute("data-ok") == "false"
    first = page.locator("[data-testid=import-error-row]").first
    assert (first.get_attribute("data-sheet"), first.get_attribute("data-row")) == ("备件", "2")
    assert "售价" in first.inner_text()
    with db.session() as s:
        assert s.scalars(select(ServiceNetwork)).first() is None
    # The good book, applied.
    page.set_input_files("[data-testid=import-file]", str(_file(portal, "ok.xlsx", book.xlsx())))
    page.click("[data-testid=apply]")
    page.locator("[data-testid=import-report][data-applied=true]").wait_for()
    with db.session() as s:
        nets = {n.name: n for n in s.scalars(select(ServiceNetwork))}
        assert len(nets) == 3
        assert nets["浦东川沙伞下店"].parent_id == nets["浦东服务中心"].id
        assert len(s.scalars(select(Engineer)).all()) == 3
        assert len(s.scalars(select(FaultCode)).all()) == 3
        assert sum(b.on_hand for b in s.scalars(select(StockBalance))) == 80
        xid = nets["徐汇授权店"].id
    # Edit one network in its form.
    page.goto(f"{base}/masterdata/networks")
    page.locator(f"[data-testid=masterdata-row][data-id='{xid}'] [data-testid=edit-row]").click()
    page.wait_for_url(f"**/masterdata/networks/{xid}")
    page.fill("[data-testid=field-capacity]", "35")
    page.fill("[data-testid=field-districts]", "徐汇区、长宁区、闵行区")
    page.select_option("[data-testid=field-auto_dispatch]", "是")
    page.click("[data-testid=save]")
    page.wait_for_url("**/masterdata/networks")
    assert page.locator("[data-testid=flash]").inner_text() == "已保存"
    row = page.locator(f"[data-testid=masterdata-row][data-id='{xid}']")
    assert "徐汇区、长宁区、闵行区" in row.inner_text()
    with db.session() as s:
        xuhui = s.get_one(ServiceNetwork, xid)
        assert (xuhui.capacity, xuhui.auto_dispatch) == (35, True)
        assert xuhui.coverage == ["徐汇区", "长宁区", "闵行区"]
    assert errors == []
