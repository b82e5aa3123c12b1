"""What the quote browser tests share: a 390 px touch phone that may reach nothing but the
portal, the check that a page fits it, and the engineer and the customer signing in to the
job they quote (the world of tests/field/quotes_support.py)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from portal.database import Database
from tests.field.quotes_support import QuoteWorld
from tests.portal import factories as f
from tests.selfservice.support import sent_code

PHONE: ViewportSize = {"width": 390, "height": 844}


def phone(browser: Browser, base: str) -> tuple[BrowserContext, Page, list[str]]:
    """A 390 px touch phone that may reach nothing but the portal; requests outside it and
    script errors are collected in the list."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    problems: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            problems.append(f"outside: {route.request.url}")
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"script: {exc}"))
    page.on("dialog", lambda d: d.dismiss())
    return context, page, problems


def fits(page: Page) -> None:
    """The page is no wider than the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide on a 390px phone"


def engineer_on_the_job(page: Page, base: str, world: QuoteWorld) -> str:
    """The engineer signs in and lands on the job's page; its address."""
    job = f"{base}/field/jobs/{world.ticket}"
    page.goto(f"{base}/login?next=/field/jobs/{world.ticket}")
    page.fill("input[name=username]", world.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(job)
    return job


def customer_on_the_ticket(page: Page, base: str, world: QuoteWorld, db: Database) -> None:
    """The customer signs in to /my with the code texted to them and lands on the ticket."""
    page.goto(f"{base}/my/login?next=/my/tickets/{world.ticket}")
    page.fill("[data-testid=login-phone]", world.phone)
    page.locator("[data-testid=login-send]").tap()
    expect(page).to_have_url(f"{base}/my/login/verify")
    page.fill("[data-testid=login-code]", sent_code(db, world.phone))
    page.locator("[data-testid=login-verify]").tap()
    expect(page).to_have_url(f"{base}/my/tickets/{world.ticket}")
