"""The staff top bar at a 1280 px desk in Chromium (a tester's finding, issue 19): for every
staff role, in Chinese and in English, the bar is one line; the entries that do not fit the
line are under "More", which opens without a script and lists the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from portal.database import Database
from portal.security import ROLES
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

# The top of each thing in the bar that is on show (links, "More", bell, language, sign-out).
TOPS = """() => Array.from(document.querySelectorAll(
    '.topbar > .brand, #mainnav > a, #mainnav > .navmore > summary, .bell-slot, .topbar > .lang,'
    + ' .topbar .logout button'))
  .filter(e => e.getBoundingClientRect().width > 0)
  .map(e => [e.textContent.trim(), Math.round(e.getBoundingClientRect().top),
             Math.round(e.getBoundingClientRect().bottom)])"""
# Staff who use the desk pages (engineers work in the field app).
DESK_ROLES = [r for r in ROLES if r != "engineer"]


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        net = f.network(s)
        return {
            role: f.user(
                s,
                role=role,
                network=net if role == "network_manager" else None,
                # A long name, as people do have: the bar keeps one line and cuts it short.
                display_name=f"{role.replace('_', ' ').title()} of the Yangtze River Delta",
            ).username
            for role in DESK_ROLES
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("nav-e2e"), _build) as running:
        yield running


@pytest.mark.parametrize("role", DESK_ROLES)
def test_the_top_bar_is_one_line_at_1280_for_every_role(
    browser: Browser, portal: dict[str, Any], role: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{portal['base']}/login")
    page.fill("input[name=username]", portal[role])
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)  # each role has its own first page
    try:
        links = page.locator("#mainnav a")
        every = links.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        for lang in ("zh", "en"):
            if lang == "en":
                page.goto(f"{portal['base']}/lang/en?next=/tickets")
                expect(page.locator("html")).to_have_attribute("lang", "en")
            tops = page.evaluate(TOPS)
            assert len(tops) >= 5, tops
            middle = [(top + bottom) / 2 for _, top, bottom in tops]
            assert max(middle) - min(middle) <= 6, (lang, tops)  # one line
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
            more = page.locator("[data-testid=nav-more]")
            if more.count():
                # The rest is one click away, and every entry the role has is there.
                hidden = more.locator("a")
                expect(hidden.first).to_be_hidden()
                more.locator("summary").click()
                for i in range(hidden.count()):
                    expect(hidden.nth(i)).to_be_visible()
                    box = hidden.nth(i).bounding_box()
                    assert box is not None and box["x"] + box["width"] <= 1280
                if role == "admin":
                    page.screenshot(path=str(SHOTS / f"nav-admin-{lang}-1280.png"))
                more.locator("summary").click()
            assert links.evaluate_all("ls => ls.map(a => a.getAttribute('href'))") == every
    finally:
        context.close()
    assert errors == []
