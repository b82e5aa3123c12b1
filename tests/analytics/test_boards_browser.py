"""The boards in headless Chromium at a desk's 1440 px: every chart and the map are drawn
from the portal's own files, a click on a province opens its cities and a click on a city
its tickets; screenshots of each board go to docs/screens/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.analytics.test_browser import PERIOD, portal  # noqa: F401  (the served world)
from tests.portal import factories as fx

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screens"
DRAWN = (
    "() => Array.from(document.querySelectorAll('.an-chart, .an-map'))"
    ".every(e => e.dataset.drawn === '1')"
)


@pytest.fixture(scope="module")
def desk(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:  # noqa: F811
    """A dispatcher's browser page 1440 px wide that may reach nothing but the portal."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
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
    assert outside == [], f"the boards reached outside the portal: {outside}"


@pytest.mark.parametrize("name", ["map", "service", "rnd", "targets"])
def test_every_board_is_drawn(desk: Page, portal: dict[str, Any], name: str) -> None:  # noqa: F811
    errors: list[str] = []
    desk.on("pageerror", lambda exc: errors.append(str(exc)))
    desk.goto(f"{portal['base']}/analytics/{name}?{PERIOD}")
    desk.wait_for_function(DRAWN, timeout=20_000)
    drawn = desk.locator(".an-chart canvas, .an-map canvas").count()
    assert drawn >= desk.locator(".an-chart, .an-map").count()
    assert desk.locator(".an-tile, [data-testid=target-table]").count() > 0
    # Nothing wider than the page: no sideways scrolling at a desk's width.
    assert desk.evaluate("document.documentElement.scrollWidth") <= 1440
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk.screenshot(path=str(SHOTS / f"board-{name}-1440.png"), full_page=True)
    assert errors == []


def _click_region(page: Page, lng: float, lat: float) -> None:
    x, y = page.evaluate(
        """([lng, lat]) => {
          const el = document.getElementById('map-regions');
          const chart = echarts.getInstanceByDom(el);
          const [px, py] = chart.convertToPixel({seriesIndex: 0}, [lng, lat]);
          const box = el.getBoundingClientRect();
          return [box.left + px, box.top + py];
        }""",
        [lng, lat],
    )
    page.mouse.click(x, y)


def test_the_map_drills_from_province_to_city_to_tickets(
    desk: Page,
    portal: dict[str, Any],  # noqa: F811
) -> None:
    desk.goto(f"{portal['base']}/analytics/map?{PERIOD}")
    desk.wait_for_function(DRAWN, timeout=20_000)
    top = desk.locator("[data-testid=top5] tbody tr")
    assert [top.nth(i).get_attribute("data-region") for i in range(top.count())] == [
        "上海市",
        "浙江省",
    ]
    _click_region(desk, 120.15, 30.28)  # Hangzhou, in Zhejiang
    desk.wait_for_url("**/analytics/map?**province=**")
    desk.wait_for_function(DRAWN, timeout=20_000)
    assert "浙江省" in desk.locator("h2").first.inner_text()
    _click_region(desk, 120.15, 30.28)
    desk.wait_for_url("**/analytics/tickets?**")
    rows = desk.locator('[data-testid="drill-row"]')
    world = portal["world"]
    numbers = {rows.nth(i).get_attribute("data-number") for i in range(rows.count())}
    assert numbers == {world.number(k) for k in "DEIJ"}
    desk.screenshot(path=str(SHOTS / "board-map-drilldown-1440.png"), full_page=True)
