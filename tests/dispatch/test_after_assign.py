"""The workbench after 派给TA (a tester's finding): the flash said "已派给 赵静" but the panel
stayed on the same ticket, warning that no engineer could take it, with 赵静 under 不可派 as
"当前已是该工程师"; the ticket page said the same and showed neither who holds the ticket nor
the 改派 box.

After assigning, the workbench moves on to the next ticket of the queue (or says the queue is
empty); a ticket with an engineer always shows who it is and the 改派 box, saying plainly when
nobody else can take it, never the "no engineer" warning."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from portal.database import Database, utcnow
from portal.dispatch import service
from tests.dispatch import helpers as h
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as fx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PANEL = re.compile(r'data-testid="dispatch-panel" data-number="([^"]+)" data-version="(\d+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')
NO_ENGINEER = "没有可接此单的工程师"


def _world(db: Database) -> dict[str, Any]:
    """One Pudong network whose only engineer is 赵静, and two tickets waiting for the day."""
    day = service.default_visit_day(utcnow(), h.SETTINGS)
    with db.session() as s:
        net = h.network(s, coverage=("浦东新区",), at=h.MID)
        h.engineer(s, net, at=h.NEAR, name="赵静")
        numbers = [
            h.ticket(
                s,
                h.customer(s),
                at=utcnow() - timedelta(minutes=30 - k),
                preferred_time=f"{day} 08:00-20:00",
            ).number
            for k in range(2)
        ]
        return {
            "day": day.isoformat(),
            "numbers": numbers,
            "dispatcher": fx.user(s, role="dispatcher", display_name="调度小王").username,
        }


def _assign_shown(client: TestClient, page: str) -> Any:
    """Press 派给TA for the only candidate of the ticket the page shows."""
    panel, token, back = PANEL.search(page), TOKEN.search(page), NEXT.search(page)
    assert panel and token and back
    engineer = re.search(r'data-testid="assign-(\d+)"', page)
    assert engineer is not None, page
    return client.post(
        f"/dispatch/tickets/{panel.group(1)}/assign",
        data={
            "csrf_token": token.group(1),
            "expected_version": panel.group(2),
            "date": re.search(r'name="date" value="([\d-]+)"', page).group(1),  # type: ignore[union-attr]
            "next": html.unescape(back.group(1)),
            "engineer_id": engineer.group(1),
        },
    )


def _sign_in(client: TestClient, username: str) -> None:
    page = client.post("/login", data={"username": username, "password": fx.PASSWORD, "next": "/"})
    assert page.status_code == 200, page.text


def test_the_workbench_moves_on_and_a_held_ticket_shows_its_engineer(
    client: TestClient, db: Database
) -> None:
    world = _world(db)
    first, second = world["numbers"]
    _sign_in(client, world["dispatcher"])
    page = client.get(f"/dispatch?ticket={first}&date={world['day']}").text
    assert PANEL.search(page).group(1) == first  # type: ignore[union-attr]
    after = _assign_shown(client, page)
    assert f"{first} 已派给 赵静" in after.text
    # On to the next ticket of the queue, on the same day.
    assert PANEL.search(after.text).group(1) == second  # type: ignore[union-attr]
    assert NO_ENGINEER not in after.text
    assert f'value="{world["day"]}"' in after.text
    last = _assign_shown(client, after.text)
    assert f"{second} 已派给 赵静" in last.text
    assert 'data-testid="queue-empty"' in last.text and PANEL.search(last.text) is None
    # The ticket, held by 赵静, on the workbench and on its own page.
    for url in (f"/dispatch?ticket={first}&date={world['day']}", f"/tickets/{first}"):
        shown = client.get(url).text
        box = shown[shown.index('data-testid="reassign-box"') :]
        assert "当前工程师：赵静" in box[: box.index("</div>")]
        assert "没有其他可改派的工程师" in shown
        assert NO_ENGINEER not in shown
        assert "当前已是该工程师" not in shown


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("after-assign-e2e"), _world) as running:
        yield running


@pytest.mark.e2e
def test_assigning_in_chromium_moves_to_the_next_ticket(
    browser: Browser, portal: dict[str, Any]
) -> None:
    first, second = portal["numbers"]
    with signed_in_tab(browser, portal["base"], portal["dispatcher"], width=1280) as page:
        page.goto(f"{portal['base']}/dispatch?ticket={first}&date={portal['day']}")
        panel = page.locator("[data-testid=dispatch-panel]")
        expect(panel).to_have_attribute("data-number", first)
        page.locator("[data-testid=candidate] button[type=submit]").first.click()
        expect(page.locator(".flash").first).to_contain_text(f"{first} 已派给 赵静")
        expect(panel).to_have_attribute("data-number", second)
        expect(page.locator("[data-testid=no-candidates]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "dispatch-after-assign-1280.png"), full_page=True)
        page.locator("[data-testid=candidate] button[type=submit]").first.click()
        expect(page.locator("[data-testid=queue-empty]")).to_be_visible()
        expect(panel).to_have_count(0)
        page.goto(f"{portal['base']}/tickets/{first}")
        box = page.locator("[data-testid=reassign-box]")
        expect(box).to_be_visible()
        expect(box).to_contain_text("当前工程师：赵静")
        expect(page.locator("[data-testid=no-other-candidates]")).to_be_visible()
        expect(page.locator("[data-testid=no-candidates]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "dispatch-held-no-other-1280.png"), full_page=True)
