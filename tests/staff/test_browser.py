"""Staff administration in headless Chromium on the real app: an admin creates an agent and a
dispatcher on the pages, each logs in with the one-time password and chooses their own; the
admin disables the agent and the agent's open session stops working; the admin turns on
2-step verification and the next login asks for the code; teams and SLA policies are made on
their pages. Screenshots: docs/screens/users-1280.png, totp-1280.png, teams-1280.png and
sla-1280.png (with SCREENSHOT_DIR=docs/screens; /tmp otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.accounts.models import User
from portal.conversations import service as conversations
from portal.database import Database, utcnow
from portal.staff import totp
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An empty portal with one admin, one agent made beforehand and two products."""

    def build(db: Database) -> dict[str, Any]:
        with db.session() as s:
            f.user(s, role="admin", username="boss", display_name="陈主管")
            f.user(s, role="agent", username="zhou", display_name="周敏")
            f.network(s, name="浦东服务中心")
            f.product(s, category="空调")
            f.product(s, category="洗衣机")
        return {}

    with served_portal(tmp_path_factory.mktemp("staff-e2e"), build) as world:
        yield world


@contextmanager
def _tab(browser: Browser, base: str) -> Iterator[Page]:
    """A signed-out tab that may reach nothing but the portal, failing on script errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(base) else route.abort(),
    )
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


def _create(page: Page, base: str, username: str, name: str, role: str) -> str:
    """Make an account on the page; the one-time password it shows."""
    page.goto(f"{base}/staff")
    page.click("[data-testid=new-user]")
    page.wait_for_url("**/staff/new")
    page.fill("[data-testid=field-username]", username)
    page.fill("[data-testid=field-display-name]", name)
    page.select_option("[data-testid=field-role]", role)
    page.click("[data-testid=create-user]")
    shown = page.locator("[data-testid=one-time-password]")
    shown.wait_for()
    return shown.inner_text().strip()


def _first_login(page: Page, base: str, username: str, one_time: str, new: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", one_time)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/password")
    page.fill("[data-testid=new-password]", new)
    page.fill("[data-testid=new-password-again]", new)
    page.click("[data-testid=set-password]")
    page.wait_for_url("**/tickets**")


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_an_admin_runs_the_staff(browser: Browser, portal: dict[str, Any]) -> None:
    base, db = portal["base"], portal["db"]
    with signed_in_tab(browser, base, "boss") as admin:
        admin.click("[data-testid=nav-more] summary")  # past the bar's first entries
        admin.click("a[href='/staff']")
        admin.wait_for_url("**/staff")
        agent_password = _create(admin, base, "li.agent", "李娜", "agent")
        dispatcher_password = _create(admin, base, "wang.disp", "王强", "dispatcher")
        assert agent_password != dispatcher_password
        with _tab(browser, base) as dispatcher:
            _first_login(dispatcher, base, "wang.disp", dispatcher_password, "Wang-own-pass-77")
            assert dispatcher.locator("a[href='/dispatch']").count() == 1
        with _tab(browser, base) as agent:
            _first_login(agent, base, "li.agent", agent_password, "Li-own-password-9")
            agent.goto(f"{base}/tickets")
            assert agent.url.endswith("/tickets")
            # The admin disables the agent; the agent's open session ends with it.
            with db.session() as s:
                agent_id = s.scalars(select(User.id).where(User.username == "li.agent")).one()
            admin.goto(f"{base}/staff/{agent_id}")
            # One click only asks: the account stays active until the admin confirms.
            admin.click("[data-testid=disable-user]")
            expect(admin.locator("[data-testid=disable-confirm]")).to_be_visible()
            expect(admin.locator("[data-testid=disable-box]")).to_contain_text("确定停用 li.agent")
            with db.session() as s:
                assert s.get_one(User, agent_id).is_active is True
            admin.click("[data-testid=disable-confirm]")
            admin.locator("[data-testid=flash]").wait_for()
            assert "已停用账号 li.agent" in admin.locator("[data-testid=flash]").inner_text()
            agent.goto(f"{base}/tickets")
            agent.wait_for_url("**/login?next=/tickets")
            response = agent.request.get(f"{base}/api/v1/console/me")
            assert response.status == 401
        admin.goto(f"{base}/staff")
        admin.locator(
            "[data-testid=user-row][data-username='li.agent'][data-active=false]"
        ).wait_for()
        _shot(admin, "users-1280.png")

        # A team of the chat desk, with the agent made beforehand and the admin.
        admin.goto(f"{base}/staff/teams")
        admin.click("[data-testid=new-team]")
        admin.fill("[data-testid=field-code]", "aircon")
        admin.fill("[data-testid=field-name]", "空调专席")
        admin.fill("[data-testid=field-max-chats]", "4")
        admin.check("input[name=product_lines][value='空调']")
        admin.check("[data-testid=field-lang-en]")
        admin.check("[data-testid=member-zhou]")
        admin.check("[data-testid=member-boss]")
        admin.click("[data-testid=save-team]")
        admin.wait_for_url("**/staff/teams")
        assert admin.locator("[data-testid=team-member]").count() == 2
        with db.session() as s:
            zhou = s.scalars(select(User.id).where(User.username == "zhou")).one()
            info = conversations.get_agent(s, user_id=zhou, default_max=3)
            assert (info.team, info.max_chats, info.product_lines) == ("aircon", 4, ("空调",))
        _shot(admin, "teams-1280.png")

        # An SLA policy for VIP repairs.
        admin.goto(f"{base}/sla/policies")
        admin.click("[data-testid=new-policy]")
        admin.fill("[data-testid=field-name]", "VIP 维修")
        admin.select_option("[data-testid=field-ticket-type]", "repair")
        admin.select_option("[data-testid=field-tier]", "vip")
        admin.fill("[data-testid=field-response]", "15")
        admin.fill("[data-testid=field-arrival]", "120")
        admin.fill("[data-testid=field-resolution]", "480")
        admin.select_option("[data-testid=field-auto-reassign]", "yes")
        admin.click("[data-testid=save-policy]")
        admin.wait_for_url("**/sla/policies")
        admin.locator("[data-testid=policy-row][data-name='VIP 维修']").wait_for()
        _shot(admin, "sla-1280.png")

        # 2-step verification for the admin: the QR code, the first code, the recovery codes.
        admin.goto(f"{base}/account/security")
        admin.click("[data-testid=totp-start]")
        admin.locator("[data-testid=totp-qr] svg").wait_for()
        _shot(admin, "totp-1280.png")
        secret = admin.locator("[data-testid=totp-secret]").inner_text().strip()
        admin.fill("[data-testid=totp-code]", totp.code_at(secret, utcnow()))
        admin.click("[data-testid=totp-confirm]")
        admin.locator("[data-testid=recovery-codes]").wait_for()
        assert admin.locator("[data-testid=recovery-code]").count() == 10
        admin.click("form.logout button")
        admin.wait_for_url("**/login")
        # The next login asks for the code.
        admin.fill("input[name=username]", "boss")
        admin.fill("input[name=password]", f.PASSWORD)
        admin.click("button[type=submit]")
        admin.wait_for_url("**/login/code")
        admin.fill("[data-testid=login-code-input]", "000000")
        admin.click("button[type=submit]")
        admin.locator("[data-testid=form-error]").wait_for()
        admin.fill(
            "[data-testid=login-code-input]", totp.code_at(secret, utcnow() + timedelta(seconds=30))
        )
        admin.click("button[type=submit]")
        admin.wait_for_url("**/tickets**")
        # The desk's widest screen, in English.
        admin.set_viewport_size({"width": 1920, "height": 1000})
        admin.goto(f"{base}/lang/en?next=/staff/teams")
        admin.locator("[data-testid=team-row][data-code=aircon]").wait_for()
        _shot(admin, "teams-1920.png")
        admin.goto(f"{base}/staff/{zhou}")
        _shot(admin, "user-1920.png")
