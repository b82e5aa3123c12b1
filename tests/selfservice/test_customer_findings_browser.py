"""A tester's findings as a customer, in Chromium on a 390 px phone against the real app:
the visit an engineer set off early for says today and the ETA on the customer's page; the
request form offers the customer's registered unit and their address and says plainly when
a typed product matches nothing; the code page offers 重新发送验证码 with its wait counted
down; the chat widget's quote card confirms a decline, saying what stays due, with an
optional reason.

Screenshots (SCREENSHOT_DIR, /tmp otherwise): my-early-visit-390.png, my-request-units-390.png,
my-request-no-product-390.png, my-resend-390.png, widget-decline-confirm-390.png,
widget-declined-390.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from portal.database import Database
from portal.dispatch.models import DispatchVisit
from portal.dispatch.scoring import DispatchSettings
from portal.fees.models import Quote
from portal.field import flows as field_flows
from portal.intake.windows import now_local
from portal.networks.models import Engineer
from portal.security import Principal, Role
from portal.settlement import flows as settlement_flows
from portal.tickets import flows as ticket_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, build
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f
from tests.selfservice.support import sent_code, signed_in_phone

pytestmark = pytest.mark.e2e

VISITOR = "vcustomerfindings0000001"
WAIT = 20_000  # ms: the widget's outbox loop polls every 2 s


def _world(db: Database, secret: str) -> dict[str, Any]:
    """The quote world (a chat-reported job on site, its quote sent to the chat), the
    customer's registered front-loader, and a second job of theirs booked two days on that
    the engineer set off for today, with their agreement."""
    world = build(db, visitor=VISITOR)
    engineer = Principal(
        kind="staff", role=Role.ENGINEER, name="eng", engineer_id=world.engineer_id
    )
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret=secret
        )
        customer = ticket.customer
        drum = f.product(s, category="洗衣机", name="滚筒洗衣机")
        unit = f.asset(
            s,
            customer=customer,
            address_=customer.addresses[0],
            model=f.product_model(s, product_=drum),
        )
        later = f.ticket(
            s,
            customer=customer,
            actions=("accept", "dispatch", "engineer_accept"),
            engineer=s.get_one(Engineer, world.engineer_id),
            preferred_time="下午",
        )
        booked = (now_local() + timedelta(days=2)).date()
        s.add(DispatchVisit(ticket_id=later.id, engineer_id=world.engineer_id, visit_date=booked))
        s.flush()
        field_flows.depart_early(
            s, ticket=later, principal=engineer, booked=booked, settings=DispatchSettings()
        )
        eta = ticket_flows.expected_visit(s, later).eta
        assert eta is not None
        return {
            "world": world,
            "phone": world.phone,
            "serial": unit.serial_number,
            "early": later.number,
            "booked": booked,
            "eta": eta,
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var = tmp_path_factory.mktemp("customer-findings")
    with served_portal(var, lambda db: _world(db, f"pages-{var.name}")) as running:
        yield running


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def _phone(browser: Browser) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


def test_early_visit_and_the_request_form(browser: Browser, portal: dict[str, Any]) -> None:
    base = portal["base"]
    with signed_in_phone(browser, portal, portal["early"]) as page:
        today = now_local().date()
        window = page.locator("[data-testid=visit-window]")
        expect(window).to_have_attribute("data-day", today.isoformat())
        eta = f"{portal['eta'].astimezone(now_local().tzinfo):%H:%M}"
        expect(window).to_contain_text(f"{today.month}月{today.day}日")
        expect(window).to_contain_text(eta)
        booked: date = portal["booked"]
        expect(window).not_to_contain_text(f"{booked.month}月{booked.day}日")
        _fits(page)
        window.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "my-early-visit-390.png"))

        page.goto(f"{base}/my/request?type=repair")
        address = page.locator("[data-testid=field-address]")
        expect(address).not_to_have_value("")  # their usual address, not asked again
        picker = page.locator("[data-testid=unit-picker]")
        mine = picker.locator(f"option[data-serial='{portal['serial']}']").get_attribute("value")
        assert mine
        picker.select_option(mine)
        expect(page.locator("[data-testid=field-product]")).to_have_value("滚筒洗衣机")
        expect(page.locator("[data-testid=field-serial_number]")).to_have_value(portal["serial"])
        expect(page.locator("[data-testid=field-model_code]")).not_to_have_value("")
        _fits(page)
        page.screenshot(path=str(SHOTS / "my-request-units-390.png"), full_page=True)

        page.locator("[data-testid=unit-picker]").select_option("")
        page.fill("[data-testid=field-product]", "扫地机器人")
        page.fill("[data-testid=field-model_code]", "")
        page.fill("[data-testid=field-serial_number]", "")
        page.fill("[data-testid=field-fault_description]", "不吸尘了")
        page.locator("[data-testid=request-submit]").tap()
        error = page.locator("[data-testid=error-product]")
        expect(error).to_contain_text("没有找到与“扫地机器人”相符的产品")
        expect(error).to_contain_text("洗衣机")
        expect(error).to_be_in_viewport()
        expect(page.locator("[data-testid=field-product]")).to_have_value("扫地机器人")
        expect(page.locator("[data-testid=field-fault_description]")).to_have_value("不吸尘了")
        _fits(page)
        page.screenshot(path=str(SHOTS / "my-request-no-product-390.png"))


def test_the_code_page_counts_down_to_a_resend(browser: Browser, portal: dict[str, Any]) -> None:
    base = portal["base"]
    context, page, problems = _phone(browser)
    try:
        page.goto(f"{base}/my/login")
        page.fill("[data-testid=login-phone]", "13900001111")
        page.locator("[data-testid=login-send]").tap()
        expect(page).to_have_url(f"{base}/my/login/verify")
        resend = page.locator("[data-testid=login-resend]")
        expect(resend).to_have_text("重新发送验证码")
        expect(resend).to_be_disabled()
        wait = page.locator("[data-testid=resend-wait]")
        expect(wait).to_be_visible()
        first = int(re.search(r"\d+", wait.inner_text()).group(0))  # type: ignore[union-attr]
        assert 50 <= first <= 60
        expect(wait).not_to_have_text(re.compile(rf"^{first}\b"), timeout=3000)  # counting
        _fits(page)
        page.screenshot(path=str(SHOTS / "my-resend-390.png"))
        assert sent_code(portal["db"], "13900001111")
        assert not problems, problems
    finally:
        context.close()


def test_the_widget_confirms_a_decline(browser: Browser, portal: dict[str, Any]) -> None:
    base, db = portal["base"], portal["db"]
    context, page, problems = _phone(browser)
    context.add_init_script(f"localStorage.setItem('aftersales.demo.visitor', '{VISITOR}');")
    try:
        page.goto(f"{base}/my")
        page.locator("[data-testid=aftersales-launcher]").tap()
        card = page.locator("[data-testid=aftersales-panel] [data-kind=quote]")
        expect(card).to_have_count(1, timeout=WAIT)
        card.locator("[data-testid=aftersales-quote-reject]").tap()
        consequence = card.locator("[data-testid=aftersales-quote-consequence]")
        expect(consequence).to_contain_text("仍需支付")
        expect(consequence).to_contain_text("¥120.00")  # the visit and its mileage
        with db.session() as s:
            assert s.scalars(select(Quote.status)).one() == "sent"  # nothing declined yet
        card.locator("[data-testid=aftersales-quote-reason]").fill("太贵了，先不修")
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "widget-decline-confirm-390.png"))
        card.locator("[data-testid=aftersales-quote-reject-confirm]").tap()
        expect(card.locator(".as-quote-result")).to_contain_text("工程师已收到通知")
        expect(card.locator("[data-testid=aftersales-quote-confirm]")).to_have_count(0)
        page.screenshot(path=str(SHOTS / "widget-declined-390.png"))
        with db.session() as s:
            quote = s.scalars(select(Quote)).one()
            assert quote.status == "rejected"
            ticket = s.get_one(Ticket, quote.ticket_id)
            assert settlement_flows.decline_reason(ticket, quote) == "太贵了，先不修"
        assert not problems, problems
    finally:
        context.close()
