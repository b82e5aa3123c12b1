"""The public website on a 390 px phone (a tester's finding, issue 19): the header broke words
("服务 / 与支持", "工作 / 人员登录"), and nothing on the site led to the customers' portal /my;
the "进度查询" card was not even a link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.page_support import SHOTS, served_portal

pytestmark = pytest.mark.e2e

# Each thing in the header: its text and how many lines it takes.
HEADER = """() => Array.from(
    document.querySelectorAll('.top .brand, .top .brand small, .top nav a'))
  .map(e => { const r = e.getBoundingClientRect();
              const line = parseFloat(getComputedStyle(e).lineHeight) || 24;
              return [e.textContent.trim(), Math.round(r.height / line), Math.round(r.right)]; })"""


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("site"), lambda db: {}) as running:
        yield running


def test_the_site_on_a_phone_keeps_words_whole_and_leads_to_my(
    browser: Browser, portal: dict[str, Any]
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    try:
        page.goto(f"{portal['base']}/")
        shown = page.evaluate(HEADER)
        assert len(shown) >= 4, shown
        for _text, lines, right in shown:
            assert lines <= 1 and right <= 390, shown
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "site-390.png"))
        # The progress card and the header both lead to the customers' portal.
        expect(page.locator(".top nav a[href='/my']")).to_be_visible()
        card = page.locator("a.card[href='/my']", has_text="进度查询")
        expect(card).to_be_visible()
        card.tap()
        page.wait_for_url("**/my**")
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_an_english_browser_gets_the_english_site_and_an_english_chat(
    browser: Browser, portal: dict[str, Any], width: int
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 844}, is_mobile=width < 500, locale="en-US"
    )
    page = context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    try:
        page.goto(f"{portal['base']}/")  # Accept-Language: en-US, nothing else
        expect(page).to_have_title("Hechuan Appliances · Service & Support")
        assert page.evaluate("document.documentElement.lang") == "en"
        for _text, lines, right in page.evaluate(HEADER):
            assert lines <= 1 and right <= width, page.evaluate(HEADER)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SHOTS / f"site-en-{width}.png"))
        page.locator("[data-testid=aftersales-launcher]").click()
        expect(page.locator("[data-testid=aftersales-input]")).to_have_attribute(
            "placeholder", "Type your question…"
        )
        page.wait_for_timeout(300)
        assert sockets and all("lang=en" in url for url in sockets), sockets
        page.screenshot(path=str(SHOTS / f"site-en-{width}-chat.png"))
        page.locator("[data-testid=aftersales-close]").click()
        # The switch goes to Chinese and stays there, widget included.
        page.locator("[data-testid=lang-switch]").click()
        expect(page).to_have_title("禾川家电 · 服务与支持")
        assert page.url.rstrip("/") == portal["base"]
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        tag = page.locator("script[data-site-key]")
        expect(tag).to_have_attribute("data-lang", "zh")
        page.reload()
        expect(page).to_have_title("禾川家电 · 服务与支持")
    finally:
        context.close()
