"""The revisit and complaint journey on the real app in Chromium: the engineer completes a
ticket, the revisit invitation goes out (SMS with the link to /my), the customer gives it
one star in /my, a complaint case opens, a supervisor takes it and resolves it with an
outcome; the customer is asked (SMS, link to /my) and until they accept in /my the
supervisor cannot close it; then they do. An agent works the revisit call queue.
Screenshots: docs/screens/complaints-1280.png, complaint-detail-1280.png, revisits-1280.png;
the case waiting for the customer and their /my card in SCREENSHOT_DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from portal import wiring
from portal.accounts.models import User
from portal.complaints.models import Complaint
from portal.config import ROOT, Settings
from portal.database import Database, utcnow
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from tests.complaints.support import completed, outbox
from tests.e2e_fixtures import serve
from tests.portal import factories as fx
from tests.sla.support import act_at, make_crew, open_ticket

pytestmark = pytest.mark.e2e

SCREENS = ROOT / "docs" / "screens"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))
COMMENT = "师傅迟到了两个小时，态度也不好"
OUTCOME = "已向客户致歉并退还上门费，对工程师进行了服务规范培训"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port over its own database: a ticket the engineer is at, one
    completed three days ago and never rated, a customer, a supervisor at the desk."""
    var = tmp_path_factory.mktemp("complaints-e2e")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="cp-e2e")
    db = wiring.wire(Database(url), settings, planner=NoParts())
    with db.session() as s:
        crew = make_crew(s)
        customer = fx.customer(s, name="林女士")
        ticket = open_ticket(s, customer=customer, product="滚筒洗衣机")
        now = utcnow()
        for action in ("accept", "dispatch", "engineer_accept", "depart", "arrive"):
            payload = {"engineer_id": crew.engineer_id} if action == "dispatch" else {}
            act_at(s, ticket, action, now, **payload)
        waiting = completed(
            s, crew=crew, customer=fx.customer(s, name="周先生"), at=now - timedelta(days=3)
        )
        supervisor = fx.user(s, role="agent", display_name="投诉主管王")
        engineer = s.get_one(User, crew.engineer_user)
        info = {
            "number": ticket.number,
            "phone": customer.phone,
            "waiting": waiting.number,
            "waiting_phone": waiting.phone,
            "supervisor": supervisor.username,
            "engineer_auth": fx.bearer(settings, engineer),
        }
    with serve(create_app(settings)) as base:
        yield {"base": base, "db": db, **info}
    db.dispose()


def _context(browser: Browser, portal: dict[str, Any], width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(portal["base"]):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.outside = outside  # type: ignore[attr-defined]
    return context


def _staff(browser: Browser, portal: dict[str, Any], username: str) -> tuple[Any, Page]:
    context = _context(browser, portal, 1280)
    page = context.new_page()
    page.goto(f"{portal['base']}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", fx.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/tickets**")
    return context, page


def _customer(browser: Browser, portal: dict[str, Any], number: str) -> tuple[Any, Page]:
    """The ticket's customer on a 390 px phone, signed in to /my on the ticket's page."""
    base, db = portal["base"], portal["db"]
    context = _context(browser, portal, 390)
    page = context.new_page()
    page.goto(f"{base}/my/login?next=/my/tickets/{number}")
    page.get_by_test_id("login-phone").fill(portal["phone"])
    page.get_by_test_id("login-send").click()
    with db.session() as s:
        code = outbox(s, template="one_time_code", recipient=portal["phone"])[-1]
    page.get_by_test_id("login-code").fill(str(code.payload["code"]))
    page.get_by_test_id("login-verify").click()
    page.wait_for_url(f"**/my/tickets/{number}")
    return context, page


def _shot(page: Page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_completion_one_star_complaint_resolved_and_closed(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, db, number = portal["base"], portal["db"], portal["number"]
    # 1. The engineer completes the job (the field app's action, through the API).
    done = httpx.post(
        f"{base}/api/v1/tickets/{number}/transitions",
        json={"action": "complete"},
        headers=portal["engineer_auth"],
    )
    assert done.status_code == 200, done.text

    # 2. The revisit invitation goes out: the customer has no chat, so by SMS, with the link.
    with db.session() as s:
        [invite] = outbox(s, template="revisit_invite_sms")
        assert invite.recipient == portal["phone"]
        assert invite.payload["link"].endswith(f"/my/tickets/{number}")

    # 3. The customer signs in to /my on their phone and gives it one star.
    context, page = _customer(browser, portal, number)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.get_by_test_id("score-1").check()
    page.get_by_test_id("rate-comment").fill(COMMENT)
    page.get_by_test_id("rate-submit").click()
    page.get_by_test_id("rated").wait_for()
    assert errors == []
    mine = context  # still signed in: they answer the outcome here later

    # 4. A complaint case is open, from the revisit, its reason read from the comment.
    with db.session() as s:
        case = s.scalars(select(Complaint)).one()
        assert (case.status, case.source, case.score, case.reason) == ("open", "revisit", 1, "late")
        case_id = case.id

    # 5. The supervisor finds it on the list, takes it, resolves it with an outcome.
    context, desk = _staff(browser, portal, portal["supervisor"])
    desk.goto(f"{base}/complaints")
    row = desk.locator(f'[data-testid=complaint-row][data-id="{case_id}"]')
    assert number in row.inner_text() and "上门迟到" in row.inner_text()
    shot = _shot(desk, "complaints-1280.png")
    assert shot.stat().st_size > 10_000
    row.get_by_role("link", name=f"#{case_id}").click()
    desk.wait_for_url(f"**/complaints/{case_id}")
    assert COMMENT in desk.get_by_test_id("complaint-description").inner_text()
    desk.get_by_test_id("complaint-take").click()
    desk.wait_for_selector('[data-testid=complaint-status][data-status="in_progress"]')
    assert desk.get_by_test_id("complaint-owner").inner_text() == "投诉主管王"
    desk.get_by_test_id("outcome").fill(OUTCOME)
    desk.get_by_test_id("complaint-resolve").click()
    desk.wait_for_selector('[data-testid=complaint-status][data-status="resolved"]')
    assert desk.get_by_test_id("flash").inner_text().startswith("已解决")
    # Nothing to close while the customer has not answered: the page says what it waits for.
    assert desk.get_by_test_id("complaint-close").count() == 0
    waiting = desk.get_by_test_id("confirmation")
    assert waiting.get_attribute("data-confirmation") == "awaiting"
    assert "等待客户确认" in waiting.inner_text()
    assert desk.get_by_test_id("complaint-confirm_phone").is_visible()
    desk.screenshot(path=str(SHOTS / "complaint-awaiting-1280.png"), full_page=True)

    # 6. The customer was asked, on their channel (no chat: SMS with the link to /my) ...
    with db.session() as s:
        [asked] = outbox(s, template="complaint_confirm_sms")
        assert (asked.channel, asked.recipient) == ("sms", portal["phone"])
        assert asked.payload["outcome"] == OUTCOME
        assert asked.payload["link"].endswith(f"/my/tickets/{number}#complaint")

    # 7. ... and accepts the outcome in /my on their phone.
    phone = page
    phone.reload()
    card = phone.get_by_test_id("complaint")
    card.scroll_into_view_if_needed()
    assert OUTCOME in card.get_by_test_id("complaint-outcome").inner_text()
    phone.screenshot(path=str(SHOTS / "my-complaint-390.png"), full_page=True)
    card.get_by_test_id("complaint-accept").click()
    phone.get_by_test_id("complaint-accepted").wait_for()
    mine.close()
    assert errors == [] and mine.outside == []

    # 8. Now the supervisor may close it, and the history says who accepted.
    desk.reload()
    assert desk.get_by_test_id("confirmation").get_attribute("data-confirmation") == "accepted"
    desk.get_by_test_id("complaint-close").click()
    desk.wait_for_selector('[data-testid=complaint-status][data-status="closed"]')
    history = desk.get_by_test_id("complaint-history").inner_text()
    for said in ("登记投诉", "接手处理", "解决并通知客户", "客户接受处理结果", "关闭", OUTCOME):
        assert said in history
    _shot(desk, "complaint-detail-1280.png")
    context.close()
    assert context.outside == []


def test_the_revisit_queue_in_the_browser(browser: Browser, portal: dict[str, Any]) -> None:
    base, waiting = portal["base"], portal["waiting"]
    context, desk = _staff(browser, portal, portal["supervisor"])
    desk.goto(f"{base}/revisits")
    row = desk.locator(f'[data-testid=revisit-row][data-number="{waiting}"]')
    assert portal["waiting_phone"] not in row.inner_text()  # masked until the call starts
    row.get_by_test_id("revisit-call").click()
    desk.wait_for_selector(f'[data-number="{waiting}"] [data-testid=revisit-form]')
    row = desk.locator(f'[data-testid=revisit-row][data-number="{waiting}"]')
    assert portal["waiting_phone"] in row.inner_text()
    _shot(desk, "revisits-1280.png")
    row.locator("select[name=outcome]").select_option("answered")
    row.locator("select[name=score]").select_option("5")
    row.locator("input[name=comment]").fill("很满意")
    row.get_by_test_id("revisit-save").click()
    desk.get_by_test_id("flash").wait_for()
    assert desk.locator(f'[data-testid=revisit-row][data-number="{waiting}"]').count() == 0
    context.close()
    assert context.outside == []
