"""The paid repair as the engineer and the customer live it (issue 19), in Chromium on two
390 px phones against the real app: the engineer prices the job on site (SOP labour, rate
card, the pump from the van) and sends the quote; the customer, whose ticket came from the
chat, finds the quote card in the chat widget and accepts it with one tap; the engineer's
page shows the answer by itself; the engineer fits the van part, the customer signs, the job
completes; the customer reads the work record, the fee and the receipt under /my, and the
chat has the summary with the receipt's link.

Screenshots: docs/screens/field-quote-390.png, widget-quote-390.png, my-quote-390.png,
my-receipt-390.png (with SCREENSHOT_DIR=docs/screens; /tmp otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.fees.models import Quote
from portal.tickets.models import Ticket
from tests.field.quote_browser_support import (
    customer_on_the_ticket,
    engineer_on_the_job,
    fits,
    phone,
)
from tests.field.quotes_support import PUMP, build
from tests.page_support import SHOTS, served_portal

pytestmark = pytest.mark.e2e

VISITOR = "vquotejourney000000000001"
WAIT = 20_000  # ms: the widget outbox loop polls every 2 s, the field page every 3 s


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The whole portal on a free port: an out-of-warranty chat ticket on site."""
    var = tmp_path_factory.mktemp("quote-journey")
    with served_portal(var, lambda db: {"world": build(db, visitor=VISITOR)}) as running:
        yield running


def _sign(page: Page) -> None:
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 110)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x + 30 + i * 16, y + 110 - (i % 4) * 20, steps=2)
    page.mouse.up()
    page.locator("[data-testid=save-signature]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("客户签名已保存")


def test_quote_accept_in_the_chat_complete_and_receipt(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, world, db = portal["base"], portal["world"], portal["db"]

    # ---- the engineer, on site, sends the quote ----------------------------------------
    eng_context, eng, eng_problems = phone(browser, base)
    engineer_on_the_job(eng, base, world)
    expect(eng.locator("[data-testid=warranty]")).to_have_attribute("data-reason", "no_asset")
    preview = eng.locator("[data-testid=quote-preview]")
    expect(preview).to_contain_text("标准工时 1.50 小时")
    eng.locator("[data-testid=quote-part-0]").select_option(PUMP)
    eng.locator("[data-testid=send-quote]").tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text("报价已发送给客户")
    status = eng.locator("[data-testid=quote-status]")
    expect(status).to_have_attribute("data-status", "sent")
    expect(status).to_contain_text("¥220.00")
    # The sent quote's lines, and no second "send" beside it: replacing it is the offer.
    expect(eng.locator("[data-testid=sent-quote-lines]")).to_contain_text("排水泵（WM-PMP-01）")
    expect(eng.locator("[data-testid=send-quote]")).to_have_count(0)
    expect(eng.locator("[data-testid=replace-quote]")).to_contain_text("撤回并重新报价")
    fits(eng)
    eng.evaluate("document.querySelector('[data-testid=quote]').scrollIntoView()")
    eng.screenshot(path=str(SHOTS / "field-quote-390.png"))

    # ---- the customer signs in to /my; the chat widget holds the quote card ------------
    cus_context, cus, cus_problems = phone(browser, base)
    # The visitor whose chat reported the fault (the widget keeps its id in localStorage).
    cus_context.add_init_script(f"localStorage.setItem('aftersales.demo.visitor', '{VISITOR}');")
    customer_on_the_ticket(cus, base, world, db)
    expect(cus.locator("[data-testid=my-warranty]")).to_have_attribute("data-code", "out")
    expect(cus.locator("[data-testid=my-quote]")).to_have_attribute("data-status", "sent")
    expect(cus.locator("[data-testid=quote-accept]")).to_be_visible()  # or one tap here
    fits(cus)
    cus.evaluate("document.getElementById('quote').scrollIntoView()")
    cus.screenshot(path=str(SHOTS / "my-quote-390.png"))

    # Scrolled down to the quote, the launcher has tucked away below the screen (it would
    # cover the page's buttons); scrolling back up a little brings it back.
    launcher = cus.locator("[data-testid=aftersales-launcher]")
    expect(launcher).not_to_be_in_viewport()
    cus.mouse.wheel(0, -200)
    expect(launcher).to_be_in_viewport()
    launcher.tap()
    panel = cus.locator("[data-testid=aftersales-panel]")
    expect(panel).to_be_visible()
    card = panel.locator("[data-kind=quote]")
    expect(card).to_have_count(1, timeout=WAIT)
    expect(card).to_contain_text("排水泵（WM-PMP-01） ×1：¥80.00")
    expect(card).to_contain_text("合计：¥220.00")
    accept = card.locator("[data-testid=aftersales-quote-accept]")
    expect(accept).to_have_text("接受报价")
    card.scroll_into_view_if_needed()
    cus.screenshot(path=str(SHOTS / "widget-quote-390.png"))
    accept.tap()
    expect(card.locator(".as-quote-result")).to_have_text(
        "已接受报价，工程师将开始维修", timeout=WAIT
    )
    expect(card.locator("[data-testid=aftersales-quote-actions]")).to_have_count(0)
    # The chat keeps the answer (the outbox's confirmation, pushed live).
    expect(
        panel.locator("[data-testid=aftersales-message]").filter(has_text="您已接受报价")
    ).to_have_count(1, timeout=WAIT)

    # ---- the engineer's page shows the answer by itself, then the job is done ----------
    expect(status).to_have_attribute("data-status", "accepted", timeout=WAIT)
    eng.fill("[data-testid=diagnosis]", "排水泵卡死，E21")
    eng.fill("[data-testid=work-done]", "更换排水泵，试机正常")
    eng.fill("[data-testid=part-0]", PUMP)
    eng.fill("[data-testid=qty-0]", "1")
    eng.locator("[data-testid=save-record]").tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text("工作记录已保存")
    _sign(eng)
    eng.locator("[data-testid=complete]").tap()
    expect(eng.locator("[data-testid=job-status]")).to_have_attribute("data-status", "completed")
    # The engineer reads the figure the receipt will show, and why it is not the quote's.
    expect(eng.locator("[data-testid=charge-total]")).to_have_attribute("data-amount", "200.00")
    expect(eng.locator("[data-testid=vs-quote]")).to_contain_text("本次向客户收 ¥200.00")
    fits(eng)

    # ---- the customer: the record, the fee, the printable receipt, the chat summary -----
    cus.goto(f"{base}/my/tickets/{world.ticket}")
    record = cus.locator("[data-testid=my-record]")
    expect(record.locator("[data-testid=work-done]")).to_have_text("更换排水泵，试机正常")
    expect(record.locator("[data-testid=parts]")).to_contain_text("排水泵 ×1")
    expect(record.locator("[data-testid=fee]")).to_have_attribute("data-amount", "200.00")
    # On a phone the chat does not cover a new page by itself: the customer opens it.
    expect(panel).to_be_hidden()
    launcher.tap()
    summary = panel.locator("[data-testid=aftersales-message]").filter(has_text="电子回执")
    expect(summary).to_contain_text("更换排水泵，试机正常。本次费用 ¥200.00", timeout=WAIT)
    assert (summary.locator("a").get_attribute("href") or "").endswith(
        f"/my/tickets/{world.ticket}/receipt"
    )
    cus.locator("[data-testid=aftersales-close]").tap()
    expect(panel).to_be_hidden()
    cus.locator("[data-testid=receipt-link]").tap()
    expect(cus).to_have_url(f"{base}/my/tickets/{world.ticket}/receipt")
    expect(cus.locator("[data-testid=aftersales-launcher]")).to_have_count(0)
    receipt = cus.locator("[data-testid=receipt]")
    expect(receipt.locator("[data-testid=receipt-part]")).to_contain_text("排水泵")
    expect(receipt.locator("[data-testid=receipt-total]")).to_have_text("¥200.00")
    expect(receipt.locator("[data-testid=vs-quote]")).to_contain_text(
        "超时工时费按实际在场时间计 ¥0.00（报价按标准工时计 ¥20.00）"
    )
    expect(receipt.locator("[data-testid=receipt-signature]")).to_contain_text("客户签名")
    fits(cus)
    cus.screenshot(path=str(SHOTS / "my-receipt-390.png"), full_page=True)
    cus.emulate_media(media="print")
    expect(cus.locator(".my-top")).to_be_hidden()
    expect(cus.locator("[data-testid=print]")).to_be_hidden()

    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.ticket)).one()
        assert ticket.status == "completed"
        (quote,) = s.scalars(select(Quote).where(Quote.ticket_id == ticket.id))
        assert quote.status == "accepted" and quote.decided_by == f"widget:quote:{quote.id}"
    eng_context.close()
    cus_context.close()
    assert eng_problems == [] and cus_problems == [], eng_problems + cus_problems


def test_the_screenshots_are_where_the_docs_expect_them() -> None:
    if Path(SHOTS).resolve() != (Path(__file__).parents[2] / "docs" / "screens").resolve():
        pytest.skip("SCREENSHOT_DIR is not docs/screens")
    for name in ("field-quote-390.png", "widget-quote-390.png", "my-receipt-390.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name
