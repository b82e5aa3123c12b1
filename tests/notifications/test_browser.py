"""The staff top bar in headless Chromium: the bell's unread count drops as a dispatcher
reads their notifications, and an admin's dozen-plus links fold into a menu on a phone
(390 px) with nothing squeezed or overflowing, while a desk shows them as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.database import Database
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

# Each nav link's text fits on its own line: none narrower than its text, none wrapped.
SQUEEZED = """() => Array.from(document.querySelectorAll('#mainnav a')).filter(a => {
  const r = a.getBoundingClientRect();
  const line = parseFloat(getComputedStyle(a).lineHeight) || 21;
  return a.scrollWidth > a.clientWidth + 1 || r.height > line * 1.6 + 16;
}).map(a => a.textContent.trim())"""
OVERFLOW = """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
  ...Array.from(document.querySelectorAll('.topbar *')).filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5);
  }).map(e => e.outerHTML.slice(0, 60))]"""


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        dispatcher = f.user(s, role="dispatcher", display_name="调度小陈")
        admin = f.user(s, role="admin", display_name="管理员")
        # Three jobs the engineer turned down: the dispatchers are told of each (the real
        # lifecycle subscriber writes the notifications).
        for _ in range(3):
            f.ticket(s, customer=f.customer(s), engineer=eng,
                     actions=("accept", "dispatch", "engineer_reject"))  # fmt: skip
        return {"dispatcher": dispatcher.username, "admin": admin.username}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("topbar-e2e"), _build) as running:
        yield running


def _count(page: Page) -> str | None:
    """The bell's unread count, once the top bar has loaded it."""
    counted = page.locator("[data-testid=bell][data-unread]")
    expect(counted).to_have_count(1)
    return counted.get_attribute("data-unread")


def test_the_bell_count_drops_as_the_dispatcher_reads(
    browser: Browser, portal: dict[str, Any]
) -> None:
    with signed_in_tab(browser, portal["base"], portal["dispatcher"]) as page:
        assert _count(page) == "3"
        expect(page.locator("[data-testid=bell-count]")).to_have_text("3")
        page.click("[data-testid=bell]")
        page.wait_for_url("**/notifications")
        items = page.locator("[data-testid=notification]")
        expect(items).to_have_count(3)
        expect(items.first).to_contain_text("工程师拒绝了工单")
        page.screenshot(path=str(SHOTS / "notifications-1280.png"), full_page=True)
        items.first.locator("[data-testid=mark-read]").click()
        expect(page.locator("[data-testid=notification][data-read=false]")).to_have_count(2)
        assert _count(page) == "2"
        # Reading the ticket it is about marks it read too.
        page.locator(
            "[data-testid=notification][data-read=false] [data-testid=open-ticket]"
        ).first.click()
        page.wait_for_url("**/tickets/SR*")
        assert _count(page) == "1"
        page.goto(f"{portal['base']}/notifications")
        page.click("[data-testid=read-all]")
        expect(page.locator("[data-testid=flash]")).to_have_text("已将1条通知标为已读")
        assert _count(page) == "0"
        expect(page.locator("[data-testid=bell-count]")).to_have_count(0)


def test_an_admins_links_fold_into_a_menu_on_a_phone(
    browser: Browser, portal: dict[str, Any]
) -> None:
    with signed_in_tab(browser, portal["base"], portal["admin"], width=390, height=844) as page:
        links = page.locator("#mainnav a")
        assert links.count() >= 12
        # Folded: one row (brand, bell, language, menu), the links out of the way.
        expect(page.locator("[data-testid=nav-menu]")).to_be_visible()
        expect(links.first).to_be_hidden()
        assert page.evaluate(OVERFLOW)[2:] == []
        scroll, client = page.evaluate(OVERFLOW)[:2]
        assert scroll <= client == 390
        page.click("[data-testid=nav-menu] summary")
        expect(links.first).to_be_visible()
        assert page.evaluate(SQUEEZED) == []
        assert page.evaluate(OVERFLOW)[2:] == []
        scroll, client = page.evaluate(OVERFLOW)[:2]
        assert scroll <= client
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        expect(page.locator(".topbar .logout button")).to_be_visible()
        page.screenshot(path=str(SHOTS / "nav-admin-390.png"), full_page=True)
        # A link goes where it says, and the next page starts folded again.
        page.locator("#mainnav a[href='/audit']").click()
        page.wait_for_url("**/audit")
        expect(page.locator("#mainnav a").first).to_be_hidden()


@pytest.mark.parametrize("width", [1280, 1920])
def test_a_desk_shows_every_link_in_the_bar(
    browser: Browser, portal: dict[str, Any], width: int
) -> None:
    with signed_in_tab(browser, portal["base"], portal["admin"], width=width) as page:
        expect(page.locator("[data-testid=nav-menu]")).to_be_hidden()
        # The bar keeps one line: the entries past the first few are under "More".
        page.click("[data-testid=nav-more] summary")
        links = page.locator("#mainnav a")
        for i in range(links.count()):
            expect(links.nth(i)).to_be_visible()
        assert page.evaluate(SQUEEZED) == []
        assert page.evaluate(OVERFLOW)[2:] == []
        if width == 1280:
            page.screenshot(path=str(SHOTS / "nav-admin-1280.png"))
