"""/my/request on a 390 px phone (a tester filed product "x", address "x", time "asdf" and
got a ticket): the customer sees every error at once, each under its field and listed at the
top, with what they typed kept; corrected, the request opens a ticket.

Screenshots: my-request-errors-390.png, my-request-errors-1280-en.png (SCREENSHOT_DIR).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f
from tests.selfservice.support import signed_in_phone

pytestmark = pytest.mark.e2e

BAD = {"product": "x", "address": "x", "preferred_time": "asdf", "phone": "123"}


def _world(db: Any) -> dict[str, Any]:
    with db.session() as s:
        customer = f.customer(s, with_asset=False, name="王女士")
        ticket = f.ticket(s, customer=customer)
        # A second customer for the second test: one phone is sent one code a minute.
        reader = f.customer(s, with_asset=False, name="Ms Lee")
        theirs = f.ticket(s, customer=reader)
        return {
            "phone": customer.phone,
            "ticket": ticket.number,
            "en": {"phone": reader.phone, "ticket": theirs.number},
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with one signed-up customer."""
    with served_portal(tmp_path_factory.mktemp("my-request"), _world) as running:
        yield running


@contextmanager
def _on_the_form(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    with signed_in_phone(browser, portal, portal["ticket"]) as page:
        page.goto(f"{portal['base']}/my/request")
        yield page


@pytest.fixture
def phone(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """The first customer signed in on a 390 px phone, on the request form."""
    with _on_the_form(browser, portal) as page:
        yield page


def _type_bad_values(page: Page) -> None:
    for name, value in BAD.items():
        page.fill(f"[data-testid=field-{name}]", value)
    page.fill("[data-testid=field-fault_description]", "不制冷，还有异响")
    page.locator("[data-testid=request-submit]").tap()


def _sees_every_error(page: Page) -> None:
    summary = page.locator("[data-testid=error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_in_viewport()
    expect(summary.locator("a")).to_have_count(len(BAD))
    for name, value in BAD.items():
        field = page.locator(f"[data-testid=field-{name}]")
        expect(field).to_have_value(value)
        expect(field).to_have_attribute("aria-invalid", "true")
        error = page.locator(f"#err-{name}")
        expect(error).to_be_visible()
        expect(field).to_have_attribute("aria-describedby", f"err-{name}")
        # Right under its field, on the phone's width.
        above = field.bounding_box()
        box = error.bounding_box()
        assert above is not None and box is not None
        assert 0 <= box["y"] - (above["y"] + above["height"]) < 40, name
        assert box["x"] + box["width"] <= 390
    expect(page.locator("[data-testid=field-fault_description]")).to_have_value("不制冷，还有异响")


def test_every_error_at_once_then_a_ticket(phone: Page, portal: dict[str, Any]) -> None:
    page = phone
    _type_bad_values(page)
    _sees_every_error(page)
    expect(page.locator("#err-address")).to_contain_text("请填写到门牌号")
    expect(page.locator("#err-preferred_time")).to_contain_text("明天上午")
    page.screenshot(path=str(SHOTS / "my-request-errors-390.png"), full_page=True)
    # A link in the summary takes the customer to the field.
    page.locator("[data-testid=error-summary] a[href='#f-address']").tap()
    expect(page.locator("[data-testid=field-address]")).to_be_focused()

    page.fill("[data-testid=field-product]", "空调")
    page.fill("[data-testid=field-phone]", portal["phone"])
    page.fill("[data-testid=field-address]", "上海市浦东新区张江路88号3栋1201")
    page.fill("[data-testid=field-preferred_time]", "明天上午")
    page.locator("[data-testid=request-submit]").tap()
    expect(page).to_have_url(re.compile(rf"{re.escape(portal['base'])}/my/tickets/SR\d+-\d+$"))
    expect(page.locator("[data-testid=flash]")).to_contain_text("已提交")
    expect(page.locator("[data-testid=error-summary]")).to_have_count(0)


def test_errors_in_english_at_1280(browser: Browser, portal: dict[str, Any]) -> None:
    with _on_the_form(browser, {**portal, **portal["en"]}) as page:
        _english_errors(page)


def _english_errors(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("[data-testid=lang-switch]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _type_bad_values(page)
    summary = page.locator("[data-testid=error-summary]")
    expect(summary.locator("a")).to_have_count(len(BAD))
    expect(page.locator("#err-product")).to_contain_text("product name")
    expect(page.locator("#err-preferred_time")).to_contain_text("could not be read")
    expect(page.locator("[data-testid=field-address]")).to_have_value("x")
    page.screenshot(path=str(SHOTS / "my-request-errors-1280-en.png"), full_page=True)
