"""A refused completion says why next to 完工, the button the engineer tapped (a tester's
finding at 390 px): the reason came back as the page's top flash, a screen's height above the
button on a phone, and what the engineer had typed elsewhere on the page was gone.

The world: an out-of-warranty job on site, the work record names a pump from the van and the
customer signed, but no quote was accepted, so completing is refused (保外工单需客户先确认
报价). The unit is not on file, so the completion form asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ViewportSize, expect

from portal.database import Database
from tests.field.quotes_support import build
from tests.field.support import csrf, log_in
from tests.field.test_quote_ceiling import _quote_accepted, _record_and_sign
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f

PHONE: ViewportSize = {"width": 390, "height": 844}
REFUSED_ZH = "保外工单需客户先确认报价"
REFUSED_EN = "Out of warranty: the customer must accept a quote first"


def test_the_reason_comes_back_next_to_the_button(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    client.follow_redirects = False
    world = build(db)
    _record_and_sign(db, world, tmp_path)
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    answer = client.post(
        f"{url}/complete",
        data={"csrf_token": csrf(client, url)},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{url}#complete"
    page = client.get(url).text
    said = page.index('data-testid="complete-error"')
    button = page.index('data-testid="complete"')
    assert said < button and REFUSED_ZH in page[said:button]
    assert 'data-testid="flash"' not in page  # said once, where the engineer looks
    # Said once: the next visit of the page is quiet again.
    assert 'data-testid="complete-error"' not in client.get(url).text


def test_completing_twice_says_why_where_the_page_opens(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    client.follow_redirects = False
    world = build(db)
    _quote_accepted(db, world, client.app.state.settings.secret_key)  # type: ignore[attr-defined]
    _record_and_sign(db, world, tmp_path)
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    token = csrf(client, url)
    assert client.post(f"{url}/complete", data={"csrf_token": token}).headers["location"] == url
    client.get(url)  # the "done" flash
    again = client.post(f"{url}/complete", data={"csrf_token": token})
    assert again.headers["location"] == f"{url}#complete"
    page = client.get(url).text
    assert 'data-testid="complete"' not in page  # no button to say it beside: said on top
    said = page.index('data-testid="complete-error"')
    assert said < page.index('data-testid="job"')


def _build(db: Database, var: Path) -> dict[str, Any]:
    world = build(db)
    _record_and_sign(db, world, var / "uploads")
    return {"world": world}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var = tmp_path_factory.mktemp("complete-refused")
    with served_portal(var, lambda db: _build(db, var)) as running:
        yield running


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_a_phone_the_reason_is_in_view_beside_the_button_and_nothing_typed_is_lost(
    browser: Browser, portal: dict[str, Any], lang: str
) -> None:
    base, world = portal["base"], portal["world"]
    job = f"{base}/field/jobs/{world.ticket}"
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN" if lang == "zh" else "en-GB",
    )
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"script: {exc}"))
    page.goto(f"{base}/login?next=/field/jobs/{world.ticket}")
    page.fill("input[name=username]", world.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(job)
    if lang == "en":
        page.locator("[data-testid=lang-switch]").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")

    # Typed and not saved: a new diagnosis in the work record.
    diagnosis = "排水泵卡死，叶轮有异物" if lang == "zh" else "Pump jammed, debris in the impeller"
    page.locator("[data-testid=diagnosis]").fill(diagnosis)
    page.locator("[data-testid=complete]").tap()

    said = page.locator("[data-testid=complete-error]")
    expect(said).to_be_visible()
    expect(said).to_contain_text(REFUSED_ZH if lang == "zh" else REFUSED_EN)
    expect(said).to_be_in_viewport()
    button = page.locator("[data-testid=complete]")
    expect(button).to_be_in_viewport()
    said_box, button_box = said.bounding_box(), button.bounding_box()
    assert said_box is not None and button_box is not None
    # Right above the button: nothing but the gap between them.
    gap = button_box["y"] - (said_box["y"] + said_box["height"])
    assert 0 <= gap <= 24, (said_box, button_box)
    expect(page.locator("[data-testid=diagnosis]")).to_have_value(diagnosis)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a 390px phone"
    page.screenshot(path=str(SHOTS / f"field-complete-refused-{lang}-390.png"))
    context.close()
    assert problems == []
