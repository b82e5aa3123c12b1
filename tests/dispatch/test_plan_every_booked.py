"""Every engineer with visits booked for the day is on the day plan of the scope (a tester's
finding): without a chosen network the plan drew only the engineers of the cities that had
waiting tickets, so a Hangzhou engineer with two visits booked that day, in a city with
nothing left to plan, was missing from the plan and its map.

The scope decides: all networks the caller sees (every city), one network, or one city."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from portal.database import Database, utcnow
from portal.dispatch import flows, service
from portal.networks.models import Engineer
from portal.tickets.models import Ticket
from tests.dispatch import helpers as h
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as fx

WEST_LAKE = ((30.2600, 120.1320), (30.2610, 120.1290))


def _booked(s: Session, engineer: Engineer, *, day: date, now: datetime) -> list[Ticket]:
    """Two Hangzhou visits booked with the engineer for `day`."""
    out = []
    for spot in WEST_LAKE:
        who = h.customer(s, at=spot, district="西湖区")
        who.addresses[0].city = "杭州"
        ticket = h.ticket(
            s, who, at=now - timedelta(minutes=30), preferred_time=f"{day} 08:00-20:00"
        )
        flows.assign(
            s,
            ticket=ticket,
            principal=h.DISPATCHER,
            engineer_id=engineer.id,
            day=day,
            now=now,
            settings=h.SETTINGS,
        )
        out.append(ticket)
    return out


def _world(s: Session, *, day: date, now: datetime) -> dict[str, Any]:
    """A Pudong network with an engineer and a waiting ticket; a Hangzhou network whose
    engineer has two visits booked for the day and no ticket waits in Hangzhou."""
    pudong = h.network(s, coverage=("浦东新区",), at=h.MID)
    zhang = h.engineer(s, pudong, at=h.NEAR, name="张建国")
    waiting = h.ticket(s, h.customer(s), at=now - timedelta(minutes=30))
    waiting.details = {**waiting.details, "preferred_time": f"{day} 08:00-20:00"}
    hangzhou = h.network(s, coverage=("西湖区",), city="杭州")
    hang = h.engineer(s, hangzhou, at=(30.2590, 120.1300), name="杭州师傅")
    visits = _booked(s, hang, day=day, now=now)
    s.flush()
    return {
        "pudong": pudong.id,
        "hangzhou": hangzhou.id,
        "zhang": zhang.id,
        "hang": hang.id,
        "waiting": waiting.id,
        "visits": [t.id for t in visits],
        "numbers": [t.number for t in visits],
    }


def _routes(plan: flows.DayPlan) -> dict[int, list[int]]:
    return {r.engineer.id: sorted(leg.stop.id for leg in r.legs) for r in plan.routes}


def _plan(s: Session, **scope: Any) -> flows.DayPlan:
    return flows.plan_day(
        s, day=h.DAY, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW, **scope
    )


def test_without_a_network_every_engineer_with_booked_visits_is_planned(db: Database) -> None:
    with db.session() as s:
        w = _world(s, day=h.DAY, now=h.NOW)
    with db.session() as s:
        routes = _routes(_plan(s))
        # Shanghai's waiting ticket goes to 张建国; Hangzhou has nothing waiting, yet its
        # engineer's booked day is part of the plan of all networks.
        assert routes.get(w["zhang"]) == [w["waiting"]]
        assert routes.get(w["hang"]) == sorted(w["visits"]), routes


def test_the_scope_still_decides_whose_booked_visits_are_shown(db: Database) -> None:
    with db.session() as s:
        w = _world(s, day=h.DAY, now=h.NOW)
    with db.session() as s:
        assert w["hang"] not in _routes(_plan(s, city="上海"))
        assert w["hang"] not in _routes(_plan(s, network_id=w["pudong"]))
        assert _routes(_plan(s, city="杭州")) == {w["hang"]: sorted(w["visits"])}
        assert _routes(_plan(s, network_id=w["hangzhou"])) == {w["hang"]: sorted(w["visits"])}


def _build(db: Database) -> dict[str, Any]:
    now = utcnow()
    day = service.default_visit_day(now, h.SETTINGS)
    with db.session() as s:
        w = _world(s, day=day, now=now)
        dispatcher = fx.user(s, role="dispatcher", display_name="调度小王").username
    return {**w, "day": day.isoformat(), "dispatcher": dispatcher}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("plan-every-booked"), _build) as running:
        yield running


@pytest.mark.e2e
def test_in_chromium_the_plan_of_all_networks_draws_the_hangzhou_route(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, day = portal["base"], portal["day"]
    with signed_in_tab(browser, base, portal["dispatcher"], width=1440) as page:
        page.goto(f"{base}/dispatch/plan?date={day}&run=1")
        page.wait_for_function(
            "() => 'drawn' in (document.getElementById('plan-map') || {dataset: {}}).dataset",
            timeout=15_000,
        )
        hers = page.locator(f"[data-testid=plan-route][data-engineer-id='{portal['hang']}']")
        expect(hers).to_have_count(1)
        for number in portal["numbers"]:
            expect(hers.locator(f"[data-testid=plan-stop][data-number='{number}']")).to_be_visible()
        zoom = page.locator("[data-testid=map-zoom]")
        city = zoom.locator("button[data-city='杭州市']")
        city.click()
        expect(city).to_have_attribute("aria-pressed", "true")
        expect(city).to_contain_text("杭州市 2")
        # Still under the pointer once picked: its name stays readable (not blue on blue).
        ink, paper = city.evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
        )
        assert ink != paper, (ink, paper)
        legend = page.locator("[data-testid=map-legend] [data-testid=legend-item]")
        expect(legend.filter(has_text="杭州师傅")).to_have_count(1)
        page.screenshot(path=str(SHOTS / "dayplan-every-booked-1440.png"), full_page=True)
