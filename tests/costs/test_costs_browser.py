"""The cost-centre scene in headless Chromium, as its roles do it: an engineer on a 390 px phone
completes an in-warranty repair, picks 部件失效 and adds a photo (refused first without one);
the customer's rating settles it onto the factory's cost centre; factory quality at 1440 px
confirms one quality case and reclassifies this one with a reason, which moves its lines to
the market & sales centre by reversal (the ledger balances are checked); finance reads the
month per cost centre and drills down to the cases and their lines.

The portal runs under uvicorn in a thread, on a free port, over a migrated temporary SQLite
database. Screenshots go to docs/screens/costs-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal import wiring
from portal.accounts.models import User
from portal.audit.models import AuditRecord
from portal.config import Settings
from portal.costs.models import CostCase
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from portal.settlement import ledger
from portal.settlement.models import LedgerTransaction
from portal.tickets.models import Ticket
from tests import page_support
from tests.costs import world as w
from tests.e2e_fixtures import serve
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

SHOTS = page_support.SHOTS  # docs/screens with SCREENSHOT_DIR=docs/screens
D = Decimal
PARTS, LABOUR, LOGISTICS = D("45.00"), D("80.00"), D("20.00")
REASON = "进水口滤网缺失、管路泥沙堵塞，属安装问题，不是泵的质量问题"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: an engineer on site at an in-warranty repair, another
    quality case already settled, a factory-quality user and a finance user."""
    var = tmp_path_factory.mktemp("costs")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, var_dir=var, database_url=url, secret_key="costs-e2e")
    db = wiring.wire(Database(url), settings, planner=NoParts())
    with db.session() as s:
        crew = w.crew(s)
        job = w.on_site(s, crew)
        earlier = w.on_site(s, crew)
        w.record_cause(s, crew, earlier, "manufacturing_defect", settings.uploads_path)
        w.work_and_sign(s, crew, earlier, settings.uploads_path)
        w.complete(s, crew, earlier)
        w.rate(s, earlier)
        engineer = s.get_one(User, crew.engineer.user_id)
        people = {
            "engineer": engineer.username,
            "quality": f.user(s, role="quality").username,
            "finance": f.user(s, role="finance").username,
        }
        numbers = {"job": job.number, "earlier": earlier.number}
    try:
        with serve(create_app(settings)) as base:
            yield {"url": base, "db": db, "people": people, "numbers": numbers}
    finally:
        db.dispose()


def _log_in(page: Page, base: str, username: str, lands: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + lands)


def _fits(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


def _balances(db: Database, centre: str) -> dict[str, Decimal]:
    with db.session() as s:
        return {g: ledger.balance(s, f"cc:{centre}:{g}") for g in ("parts", "labour", "logistics")}


def test_quality_repair_to_the_factory_reclassified_by_reversal(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, db, people, numbers = portal["url"], portal["db"], portal["people"], portal["numbers"]
    SHOTS.mkdir(parents=True, exist_ok=True)

    # ---- the engineer, on a phone: work record, 部件失效 with a photo, signature, complete --
    phone = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = phone.new_page()
    _log_in(page, base, people["engineer"], "/field")
    page.goto(base + f"/field/jobs/{numbers['job']}")
    status = page.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "arrived")
    expect(page.locator("[data-testid=check-cause]")).to_have_class("todo")
    page.fill("[data-testid=diagnosis]", "排水泵不转，E21")
    page.fill("[data-testid=work-done]", "更换排水泵，试机正常")
    page.fill("[data-testid=part-0]", w.PUMP)
    page.locator("[data-testid=save-record]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("工作记录已保存")

    # A quality cause without a photo is refused, and the choice is kept.
    page.select_option("[data-testid=cause-select]", "component_failure")
    page.locator("[data-testid=save-cause]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("质量问题需要至少一张证据照片")
    # A tester found the reason at the top of the page, off the phone's screen once the
    # browser had jumped to the form (#cause): it now stands under the form's heading.
    expect(page.locator("#cause [data-testid=flash]")).to_be_in_viewport()
    expect(page.locator("[data-testid=cause-select]")).to_have_value("component_failure")
    page.set_input_files(
        "[data-testid=evidence-input]",
        files=[{"name": "失效的泵.png", "mimeType": "image/png", "buffer": f.PNG}],
    )
    page.locator("[data-testid=save-cause]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("故障原因已保存")
    current = page.locator("[data-testid=cause-current]")
    expect(current).to_have_attribute("data-centre", "factory")
    expect(current).to_contain_text("部件失效")
    expect(page.locator("[data-testid=evidence-photo]")).to_have_count(1)
    _fits(page, 390)
    page.locator("#cause").evaluate("el => el.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(SHOTS / "costs-field-cause.png"))

    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 100)
    page.mouse.down()
    for i in range(1, 14):
        page.mouse.move(box["x"] + 30 + i * 18, box["y"] + 100 - (i % 4) * 20, steps=2)
    page.mouse.up()
    page.locator("[data-testid=save-signature]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("客户签名已保存")
    page.locator("[data-testid=complete]").tap()
    expect(status).to_have_attribute("data-status", "completed")
    phone.close()

    # ---- the customer rates it: settlement posts it onto the factory's cost centre -------
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == numbers["job"])).one()
        w.rate(s, ticket)
        job_id = ticket.id
    both = {"parts": PARTS * 2, "labour": LABOUR * 2, "logistics": LOGISTICS * 2}
    assert _balances(db, "factory") == both
    assert set(_balances(db, "sales").values()) == {D("0.00")}

    # ---- factory quality, at a desk: confirm one, reclassify the phone's one -------------
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = desk.new_page()
    _log_in(page, base, people["quality"], "/quality")
    rows = page.locator("[data-testid=case-row]")
    expect(rows).to_have_count(2)
    _fits(page, 1440)
    page.screenshot(path=str(SHOTS / "costs-quality-list.png"), full_page=True)

    page.locator(f"[data-testid=case-row][data-number='{numbers['earlier']}'] a").click()
    page.locator("[data-testid=confirm]").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("已确认为质量问题，成本由工厂承担")
    expect(page.locator("[data-testid=case]")).to_have_attribute("data-status", "confirmed")

    page.goto(base + f"/quality/cases/{numbers['job']}")
    expect(page.locator("[data-testid=evidence] [data-testid=evidence-photo]")).to_have_count(1)
    src = page.locator("[data-testid=evidence] img").get_attribute("src") or ""
    served = page.request.get(base + src)  # the engineer's photo, served to factory quality
    assert served.status == 200 and served.body() == f.PNG
    expect(page.locator("[data-testid=cost-line]")).to_have_count(3)  # parts, labour, mileage
    page.screenshot(path=str(SHOTS / "costs-quality-case.png"), full_page=True)
    # No reason: refused, nothing moves.
    page.locator("[data-testid=reason]").evaluate("el => el.removeAttribute('required')")
    page.locator("[data-testid=reclassify]").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("改判必须填写原因")
    assert _balances(db, "factory") == both
    page.select_option("[data-testid=new-cause]", "improper_installation")
    page.fill("[data-testid=reason]", REASON)
    page.locator("[data-testid=reclassify]").click()
    expect(page.locator("[data-testid=flash]")).to_have_text("已改判，成本已冲销并转入另一成本中心")
    case = page.locator("[data-testid=case]")
    expect(case).to_have_attribute("data-status", "reclassified")
    expect(case).to_have_attribute("data-centre", "sales")
    expect(page.locator("[data-testid=appraisal]")).to_contain_text(REASON)
    # The allocation, its reversal and the new one: 3 + 3 + 3 lines, none edited.
    expect(page.locator("[data-testid=cost-line]")).to_have_count(9)
    expect(page.locator("[data-testid=cost-line][data-kind=reversal]")).to_have_count(3)
    _fits(page, 1440)
    page.screenshot(path=str(SHOTS / "costs-quality-reclassified.png"), full_page=True)
    page.goto(base + "/quality/repeats")
    expect(page.locator("[data-testid=repeat-row]")).to_have_count(0)  # one is reclassified
    desk.close()

    one = {"parts": PARTS, "labour": LABOUR, "logistics": LOGISTICS}
    assert _balances(db, "factory") == one
    assert _balances(db, "sales") == one
    with db.session() as s:
        assert ledger.unbalanced_transactions(s) == []
        assert sum((b for _a, b in ledger.trial_balance(s)), D("0")) == D("0")
        txns = s.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.ticket_id == job_id)
            .where(LedgerTransaction.kind.in_(("allocation", "reversal")))
            .order_by(LedgerTransaction.id)
        ).all()
        assert [t.kind for t in txns] == ["allocation", "reversal", "allocation"]
        assert txns[1].reverses_id == txns[0].id
        case_row = s.scalars(select(CostCase).where(CostCase.ticket_id == job_id)).one()
        audited = s.scalars(
            select(AuditRecord).where(
                AuditRecord.entity == "cost_cases", AuditRecord.entity_id == str(case_row.id)
            )
        ).all()
        assert any(
            (a.after or {}).get("status") == "reclassified" and a.actor.startswith("user:")
            for a in audited
        )

    # ---- finance: the month per cost centre, drilled down to the cases and lines --------
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = desk.new_page()
    _log_in(page, base, people["finance"], "/tickets")
    page.goto(base + "/settlement")
    page.locator("[data-testid=tab-cost-centres]").click()
    total = str(PARTS + LABOUR + LOGISTICS)
    factory = page.locator("[data-testid=centre-row][data-centre=factory]")
    expect(factory).to_have_attribute("data-total", total)
    expect(page.locator("[data-testid=centre-row][data-centre=sales]")).to_have_attribute(
        "data-total", total
    )
    _fits(page, 1440)
    page.screenshot(path=str(SHOTS / "costs-finance-centres.png"), full_page=True)
    factory.locator("[data-testid=open-centre]").click()
    cases = page.locator("[data-testid=centre-case]")
    expect(cases).to_have_count(2)
    expect(
        page.locator(f"[data-testid=centre-case][data-number='{numbers['job']}']")
    ).to_have_attribute("data-total", "0.00")
    page.screenshot(path=str(SHOTS / "costs-finance-factory.png"), full_page=True)
    desk.close()
