"""A customer on a phone downloads their data and asks for erasure; an administrator at a
desk confirms it. Headless Chromium against the portal served by uvicorn in a thread."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal import wiring
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import Database
from portal.main import create_app
from portal.migrate import upgrade
from portal.notifications.models import Notification
from tests.e2e_fixtures import serve
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))
PHONE = "13611112222"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with one customer (a ticket) and an administrator."""
    var = tmp_path_factory.mktemp("privacy")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="privacy-e2e")
    db = wiring.database(settings)
    with db.session() as s:
        customer = f.customer(s, phone_=PHONE, name="周女士")
        number = f.ticket(s, customer=customer).number
        admin = f.user(s, role="admin").username
        customer_id = customer.id
    try:
        with serve(create_app(settings)) as base:
            yield {
                "url": base,
                "db": db,
                "number": number,
                "admin": admin,
                "customer_id": customer_id,
            }
    finally:
        db.dispose()


def _code(db: Database) -> str:
    with db.session() as s:
        row = s.scalars(
            select(Notification)
            .where(Notification.recipient == PHONE)
            .order_by(Notification.id.desc())
        ).first()
        assert row is not None
        return str(row.payload["code"])


def _fits(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


def test_download_and_erasure_from_a_phone(
    browser: Browser, portal: dict[str, Any], tmp_path: Path
) -> None:
    base, db = portal["url"], portal["db"]
    phone = browser.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    page.goto(base + "/my/privacy")
    expect(page).to_have_url(base + "/my/login?next=/my/privacy")
    page.fill("[data-testid=login-phone]", PHONE)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/my/login/verify")
    page.fill("input[name=code]", _code(db))
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/my/privacy")
    expect(page.locator("[data-testid=retention]")).to_contain_text("365")
    _fits(page, 375)
    page.screenshot(path=str(SHOTS / "my_privacy.png"), full_page=True)

    with page.expect_download() as download:
        page.click("[data-testid=export-json]")
    saved = tmp_path / "my-data.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert data["profile"]["phone"] == PHONE
    assert [t["number"] for t in data["tickets"]] == [portal["number"]]

    page.click("[data-testid=export-page]")
    expect(page.locator("[data-testid=export-ticket]")).to_contain_text(portal["number"])
    _fits(page, 375)
    page.go_back()

    page.check("[data-testid=erasure-confirm]")
    page.click("[data-testid=erasure-submit]")
    expect(page.locator("[data-testid=erasure-pending]")).to_be_visible()

    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    admin = desk.new_page()
    admin.goto(base + "/login?next=/privacy/erasures")
    admin.fill("input[name=username]", portal["admin"])
    admin.fill("input[name=password]", f.PASSWORD)
    admin.click("button[type=submit]")
    expect(admin).to_have_url(base + "/privacy/erasures")
    request = admin.locator("[data-testid=erasure-request]")
    expect(request).to_have_count(1)
    expect(request).to_contain_text("周女士")
    request.locator("[data-testid=erasure-confirm]").click()
    expect(admin.locator("[data-testid=erasures-empty]")).to_be_visible()
    expect(admin.locator("[data-testid=erasure-decided]")).to_have_count(1)
    admin.screenshot(path=str(SHOTS / "privacy_erasures.png"), full_page=True)

    with db.session() as s:
        assert s.get_one(Customer, portal["customer_id"]).name == ""
    # The customer's page session ended with the erasure.
    page.goto(base + "/my/privacy")
    expect(page).to_have_url(base + "/my/login?next=/my/privacy")
    phone.close()
    desk.close()
