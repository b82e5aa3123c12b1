"""The dashboards in headless Chromium: every chart is drawn from the portal's own ECharts,
and a click on a bar opens the tickets behind it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from tests.analytics.conftest import build
from tests.e2e_fixtures import serve
from tests.portal import factories as fx

pytestmark = pytest.mark.e2e

PERIOD = "from=2026-11-01&to=2026-11-22"
DRAWN = "Array.from(document.querySelectorAll('.an-chart')).every(e => e.dataset.drawn === '1')"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal over the fixed world, on a free port, with a dispatcher to log in as."""
    var = tmp_path_factory.mktemp("analytics-e2e")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture
    world = build(db)
    with db.session() as s:
        username = fx.user(s, role="dispatcher").username
    db.dispose()
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="an-e2e")
    with serve(create_app(settings)) as base:
        yield {"base": base, "user": username, "world": world}


@pytest.fixture(scope="module")
def page(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """A logged-in browser page that may not reach anything but the portal."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(portal["base"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.goto(f"{portal['base']}/login")
    tab.fill("input[name=username]", portal["user"])
    tab.fill("input[name=password]", fx.PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/tickets**")
    yield tab
    context.close()
    assert outside == [], f"the dashboards reached outside the portal: {outside}"


@pytest.mark.parametrize(
    "path", ["/analytics", "/analytics/operations", "/analytics/people", "/analytics/quality",
             "/analytics/eie"],
)  # fmt: skip
def test_every_chart_is_drawn(page: Page, portal: dict[str, Any], path: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{portal['base']}{path}?{PERIOD}")
    page.wait_for_function(DRAWN, timeout=15_000)
    assert page.locator(".an-chart canvas").count() == page.locator(".an-chart").count() > 0
    assert errors == []


def test_clicking_a_bar_opens_its_tickets(page: Page, portal: dict[str, Any]) -> None:
    page.goto(f"{portal['base']}/analytics?{PERIOD}")
    page.wait_for_function(DRAWN)
    # The tickets bar of 2 November (a 22-day period is shown by day): A, B and C.
    x, y = page.evaluate(
        """() => {
          const el = document.getElementById('chart-trend');
          const chart = echarts.getInstanceByDom(el);
          const bar = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(1);
          const box = el.getBoundingClientRect();
          return [box.left + bar.x + bar.width / 2, box.top + bar.y + bar.height / 2];
        }"""
    )
    page.mouse.click(x, y)
    page.wait_for_url("**/analytics/tickets?**")
    assert "bucket=2026-11-02" in page.url and "measure=all" in page.url
    rows = page.locator('[data-testid="drill-row"]')
    assert rows.count() == 3
    world = portal["world"]
    numbers = {rows.nth(i).get_attribute("data-number") for i in range(rows.count())}
    assert numbers == {world.number(k) for k in "ABC"}
