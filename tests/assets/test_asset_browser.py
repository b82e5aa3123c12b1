"""A ticket the bot filed without a unit, completed by the engineer on a 390 px phone who
ticks the fault code's measure and enters the unit from its nameplate; the customer then
finds the registered unit on /my, searches their tickets and the FAQ from the one box, and
sees the help centre's newest and most-read entries.

The portal runs under uvicorn on a migrated temporary SQLite database, with the real FAQ;
the bot's ticket comes in through the bot's own API with its service token.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal import wiring
from portal.accounts.models import User
from portal.assets.models import Asset, ProductModel
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.field.models import WorkRecord
from portal.knowledge.models import KbEntryReads
from portal.main import create_app
from portal.masterdata.models import FaultCode, WarrantyTerm
from portal.migrate import upgrade
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.app_fixtures import BOT_TOKEN
from tests.e2e_fixtures import serve
from tests.portal import factories as f
from tests.selfservice.support import sent_code

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "docs/screens"))
PHONE = "13955550001"
WIDTH = 390


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal with the real FAQ; an engineer, a washer model with its E21 measures, and a
    customer whose chat with the bot is about to file a ticket."""
    var = tmp_path_factory.mktemp("assets")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())
    with db.session() as s:
        net = f.network(s, city="上海")
        engineer = f.engineer(s, network=net, name="李师傅")
        washers = f.product(s, category="洗衣机", name="滚筒洗衣机")
        model = ProductModel(
            product_id=washers.id, code="WM-100", name="滚筒洗衣机 8公斤 变频", warranty_months=36
        )
        s.add(model)
        s.add(
            WarrantyTerm(
                product_category="洗衣机",
                product="",
                unit_months=36,
                main_part="电机",
                main_part_months=120,
            )
        )
        s.flush()
        s.add(
            FaultCode(
                model_id=model.id,
                code="E21",
                description="排水超时",
                measures=["清理排水过滤器", "疏通排水管", "更换排水泵"],
                parts=["排水泵"],
            )
        )
        customer = f.customer(s, with_asset=False, phone_=PHONE, name="周女士")
        other = f.customer(s, with_asset=False, name="陈先生")
        theirs = f.ticket(s, customer=other, fault_description="洗衣机显示E21不排水")
        chat = f.conversation(s, channel="web")
        for entry_id, reads in (
            ("wm-e21", 12),
            ("warranty-period-overview", 7),
            ("fee-invoice", 3),
        ):
            s.add(KbEntryReads(entry_id=entry_id, reads=reads))
        world = {
            "engineer_id": engineer.id,
            "network_id": net.id,
            "username": s.get_one(User, engineer.user_id).username,
            "customer_id": customer.id,
            "address": customer.addresses[0].full,
            "chat": chat.public_id,
            "theirs": theirs.number,
        }
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        secret_key="assets-e2e",
        bot_service_token=BOT_TOKEN,
        kb_enabled=True,  # the real FAQ, read only (no editor writes here, no reload)
        kb_reload_s=0.0,
    )
    try:
        with serve(create_app(settings)) as base:
            yield {"url": base, "world": world, "db": db}
    finally:
        db.dispose()


def _phone(browser: Browser, **extra: Any) -> Page:
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **extra,
    )
    return context.new_page()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.dataset.testid || ''))""",
        WIDTH,
    )
    assert width <= WIDTH, f"the page is {width}px wide on a {WIDTH}px screen: {wide}"


def _bot_files_a_ticket(portal: dict[str, Any]) -> str:
    """The bot files the chat's ticket (no model, no serial), the desk takes it in and
    dispatches it to the engineer."""
    world = portal["world"]
    filed = httpx.post(
        f"{portal['url']}/api/v1/bot/conversations/{world['chat']}/tickets",
        headers={"Authorization": f"Bearer {BOT_TOKEN}", "Idempotency-Key": uuid.uuid4().hex},
        json={
            "type": "repair",
            "product": "洗衣机",
            "fault_description": "洗衣机显示E21，水排不出去",
            "fault_started": "昨天",
            "phone": PHONE,
            "customer_name": "周女士",
            "address": world["address"],
            "city": "上海",
            "district": "浦东新区",
            "preferred_time": "明天下午",
        },
        timeout=30,
    )
    assert filed.status_code == 201, filed.text
    number = str(filed.json()["number"])
    with portal["db"].session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.asset_id is None and ticket.channel == "web" and not ticket.serial_number
        lifecycle.apply(s, ticket=ticket, action="accept", actor="user:desk", role="agent")
        lifecycle.apply(
            s,
            ticket=ticket,
            action="dispatch",
            actor="user:desk",
            role="dispatcher",
            payload={"network_id": world["network_id"], "engineer_id": world["engineer_id"]},
        )
        ticket.network_id, ticket.engineer_id = world["network_id"], world["engineer_id"]
    return number


def _sign(page: Page) -> None:
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 100)
    page.mouse.down()
    for i in range(1, 14):
        page.mouse.move(x + 30 + i * 18, y + 100 - (i % 4) * 20, steps=2)
    page.mouse.up()
    page.locator("[data-testid=save-signature]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("客户签名已保存")


def test_a_bot_ticket_ends_with_a_registered_unit_on_the_customer_s_page(
    portal: dict[str, Any], browser: Browser
) -> None:
    base, world = portal["url"], portal["world"]
    number = _bot_files_a_ticket(portal)
    bought = date.today() - timedelta(days=400)  # in warranty: 洗衣机 3 years

    page = _phone(browser, permissions=["geolocation"])
    page.context.set_geolocation({"latitude": 31.2401, "longitude": 121.5002, "accuracy": 15})
    page.goto(base + f"/field/jobs/{number}")
    page.fill("input[name=username]", world["username"])
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    status = page.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "dispatched")
    for step, reached in (
        ("accept", "engineer_accepted"),
        ("depart", "departed"),
        ("arrive", "arrived"),
    ):
        page.locator(f"[data-testid={step}]").tap()
        expect(status).to_have_attribute("data-status", reached)

    # The fault code's usual measures, to tick instead of typing.
    quick = page.locator("[data-testid=quick]")
    expect(quick).to_have_attribute("data-code", "E21")
    expect(quick).to_contain_text("清理排水过滤器")
    page.locator("[data-testid=measure-0]").check()
    page.locator("[data-testid=quick-part-0]").check()
    page.fill("[data-testid=work-done]", "试机排水正常")
    page.locator("[data-testid=save-record]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("工作记录已保存")
    expect(page.locator("[data-testid=measure-0]")).to_be_checked()
    expect(page.locator("[data-testid=part-0]")).to_have_value("排水泵")
    _fits(page)
    quick.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "assets-quick-390.png"))

    _sign(page)
    # A filter clogged with lint: in warranty, but not a quality fault (the costs' form).
    page.select_option("[data-testid=cause-select]", "other_non_quality")
    page.locator("[data-testid=save-cause]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("故障原因已保存")

    # No unit on file: the completion form asks for it. A serial that is not one is refused
    # with a clear message, and everything typed is still there.
    unit = page.locator("[data-testid=unit-form]")
    expect(unit).to_be_visible()
    page.select_option("[data-testid=unit-model]", "WM-100")
    page.fill("[data-testid=unit-serial]", "WM-1")
    page.fill("[data-testid=unit-purchase]", bought.isoformat())
    page.locator("[data-testid=complete]").tap()
    expect(page.locator("[data-testid=flash]")).to_contain_text("机身条码格式不对")
    expect(page.locator("[data-testid=unit-error]")).to_contain_text("机身条码格式不对")
    expect(page.locator("[data-testid=unit-error]")).to_be_in_viewport()
    expect(status).to_have_attribute("data-status", "arrived")
    expect(page.locator("[data-testid=unit-serial]")).to_have_value("WM-1")
    expect(page.locator("[data-testid=unit-purchase]")).to_have_value(bought.isoformat())
    expect(page.locator("[data-testid=unit-model]")).to_have_value("WM-100")
    _fits(page)
    unit.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "assets-unit-refused-390.png"))

    page.fill("[data-testid=unit-serial]", "wm2025 0100 777")
    page.locator("[data-testid=complete]").tap()
    expect(status).to_have_attribute("data-status", "completed")
    expect(page.locator("[data-testid=record-summary]")).to_contain_text("清理排水过滤器")
    expect(page.locator("[data-testid=unit-form]")).to_have_count(0)
    _fits(page)
    page.screenshot(path=str(SHOTS / "assets-completed-390.png"), full_page=True)
    page.context.close()

    with portal["db"].session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        registered = s.get_one(Asset, ticket.asset_id)
        assert (registered.serial_number, registered.origin) == ("WM20250100777", "work_record")
        assert registered.customer_id == world["customer_id"]
        assert registered.purchase_date == bought
        record = s.scalars(select(WorkRecord).where(WorkRecord.ticket_id == ticket.id)).one()
        assert record.measures == ["清理排水过滤器"]
        assert record.work_done == "清理排水过滤器\n试机排水正常"
        assert [p["name"] for p in record.parts_used] == ["排水泵"]

    # The customer signs in on their phone: the unit is on /my, in warranty.
    me = _phone(browser)
    me.goto(base + "/my/login")
    me.fill("[data-testid=login-phone]", PHONE)
    me.locator("[data-testid=login-send]").tap()
    expect(me.locator("[data-testid=login-code]")).to_be_visible()  # the code was sent
    me.fill("[data-testid=login-code]", sent_code(portal["db"], PHONE))
    me.locator("[data-testid=login-verify]").tap()
    expect(me).to_have_url(base + "/my/tickets")
    me.goto(base + "/my")
    mine = me.locator("[data-testid=my-unit]")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-serial", "WM20250100777")
    expect(mine).to_have_attribute("data-origin", "work_record")
    expect(mine).to_contain_text("WM-100")
    end = bought.replace(year=bought.year + 3)
    expect(mine.locator("[data-testid=unit-warranty]")).to_contain_text(f"保修至 {end}")
    _fits(me)
    me.screenshot(path=str(SHOTS / "assets-my-units-390.png"), full_page=True)

    # One search box: the FAQ's answer and my own ticket, not the other customer's.
    me.fill("[data-testid=my-q]", "洗衣机显示E21")
    me.locator("[data-testid=my-search]").tap()
    expect(me.locator("[data-testid=search-ticket]")).to_have_count(1)
    expect(me.locator("[data-testid=search-ticket]")).to_have_attribute("data-number", number)
    expect(me.locator("[data-testid=search-faq-entry][data-id=wm-e21]")).to_have_count(1)
    assert world["theirs"] not in me.content()
    _fits(me)
    me.screenshot(path=str(SHOTS / "myhelp-search-390.png"), full_page=True)

    # The help centre: most read first, and opening an entry counts a read.
    me.goto(base + "/my/help")
    popular = me.locator("[data-testid=help-popular] li")
    expect(popular.first).to_have_attribute("data-id", "wm-e21")
    expect(popular).to_have_count(3)
    _fits(me)
    me.screenshot(path=str(SHOTS / "myhelp-ranked-390.png"), full_page=True)
    me.locator("[data-testid=help-popular] li").nth(2).locator("a").tap()
    expect(me.locator("[data-testid=faq-page]")).to_have_attribute("data-id", "fee-invoice")
    with portal["db"].session() as s:
        assert s.get_one(KbEntryReads, "fee-invoice").reads == 4
    me.context.close()

    desk = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk.goto(base + "/my/help")
    expect(desk.locator("[data-testid=help-popular]")).to_be_visible()
    desk.screenshot(path=str(SHOTS / "myhelp-ranked-1280.png"), full_page=False)
    desk.close()
