"""The day plan page in headless Chromium as a dispatcher at 1280 px, for two tester findings:
a network with nothing to plan (no jobs that day, or no engineer on duty) said so plainly and
yet offered an active 发布计划 that published nothing; and stops of several engineers in one
part of a city lay on top of each other on the map, so nobody could tell whose stop was which.
Screenshots at 1280 and 1920 in SHOTS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.database import Database, utcnow
from portal.dispatch import service
from portal.dispatch.scoring import DispatchSettings
from tests.dispatch import helpers as h
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as fx

pytestmark = pytest.mark.e2e

# A highlighted marker or list row.
HOT = re.compile(r"(^|\s)dx-hot(\s|$)")
DRAWN = "() => 'drawn' in (document.getElementById('plan-map') || {dataset: {}}).dataset"
# Pairs of stop markers (dot and number) on the map whose boxes intersect, and stops that
# leave the map; the boxes in the map's own units (its viewBox), whatever the page's width.
STOP_OVERLAPS = """() => {
  const hit = (p, q) => p.x < q.x + q.width && q.x < p.x + p.width
    && p.y < q.y + q.height && q.y < p.y + p.height;
  const dots = [...document.querySelectorAll('#plan-map .dx-dot')]
    .map(d => [d.dataset.number, d.getBBox()]);
  const labels = [...document.querySelectorAll('#plan-map .dx-seq-label')]
    .map(t => [t.closest('.dx-dot').dataset.number, t.getBBox()]);
  const out = [];
  for (const boxes of [dots, labels]) {
    boxes.forEach(([a, p], i) => {
      if (p.x < 0 || p.y < 0 || p.x + p.width > 1000 || p.y + p.height > 620)
        out.push(a + ' leaves the map');
      boxes.slice(i + 1).forEach(([b, q]) => { if (hit(p, q)) out.push(a + ' / ' + b); });
    });
  }
  return {dots: dots.length, labels: labels.length, out};
}"""
# Each engineer's markers: their fill colours, by engineer.
MARKER_COLOURS = """() => {
  const out = {};
  document.querySelectorAll('#plan-map .dx-route-g:not(.dx-unplanned-g)').forEach(g => {
    const fills = [...g.querySelectorAll('.dx-dot circle')].map(c => c.getAttribute('fill'));
    if (fills.length) out[g.dataset.engineer] = [...new Set(fills)];
  });
  return out;
}"""


def _build(db: Database) -> dict[str, Any]:
    """Three Pudong engineers and seven waiting tickets, four at one spot (a district's centre
    is where a ticket without its own coordinates is put) and three a few dozen metres off; a
    Minhang network with engineers on duty and nothing to do; a Baoshan network with work and
    nobody on duty; and a Hangzhou network with one engineer and two tickets (a plan of all
    networks then spans two cities)."""
    day = service.default_visit_day(utcnow(), DispatchSettings())
    asked = f"{day} 08:00-20:00"
    with db.session() as s:
        pudong = h.network(s, coverage=("浦东新区",), at=h.MID)
        names = ("张建国", "李师傅", "王海")
        homes = (h.NEAR, (31.2455, 121.5040), (31.2448, 121.5062))
        for name, home in zip(names, homes, strict=True):
            h.engineer(s, pudong, at=home, name=name, daily_capacity=3)
        spots = [h.HOME] * 4 + [(31.2403, 121.5004), (31.2397, 121.4996), (31.2402, 121.4995)]
        for spot in spots:
            h.ticket(s, h.customer(s, at=spot), preferred_time=asked)
        minhang = h.network(s, coverage=("闵行区",))
        h.engineer(s, minhang, at=(31.1130, 121.3800), name="闵行师傅")
        baoshan = h.network(s, coverage=("宝山区",))
        h.engineer(s, baoshan, at=(31.4050, 121.4890), name="休假师傅", on_duty=False)
        for _ in range(2):
            h.ticket(
                s, h.customer(s, at=(31.4000, 121.4900), district="宝山区"), preferred_time=asked
            )
        hangzhou = h.network(s, coverage=("西湖区",), city="杭州")
        h.engineer(s, hangzhou, at=(30.2590, 120.1300), name="杭州师傅")
        for spot in ((30.2600, 120.1320), (30.2610, 120.1290)):
            who = h.customer(s, at=spot, district="西湖区")
            who.addresses[0].city = "杭州"
            h.ticket(s, who, preferred_time=asked)
        return {
            "day": day.isoformat(),
            "pudong": pudong.id,
            "minhang": minhang.id,
            "baoshan": baoshan.id,
            "names": names,
            "dispatcher": fx.user(s, role="dispatcher", display_name="调度小王").username,
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("dayplan-e2e"), _build) as running:
        yield running


def _run(page: Page, portal: dict[str, Any], network: str) -> None:
    page.goto(f"{portal['base']}/dispatch/plan?date={portal['day']}&network={network}&run=1")
    page.wait_for_function(DRAWN, timeout=15_000)


def test_nothing_to_plan_is_said_and_nothing_offered_to_publish(
    browser: Browser, portal: dict[str, Any]
) -> None:
    """A network with engineers but no job that day, and one with jobs but no engineer on
    duty: the page says there is nothing to plan and why, and offers no publish action."""
    with signed_in_tab(browser, portal["base"], portal["dispatcher"]) as page:
        _run(page, portal, portal["minhang"])
        nothing = page.locator("[data-testid=plan-nothing]")
        expect(nothing).to_be_visible()
        expect(nothing).to_have_attribute("data-reason", "no_jobs")
        expect(nothing).to_contain_text("没有需要排的工单")
        expect(nothing).to_contain_text(portal["day"])
        expect(page.locator("[data-testid=publish-plan]")).to_have_count(0)
        expect(page.locator("[data-testid=preview-plan]")).to_have_count(0)
        # No empty "not planned" list claiming everything is planned.
        expect(page.locator("[data-testid=plan-unassigned]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "dayplan-nothing-jobs-1280.png"), full_page=True)

        _run(page, portal, portal["baoshan"])
        expect(nothing).to_be_visible()
        expect(nothing).to_have_attribute("data-reason", "no_engineers")
        expect(nothing).to_contain_text("没有在岗的工程师")
        # The waiting tickets are still listed, to hand out another way.
        expect(page.locator("[data-testid=plan-unassigned] [data-testid=plan-stop]")).to_have_count(
            2
        )
        expect(page.locator("[data-testid=publish-plan]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "dayplan-nothing-engineers-1280.png"), full_page=True)


def test_publishing_an_empty_plan_is_refused(browser: Browser, portal: dict[str, Any]) -> None:
    """Once every stop is moved off the plan, 发布计划 is disabled and says why; a form posted
    without a stop anyway is refused in words, not "published"."""
    with signed_in_tab(browser, portal["base"], portal["dispatcher"]) as page:
        _run(page, portal, portal["pudong"])
        publish = page.locator("[data-testid=publish-plan]")
        expect(publish).to_be_enabled()
        selects = page.locator("[data-testid=plan-route] select[data-testid=stop-engineer]")
        while selects.count():
            selects.first.select_option("")
        expect(publish).to_be_disabled()
        expect(page.locator("[data-testid=publish-why]")).to_be_visible()
        expect(page.locator("[data-testid=publish-why]")).to_contain_text("没有安排给工程师的上门")
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        answer = page.request.post(
            f"{portal['base']}/dispatch/plan/publish",
            form={"csrf_token": token or "", "date": portal["day"], "network": portal["pudong"]},
            max_redirects=0,
        )
        assert answer.status == 303, answer.status
        page.goto(portal["base"] + answer.headers["location"])
        flash = page.locator("[data-testid=flash]")
        expect(flash).to_contain_text("没有可发布的上门")
        expect(flash).not_to_contain_text("计划已发布")


@pytest.mark.parametrize("width", [1280, 1920])
def test_each_engineers_stops_stand_apart_in_their_colour(
    browser: Browser, portal: dict[str, Any], width: int
) -> None:
    """Seven stops of three engineers within a hundred metres: no two markers or numbers
    overlap, each engineer has a colour of their own named in the legend, and the list beside
    the map lights up the marker of the stop under the pointer (and the other way round)."""
    with signed_in_tab(browser, portal["base"], portal["dispatcher"], width=width) as page:
        _run(page, portal, portal["pudong"])
        stops = page.locator("[data-testid=plan-route] [data-testid=plan-stop]")
        assert stops.count() >= 6
        placed = page.evaluate(STOP_OVERLAPS)
        assert placed["dots"] >= 6 and placed["labels"] >= 6 and placed["out"] == [], placed

        colours = page.evaluate(MARKER_COLOURS)
        assert len(colours) >= 2, colours
        seen: dict[str, str] = {}
        for engineer, fills in colours.items():
            assert len(fills) == 1, (engineer, fills)
            item = page.locator(
                f"[data-testid=map-legend] [data-testid=legend-item][data-engineer='{engineer}']"
            )
            expect(item).to_have_count(1)
            assert item.get_attribute("data-colour") == fills[0]
            assert (item.text_content() or "").strip().startswith(tuple(portal["names"])), (
                item.text_content()
            )
            seen[fills[0]] = engineer
        assert len(seen) == len(colours), colours  # one colour each

        first = stops.first
        number = first.get_attribute("data-number")
        first.hover()
        marker = page.locator(f"#plan-map .dx-dot[data-number='{number}']")
        expect(marker).to_have_class(HOT)
        last = stops.last
        other = last.get_attribute("data-number")
        page.locator(f"#plan-map .dx-dot[data-number='{other}']").click()
        expect(last).to_have_class(HOT)
        page.screenshot(path=str(SHOTS / f"dayplan-stops-{width}.png"), full_page=True)
        page.locator("#plan-map").screenshot(path=str(SHOTS / f"dayplan-stops-map-{width}.png"))


def test_a_plan_over_two_cities_shows_one_city_at_a_time(
    browser: Browser, portal: dict[str, Any]
) -> None:
    """All networks' plan, Shanghai and Hangzhou: the map shows the city with the most
    visits, spread over the whole map, and a button shows the other; a visit clicked in the
    list of the other city brings its city on the map."""
    with signed_in_tab(browser, portal["base"], portal["dispatcher"]) as page:
        _run(page, portal, "")
        zoom = page.locator("[data-testid=map-zoom]")
        expect(zoom).to_be_visible()
        expect(zoom.locator("[aria-pressed=true]")).to_have_attribute("data-city", "上海市")
        on_map = page.evaluate(STOP_OVERLAPS)
        assert on_map["dots"] >= 9 and on_map["out"] == [], on_map
        legend = page.locator("[data-testid=map-legend] [data-testid=legend-item]")
        expect(legend.filter(has_text="杭州师傅")).to_have_count(0)
        zoom.locator("button[data-city='杭州市']").click()
        expect(zoom.locator("[aria-pressed=true]")).to_have_attribute("data-city", "杭州市")
        expect(legend.filter(has_text="杭州师傅")).to_have_count(1)
        on_map = page.evaluate(STOP_OVERLAPS)
        assert on_map["dots"] == 2 and on_map["out"] == [], on_map
        page.locator("#plan-map").screenshot(path=str(SHOTS / "dayplan-hangzhou-1280.png"))
        shanghai = page.locator(
            "[data-testid=plan-route] [data-testid=plan-stop][data-city='上海市']"
        )
        shanghai.first.locator(".dx-seq").click()
        expect(zoom.locator("[aria-pressed=true]")).to_have_attribute("data-city", "上海市")
        number = shanghai.first.get_attribute("data-number")
        expect(page.locator(f"#plan-map .dx-dot[data-number='{number}']")).to_have_class(HOT)
        page.screenshot(path=str(SHOTS / "dayplan-all-1280.png"), full_page=True)
