"""The accepted quote is the ceiling, on a 390 px phone in Chromium: the engineer, on site
longer than the quote's standard hours, is warned before completing that the work comes to
more than the quote and offered a new one; completing anyway charges the quote's total, and
the job page says the quote is the ceiling (the numbers: tests/field/test_quote_ceiling.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.field.quote_browser_support import engineer_on_the_job, fits, phone
from tests.field.quotes_support import QUOTED, build
from tests.field.test_quote_ceiling import (
    ON_SITE_MINUTES,
    OVER,
    WORK,
    _arrived_minutes_ago,
    _quote_accepted,
    _record_and_sign,
)
from tests.page_support import SHOTS, served_portal

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An out-of-warranty job on site for 170 minutes: one pump quoted (220) and accepted,
    the work record saved and the customer's signature taken."""
    var = tmp_path_factory.mktemp("quote-ceiling")

    def world(db: Any) -> dict[str, Any]:
        w = build(db)
        quote = _quote_accepted(db, w, f"pages-{var.name}")
        _arrived_minutes_ago(db, w, ON_SITE_MINUTES)
        _record_and_sign(db, w, var / "uploads")
        return {"world": w, "quote": quote.number}

    with served_portal(var, world) as running:
        yield running


def test_warned_before_completing_and_charged_the_quote(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, world, number = portal["base"], portal["world"], portal["quote"]
    context, page, problems = phone(browser, base)
    engineer_on_the_job(page, base, world)

    warning = page.locator("[data-testid=overrun]")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"费用为 ¥{WORK}，超过客户已接受的报价单 {number}")
    expect(warning).to_contain_text(f"¥{OVER}")
    expect(warning.locator("[data-testid=revise-quote]")).to_be_visible()
    fits(page)
    warning.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "field-quote-overrun-390.png"))

    page.locator("[data-testid=complete]").tap()
    charge = page.locator("[data-testid=charge-total]")
    expect(charge).to_have_attribute("data-amount", str(QUOTED))
    expect(charge).to_contain_text(f"¥{QUOTED}")
    capped = page.locator("[data-testid=vs-quote-capped]")
    expect(capped).to_contain_text(f"按已接受的报价单 {number} 收 ¥{QUOTED}")
    expect(page.locator("[data-testid=overrun]")).to_have_count(0)
    fits(page)
    charge.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "field-quote-capped-390.png"))
    context.close()
    assert problems == []
