"""Settlement pages in headless Chromium on the real app: finance records a network's deposit
top-up and a deduction, and edits a rate card into its next version."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.database import Database
from portal.fees.models import RateCard
from portal.settlement import service as settlement
from portal.templating import shanghai_today
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.parts.world import rate_card
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        nets = [
            f.network(s, name=name, code=code)
            for name, code in (("上海浦东服务中心", "SH-PD"), ("上海徐汇服务中心", "SH-XH"),
                               ("杭州西湖服务中心", "HZ-XH"))
        ]  # fmt: skip
        card = rate_card(s)
        return {
            "finance": f.user(s, role="finance", display_name="财务小王").username,
            "net": nets[0].id,
            "card": card.id,
            "code": card.code,
        }


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("settlement-e2e"), _build) as running:
        yield running


def test_finance_records_a_deposit(browser: Browser, portal: dict[str, Any]) -> None:
    base, db = portal["base"], portal["db"]
    with signed_in_tab(browser, base, portal["finance"]) as page:
        page.click("#mainnav a[href='/settlement']")
        page.click("[data-testid=tab-deposits]")
        page.wait_for_url("**/settlement/deposits")
        expect(page.locator("[data-testid=deposit-row]")).to_have_count(3)
        page.click(f"[data-testid=deposit-row][data-network='{portal['net']}'] a")
        page.wait_for_url(f"**/settlement/deposits/{portal['net']}")
        form = page.locator("[data-testid=deposit-form]")
        form.locator("select[name=action]").select_option("receive")
        form.locator("input[name=amount]").fill("5000")
        form.locator("input[name=memo]").fill("2026年度押金")
        form.locator("[data-testid=deposit-submit]").click()
        expect(page.locator("[data-testid=flash]")).to_have_text("已记录：收取押金 ¥5,000.00")
        expect(page.locator("[data-testid=deposit-balance]")).to_have_attribute(
            "data-amount", "5000.00"
        )
        # A deduction with its reason; the history shows both, newest first, with the balance after.
        form.locator("select[name=action]").select_option("deduct")
        form.locator("input[name=amount]").fill("320.50")
        form.locator("input[name=memo]").fill("抵扣11月超时罚款")
        form.locator("[data-testid=deposit-submit]").click()
        expect(page.locator("[data-testid=deposit-balance]")).to_have_attribute(
            "data-amount", "4679.50"
        )
        entries = page.locator("[data-testid=deposit-entry]")
        expect(entries).to_have_count(2)
        expect(entries.first).to_contain_text("抵扣11月超时罚款")
        expect(entries.first).to_contain_text("4,679.50")
        expect(entries.first).to_contain_text("财务小王")
        page.screenshot(path=str(SHOTS / "deposits-1280.png"), full_page=True)
    with db.session() as s:
        assert settlement.deposit_balance(s, network_id=portal["net"]) == Decimal("4679.50")


def test_finance_edits_a_rate_card(browser: Browser, portal: dict[str, Any]) -> None:
    base, db = portal["base"], portal["db"]
    start = shanghai_today() + timedelta(days=7)
    with signed_in_tab(browser, base, portal["finance"]) as page:
        page.goto(f"{base}/settlement")
        page.click("[data-testid=tab-rate-cards]")
        page.wait_for_url("**/settlement/rate-cards")
        row = page.locator(f"[data-testid=rate-card-row][data-code='{portal['code']}']")
        expect(row).to_have_attribute("data-state", "current")
        row.locator("[data-testid=edit-rate-card]").click()
        page.wait_for_url(f"**/settlement/rate-cards/{portal['card']}/edit")
        expect(page.locator("[data-testid=version-hint]")).to_contain_text("v2")
        rows = page.locator("[data-testid=line-row]")
        # The out-of-warranty repair (line 2) goes from 100 to 120; one more line is added.
        expect(rows.nth(1).locator("input[name=service_fee]")).to_have_value("100.00")
        rows.nth(1).locator("input[name=service_fee]").fill("120.00")
        blank = rows.nth(rows.count() - 3)
        blank.locator("select[name=service_type]").select_option("maintenance")
        blank.locator("input[name=product_category]").fill("空调")
        blank.locator("select[name=warranty]").select_option("out")
        blank.locator("input[name=service_fee]").fill("150")
        blank.locator("input[name=engineer_pay]").fill("70")
        page.fill("input[name=effective_from]", start.isoformat())
        page.screenshot(path=str(SHOTS / "ratecards-form-1280.png"), full_page=True)
        page.click("[data-testid=save-rate-card]")
        expect(page.locator("[data-testid=flash]")).to_contain_text(f"{portal['code']} v2")
        fees = page.locator("[data-testid=rate-line-fee]")
        expect(fees.nth(1)).to_have_text("¥120.00")
        page.click("[data-testid=tab-rate-cards]")
        expect(page.locator("[data-testid=rate-card-row]")).to_have_count(2)
        page.screenshot(path=str(SHOTS / "ratecards-1280.png"), full_page=True)
    with db.session() as s:
        v1, v2 = s.scalars(select(RateCard).order_by(RateCard.version)).all()
        assert v1.effective_to == v2.effective_from == start
        assert len(v2.lines) == len(v1.lines) + 1
        assert [ln.service_fee for ln in v2.lines][1] == Decimal("120.00")
        assert (v2.lines[-1].service_type, v2.lines[-1].product_category) == ("maintenance", "空调")
