"""Signing a customer in to the self-service pages the way a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.database import Database
from portal.notifications.models import Notification

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client: TestClient, path: str) -> str:
    """The CSRF token of the form on a page."""
    page = client.get(path)
    found = CSRF.search(page.text)
    assert found, f"no form token on {path}: {page.status_code}"
    return found.group(1)


def sent_code(db: Database, phone: str) -> str:
    """The latest one-time code for a phone, as the SMS outbox holds it."""
    with db.session() as session:
        row = session.scalars(
            select(Notification)
            .where(Notification.template == "one_time_code", Notification.recipient == phone)
            .order_by(Notification.id.desc())
        ).first()
        assert row is not None, f"no code was sent to {phone}"
        return str(row.payload["code"])


def sign_in(client: TestClient, db: Database, phone: str, *, next: str | None = None) -> str:
    """Ask for a code, read it from the outbox, enter it; returns where the portal went."""
    login = "/my/login" + (f"?next={next}" if next else "")
    token = csrf(client, login)
    sent = client.post("/my/login/code", data={"phone": phone, "csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"] == "/my/login/verify"
    done = client.post("/my/login/verify", data={"code": sent_code(db, phone), "csrf_token": token})
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


@contextmanager
def signed_in_phone(browser: Browser, portal: dict[str, Any], number: str) -> Iterator[Page]:
    """A 390 px phone with the portal's customer signed in to /my by SMS code, on the page
    of their ticket `number` (portal: a served_portal with base, db and the customer's phone)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    base = portal["base"]
    page.goto(f"{base}/my/login?next=/my/tickets/{number}")
    page.fill("[data-testid=login-phone]", portal["phone"])
    page.locator("[data-testid=login-send]").tap()
    expect(page).to_have_url(f"{base}/my/login/verify")
    page.fill("[data-testid=login-code]", sent_code(portal["db"], portal["phone"]))
    page.locator("[data-testid=login-verify]").tap()
    expect(page).to_have_url(f"{base}/my/tickets/{number}")
    try:
        yield page
    finally:
        context.close()
