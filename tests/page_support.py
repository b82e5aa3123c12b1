"""Helpers for tests of the staff pages: sign a test client in, read a page's CSRF token, and
in Chromium, run the portal over a fresh database, open a signed-in tab that may reach
nothing but the portal, and know when a page's broken images have run their handlers."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from portal.templating import LANG_COOKIE
from tests.e2e_fixtures import serve
from tests.portal import factories as f

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Where the browser tests leave their screenshots (SCREENSHOT_DIR=docs/screens refreshes the
# ones the docs show).
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp"))


@contextmanager
def reading_in(client: TestClient, lang: str) -> Iterator[TestClient]:
    """The client as a reader who chose `lang` (the language switch's cookie) for the block,
    set on the client, not per request (Starlette deprecates that); their own choice after."""
    before = client.cookies.get(LANG_COOKIE)
    client.cookies.set(LANG_COOKIE, lang)
    try:
        yield client
    finally:
        client.cookies.delete(LANG_COOKIE)
        if before is not None:
            client.cookies.set(LANG_COOKIE, before)


def sign_in(client: TestClient, username: str) -> str:
    """Start a page session as a factory-made staff member; returns its CSRF token."""
    response = client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "next": "/tickets"}
    )
    assert response.status_code == 200 and "/tickets" in str(response.url), response.text[:300]
    token = TOKEN.search(response.text)
    assert token is not None
    return token.group(1)


@contextmanager
def served_portal(
    var: Path, build: Callable[[Database], dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The whole portal on a free port over a migrated SQLite file in `var`, after `build`
    made its world (returned with the base URL as "base" and the database as "db")."""
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture
    world = build(db)
    settings = Settings(
        _env_file=None, var_dir=var, database_url=url, secret_key=f"pages-{var.name}"
    )
    try:
        with serve(create_app(settings)) as base:
            yield {**world, "base": base, "db": db}
    finally:
        db.dispose()


@contextmanager
def signed_in_tab(
    browser: Any, base: str, username: str, *, width: int = 1280, height: int = 900
) -> Iterator[Any]:
    """A Chromium tab signed in as `username`. Every request that leaves the portal, every
    answer of 404 or worse and every script error fails the test when the tab closes."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True
    )
    outside: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.url}") if r.status == 404 or r.status >= 500 else None
        ),
    )
    tab.goto(f"{base}/login")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", f.PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/tickets**")
    try:
        yield tab
    finally:
        context.close()
    assert outside == [], f"the pages reached outside the portal: {outside}"
    assert errors == [], errors
    assert failed == [], f"answers of 404 or 5xx: {failed}"


def broken_images_reported(page: Any, src: str = "x") -> None:
    """Return once an image of our own at `src` has failed to load. An image the page made
    earlier from the same address (markup with `onerror` that a message smuggled in) has
    failed, and run its handler, before ours: a barrier instead of a wait."""
    page.evaluate(
        """(src) => new Promise((resolve) => {
            const probe = new Image();
            probe.onerror = probe.onload = () => resolve(true);
            probe.src = src;
        })""",
        src,
    )
