"""The consult scene in Chromium, as its two roles do it: an engineer on a 390 px phone opens
a consult from a job with a photo; an expert at a 1440 px desk sees it arrive in the queue,
takes it with the unit's history and the standard job beside it, and answers with a
recommended measure; the engineer's page shows the answer without being reloaded.

Screenshots go to docs/screens/consult-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal import wiring
from portal.config import Settings
from portal.consults.models import Consult
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from portal.sop.demo import seed_sops
from portal.tickets.models import Ticket
from tests.complaints.support import completed
from tests.consults.support import scene
from tests.e2e_fixtures import serve
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screens"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: two engineers with a job each, two experts, the SOPs, and
    an earlier repair of the same unit."""
    var = tmp_path_factory.mktemp("consults")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = wiring.wire(Database(url), Settings(), planner=NoParts())
    sc = scene(db)
    with db.session() as s:
        seed_sops(s)
        job = s.scalars(select(Ticket).where(Ticket.number == sc.world.job)).one()
        completed(
            s,
            customer=job.customer,
            serial_number=job.serial_number,
            product=job.product,
            fault_description="E21 排水慢，清理过滤器",
        )
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="consult-e2e")
    try:
        with serve(create_app(settings)) as base:
            yield {"url": base, "scene": sc, "db": db}
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def desk(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    yield context.new_page()
    context.close()


def _login(page: Page, base: str, username: str, landing: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + landing)


def _fits(page: Page, width: int) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide}px wide on a {width}px screen"


def test_engineer_asks_from_a_phone_and_sees_the_expert_s_answer_live(
    portal: dict[str, Any], phone: Page, desk: Page
) -> None:
    base, sc = portal["url"], portal["scene"]
    job = sc.world.job
    _login(phone, base, sc.world.username, "/field")
    phone.goto(f"{base}/field/jobs/{job}")
    card = phone.locator("[data-testid=consults]")
    expect(card).to_contain_text("还没有就此工单请教专家")  # the card filled in by the script
    card.locator("[data-testid=open-consult]").tap()
    expect(phone).to_have_url(f"{base}/field/jobs/{job}/consults/new")
    phone.fill("[data-testid=consult-fault-code]", "E21")
    phone.fill(
        "[data-testid=consult-question]", "换排水泵后仍报 E21，泵通电嗡嗡响不转，是主板驱动问题吗？"
    )
    phone.set_input_files(
        "[data-testid=consult-photos]",
        files=[{"name": "排水泵.png", "mimeType": "image/png", "buffer": f.PNG}],
    )
    _fits(phone, 390)
    phone.screenshot(path=str(SHOTS / "consult-field-ask-390.png"), full_page=True)
    phone.locator("[data-testid=consult-send]").tap()
    expect(phone.locator("[data-testid=flash]")).to_contain_text("已发给技术专家")
    live = phone.locator("[data-testid=consult-live]")
    expect(live).to_have_attribute("data-connected", "true")
    expect(phone.locator("[data-testid=consult-status]")).to_have_text("待接单")
    expect(phone.locator("[data-testid=consult-photo]")).to_have_count(1)
    consult_url = phone.url
    # Marks this page: a reload or a navigation would lose it.
    phone.evaluate("window.__sameConsultPage = true")

    _login(desk, base, sc.expert, "/consults")
    item = desk.locator("[data-testid=consult-queue] [data-testid=consult-item]")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(job)
    item.click()
    expect(desk.locator("[data-testid=consult-history] li")).to_have_count(1)
    expect(desk.locator("[data-testid=consult-sop]")).not_to_contain_text("没有标准作业")
    desk.locator("[data-testid=consult-take]").click()
    expect(desk.locator("[data-testid=flash]")).to_have_text("已接单")
    # The phone hears of it without a reload.
    expect(phone.locator("[data-testid=consult-status]")).to_have_text("待专家答复")

    # An empty answer is refused, with the reason under the answer form's heading.
    desk.locator("[data-testid=consult-answer-send]").click()
    refusal = desk.locator("#answer [data-testid=flash]")
    expect(refusal).to_have_class(re.compile("flash-error"))
    expect(refusal).to_be_in_viewport()
    desk.fill(
        "[data-testid=consult-answer-text]",
        "先断电测泵线圈阻值（150–200Ω），正常再测主板泵驱动端电压。",
    )
    desk.fill("[data-testid=consult-answer-measure]", "阻值异常换排水泵；电压不足换电脑板")
    desk.set_input_files(
        "[data-testid=consult-answer-photos]",
        files=[{"name": "测点.png", "mimeType": "image/png", "buffer": f.PNG}],
    )
    desk.locator("[data-testid=consult-answer-send]").click()
    expect(desk.locator("[data-testid=flash]")).to_have_text("答复已发送")
    expect(desk.locator("[data-testid=consult-mine] [data-testid=consult-item]")).to_have_count(1)
    _fits(desk, 1440)
    desk.screenshot(path=str(SHOTS / "consult-desk-1440.png"), full_page=True)

    expect(phone.locator("[data-testid=consult-status]")).to_have_text("专家已答复")
    expert_msg = phone.locator("[data-testid=consult-message][data-side=expert]")
    expect(expert_msg).to_contain_text("先断电测泵线圈阻值")
    expect(phone.locator("[data-testid=consult-measure]")).to_contain_text("阻值异常换排水泵")
    expect(expert_msg.locator("[data-testid=consult-photo]")).to_have_count(1)
    assert phone.url == consult_url
    assert phone.evaluate("window.__sameConsultPage === true"), "the page was reloaded"
    _fits(phone, 390)
    phone.screenshot(path=str(SHOTS / "consult-field-answered-390.png"), full_page=True)

    # Solved on site: the engineer closes it; the desk's list follows.
    phone.locator("[data-testid=consult-resolve]").tap()
    expect(phone.locator("[data-testid=consult-status]")).to_have_text("已解决")
    expect(desk.locator("[data-testid=consult-done] [data-testid=consult-item]")).to_have_count(1)
    with portal["db"].session() as s:
        consult = s.scalars(select(Consult)).one()
        assert consult.status == "resolved" and consult.first_answer_at is not None
    # Kept on the job: its card shows the measure.
    phone.goto(f"{base}/field/jobs/{job}")
    expect(phone.locator("[data-testid=consult-link]")).to_have_attribute("data-status", "resolved")
    expect(phone.locator("[data-testid=consults]")).to_contain_text("阻值异常换排水泵")
    phone.locator("[data-testid=consults]").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "consult-field-job-390.png"))


def test_the_consult_is_kept_on_the_staff_ticket_page(
    portal: dict[str, Any], browser: Browser
) -> None:
    base, sc = portal["url"], portal["scene"]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        _login(page, base, sc.world.agent, "/tickets")
        page.goto(f"{base}/tickets/{sc.world.job}")
        section = page.locator("[data-testid=ticket-consults]")
        expect(section.locator("[data-testid=consult-status]")).to_have_text("已解决")
        expect(section.locator("[data-testid=consult-measure]")).to_contain_text("阻值异常换排水泵")
        expect(section.locator("[data-testid=consult-photo]")).to_have_count(2)
        page.locator("#consults").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "consult-ticket-1440.png"))
    finally:
        context.close()


def test_an_expert_on_a_phone_taps_a_consult_and_sees_it(
    browser: Browser, portal: dict[str, Any]
) -> None:
    """A tester tapped a consult on a 390 px phone and saw the page come back at its top, the
    consult opened below every list, 1,500 px down."""
    base, sc, db = portal["url"], portal["scene"], portal["db"]
    with db.session() as s:
        consult_id = s.scalars(select(Consult.id).order_by(Consult.id)).first()
    assert consult_id is not None
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    _login(page, base, sc.expert, "/consults")
    page.locator(f"[data-testid=consult-item][data-id='{consult_id}']").first.tap()
    expect(page).to_have_url(f"{base}/consults?open={consult_id}")
    page.wait_for_load_state("load")
    top = page.locator(".cdesk-main").bounding_box()
    assert top is not None and 0 <= top["y"] < 100, top  # scrolled to the chosen consult
    _fits(page, 390)
    context.close()
