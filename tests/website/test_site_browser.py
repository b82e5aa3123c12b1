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
