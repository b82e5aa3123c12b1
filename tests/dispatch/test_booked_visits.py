"""Visits already booked for the day belong to the day plan (a tester's finding): 陈欣怡 had
a job reassigned to her for 12-08, yet the plan showed her with no stop ("暂无安排"), and after
publishing her job still had no place in her route and no ETA.

A visit booked for the day counts against its engineer's capacity and is on their route: kept
with them, ordered with the rest, and given a sequence and an ETA when the plan is published."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.database import Database, utcnow
from portal.dispatch import flows, service
from portal.dispatch.models import DispatchVisit
from portal.tickets.models import Ticket
from tests.dispatch import helpers as h
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as fx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _reassigned_to(s: Any, *, first: int, then: int, day: Any, now: Any) -> Ticket:
    """A ticket dispatched to `first` for `day`, then reassigned (with a reason) to `then`."""
    ticket = h.ticket(s, h.customer(s), at=now - timedelta(minutes=30))
    ticket.details = {**ticket.details, "preferred_time": f"{day} 08:00-20:00"}
    flows.assign(
        s,
        ticket=ticket,
        principal=h.DISPATCHER,
        engineer_id=first,
        day=day,
        now=now,
        settings=h.SETTINGS,
    )
    flows.assign(
        s,
        ticket=ticket,
        principal=h.DISPATCHER,
        engineer_id=then,
        reason="客户要求换人",
        day=day,
        now=now,
        settings=h.SETTINGS,
    )
    assert ticket.engineer_id == then
    return ticket


def test_a_booked_visit_is_on_its_engineers_route_and_counts_against_her_day(
    db: Database,
) -> None:
    with db.session() as s:
        net = h.network(s, coverage=("浦东新区",), at=h.MID)
        # She lives far from the waiting tickets, he next to them: the plan gives her none.
        chen = h.engineer(s, net, at=h.FAR, name="陈欣怡", daily_capacity=2)
        zhou = h.engineer(s, net, at=h.NEAR, name="周嘉豪", daily_capacity=6)
        booked = _reassigned_to(s, first=zhou.id, then=chen.id, day=h.DAY, now=h.NOW)
        waiting = [h.ticket(s, h.customer(s, at=h.HOME)).id for _ in range(3)]
        chen_id, zhou_id, booked_id = chen.id, zhou.id, booked.id
    with db.session() as s:
        plan = flows.plan_day(
            s,
            day=h.DAY,
            principal=h.DISPATCHER,
            settings=h.SETTINGS,
            network_id=net.id,
            now=h.NOW,
        )
        routes = {r.engineer.id: [leg.stop.id for leg in r.legs] for r in plan.routes}
        # Her booked visit takes one of her two places, and it is on her route.
        assert {w.id: w.load for w in plan.candidates} == {chen_id: 1, zhou_id: 0}
        assert booked_id in routes.get(chen_id, [])
        assert {p.job_id for p in plan.plan.picks} == set(waiting)
        stops = [
            flows.PlannedStop(
                tid,
                eid,
                k,
                None if tid == booked_id else service.ticket_version(s, ticket_id=tid),
            )
            for eid, ids in routes.items()
            for k, tid in enumerate(ids, start=1)
        ]
        done = flows.publish_plan(
            s, day=h.DAY, stops=stops, principal=h.DISPATCHER, settings=h.SETTINGS, now=h.NOW
        )
        assert done.kept == [booked_id] and not done.skipped
    with db.session() as s:
        visit = s.scalars(select(DispatchVisit).where(DispatchVisit.ticket_id == booked_id)).one()
        assert visit.engineer_id == chen_id
        assert visit.sequence is not None and visit.eta is not None
        assert zhou_id in routes


def _route(page: str, engineer_id: int) -> str:
    block = page[page.index(f'data-testid="plan-route" data-engineer-id="{engineer_id}"') :]
    return block[: block.index("</section>")]


def test_the_plan_page_shows_and_publishes_the_visit_she_already_has(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        world = _her_visit_and_his_tickets(s)
        dispatcher = h.user(s, role="dispatcher").username
    day, net_id, chen_id = world["day"], world["network"], world["chen"]
    booked_id, number = world["booked"], world["number"]
    page = client.post("/login", data={"username": dispatcher, "password": "pw", "next": "/"})
    assert page.status_code == 200
    page = client.get(f"/dispatch/plan?date={day}&network={net_id}&run=1").text
    hers = _route(page, chen_id)
    assert f'data-ticket="{booked_id}"' in hers
    assert 'class="muted small dx-free" hidden' in hers  # not "暂无安排"
    form = h.plan_form(page)
    token = TOKEN.search(page)
    assert token is not None
    done = client.post(
        "/dispatch/plan/publish",
        data={"csrf_token": token.group(1), "date": str(day), "network": str(net_id), **form},
    )
    assert "计划已发布：派出 3 单，1 单已在工程师手中仅调整顺序" in done.text
    with db.session() as s:
        visit = s.scalars(select(DispatchVisit).where(DispatchVisit.ticket_id == booked_id)).one()
        assert visit.eta is not None and visit.sequence is not None
    shown = client.get(f"/dispatch/plan?date={day}&network={net_id}").text
    stop = shown[shown.index(f'data-number="{number}"') :]
    stop = stop[: stop.index("</li>")]
    assert 'data-testid="stop-eta"' in stop and 'data-testid="stop-to-plan"' not in stop


def _her_visit_and_his_tickets(s: Any) -> dict[str, Any]:
    """陈欣怡 far off with one visit reassigned to her for the day, 周嘉豪 next to three
    waiting tickets: the plan, left to itself, gives her none."""
    now = utcnow()
    day = service.default_visit_day(now, h.SETTINGS)
    net = h.network(s, coverage=("浦东新区",), at=h.MID)
    chen = h.engineer(s, net, at=h.FAR, name="陈欣怡", daily_capacity=2)
    zhou = h.engineer(s, net, at=h.NEAR, name="周嘉豪", daily_capacity=6)
    booked = _reassigned_to(s, first=zhou.id, then=chen.id, day=day, now=now)
    for _ in range(3):
        h.ticket(
            s, h.customer(s), at=now - timedelta(minutes=30), preferred_time=f"{day} 08:00-20:00"
        )
    return {
        "day": day,
        "network": net.id,
        "chen": chen.id,
        "booked": booked.id,
        "number": booked.number,
    }


def _build(db: Database) -> dict[str, Any]:
    """The page test's world, served (see _her_visit_and_his_tickets)."""
    with db.session() as s:
        world = _her_visit_and_his_tickets(s)
        dispatcher = fx.user(s, role="dispatcher", display_name="调度小王").username
    return {**world, "day": world["day"].isoformat(), "dispatcher": dispatcher}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("booked-visits-e2e"), _build) as running:
        yield running


@pytest.mark.e2e
def test_in_chromium_her_booked_visit_is_planned_published_and_timed(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, day, net = portal["base"], portal["day"], portal["network"]
    with signed_in_tab(browser, base, portal["dispatcher"], width=1280) as page:
        page.goto(f"{base}/dispatch/plan?date={day}&network={net}&run=1")
        hers = page.locator(f"[data-testid=plan-route][data-engineer-id='{portal['chen']}']")
        stop = hers.locator(f"[data-testid=plan-stop][data-number='{portal['number']}']")
        expect(stop).to_be_visible()
        expect(stop.locator("[data-testid=stop-eta]")).to_be_visible()
        expect(hers.locator(".dx-free")).to_be_hidden()  # not "暂无安排"
        page.screenshot(path=str(SHOTS / "dayplan-booked-visit-1280.png"), full_page=True)
        page.click("[data-testid=preview-plan]")
        expect(page.locator("[data-testid=plan-summary]")).to_contain_text("已按调整重算")
        expect(stop).to_be_visible()
        page.click("[data-testid=publish-plan]")
        expect(page.locator(".flash").first).to_contain_text("1 单已在工程师手中仅调整顺序")
        expect(stop.locator("[data-testid=stop-eta]")).to_be_visible()
        expect(stop.locator("[data-testid=stop-to-plan]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "dayplan-booked-published-1280.png"), full_page=True)
