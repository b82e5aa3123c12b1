"""The engineer's quote with a part to order, on a 390 px phone in Chromium: a wrong quote
withdrawn behind its confirmation, the motor the van lacks quoted "to order", the customer
accepting it in /my (the line marked, the second visit said), and the engineer, told live,
ordering it in one tap; the job then waits for the part."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.fees.models import Quote
from portal.parts.models import ShortageOrder
from portal.tickets.models import Ticket
from tests.field.quote_browser_support import (
    customer_on_the_ticket,
    engineer_on_the_job,
    fits,
    phone,
)
from tests.field.quotes_support import PUMP, build
from tests.field.test_quote_to_order import MOTOR, catalogue
from tests.page_support import SHOTS, served_portal

pytestmark = pytest.mark.e2e

WAIT = 20_000  # ms: the field page polls the quote every few seconds


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The whole portal on a free port: an out-of-warranty job on site, a motor in the
    catalogue that no van carries."""
    var = tmp_path_factory.mktemp("quote-order")

    def world(db: Any) -> dict[str, Any]:
        w = build(db)
        with db.session() as s:
            catalogue(s)
        return {"world": w}

    with served_portal(var, world) as running:
        yield running


def _to_quote(page: Page) -> None:
    page.evaluate("document.querySelector('[data-testid=quote]').scrollIntoView()")


def test_quote_a_part_to_order_accept_in_my_and_order_it(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, world, db = portal["base"], portal["world"], portal["db"]

    # ---- the engineer sends a quote with the wrong part, then withdraws it --------------
    eng_context, eng, eng_problems = phone(browser, base)
    engineer_on_the_job(eng, base, world)
    eng.locator("[data-testid=quote-part-0]").select_option(PUMP)
    eng.locator("[data-testid=send-quote]").tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text("报价已发送给客户")
    status = eng.locator("[data-testid=quote-status]")
    expect(status).to_have_attribute("data-status", "sent")
    withdraw = eng.locator("[data-testid=withdraw-quote]")
    confirm = withdraw.locator("[data-testid=confirm-withdraw]")
    expect(confirm).to_be_hidden()  # one tap opens the confirmation, a second withdraws
    withdraw.locator("summary").tap()
    expect(withdraw).to_contain_text("客户会收到通知")
    fits(eng)
    withdraw.scroll_into_view_if_needed()
    eng.screenshot(path=str(SHOTS / "field-quote-withdraw-390.png"))
    confirm.tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text("报价已撤回，已通知客户")
    expect(status).to_have_attribute("data-status", "withdrawn")

    # ---- the motor the van lacks, quoted to order ---------------------------------------
    select_ = eng.locator("[data-testid=quote-part-0]")
    expect(select_.locator(f"option[value='{MOTOR}']")).to_have_text("电机 ¥300.00 · 需订购")
    select_.select_option(MOTOR)
    eng.locator("[data-testid=send-quote]").tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text("报价已发送给客户")
    expect(status).to_have_attribute("data-status", "sent")
    expect(eng.locator("[data-testid=quote-line-to-order]")).to_contain_text("需订购")
    expect(status).to_contain_text("¥440.00")  # 100 + 20 + 20 + the motor 300
    fits(eng)
    _to_quote(eng)
    eng.screenshot(path=str(SHOTS / "field-quote-to-order-390.png"))

    # ---- the customer accepts it in /my ------------------------------------------------
    cus_context, cus, cus_problems = phone(browser, base)
    customer_on_the_ticket(cus, base, world, db)
    mine = cus.locator("[data-testid=my-quote]")
    expect(mine).to_have_attribute("data-status", "sent")
    expect(mine.locator("[data-testid=my-quote-to-order]")).to_contain_text("（需订购）")
    expect(mine.locator("[data-testid=my-quote-second-visit]")).to_contain_text("再次上门")
    fits(cus)
    cus.evaluate("document.getElementById('quote').scrollIntoView()")
    cus.screenshot(path=str(SHOTS / "my-quote-to-order-390.png"))
    cus.locator("[data-testid=quote-accept]").tap()
    expect(cus.locator("[data-testid=flash]")).to_contain_text("已接受报价")
    expect(mine).to_have_attribute("data-status", "accepted")

    # ---- the engineer's page hears it, and one tap orders the motor --------------------
    # The page reloads itself once the customer answered: no tap, no refresh.
    expect(status).to_have_attribute("data-status", "accepted", timeout=WAIT)
    order = eng.locator("[data-testid=order-quoted-parts]")
    expect(order).to_be_visible(timeout=WAIT)
    expect(eng.locator("[data-testid=order-quoted]")).to_contain_text("需订购：电机（WM-MTR-01）")
    _to_quote(eng)
    eng.screenshot(path=str(SHOTS / "field-quote-order-390.png"))
    order.tap()
    expect(eng.locator("[data-testid=flash]")).to_have_text(
        "报价中的备件已申请：网点有货的已预留，缺货的已订购"
    )
    expect(eng.locator("[data-testid=job-status]")).to_have_attribute(
        "data-status", "waiting_parts"
    )
    expect(eng.locator("[data-testid=quote-parts-ordered]")).to_be_visible()
    expect(order).to_have_count(0)
    fits(eng)

    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.ticket)).one()
        quotes = {q.status for q in s.scalars(select(Quote).where(Quote.ticket_id == ticket.id))}
        assert quotes == {"withdrawn", "accepted"}
        (short,) = s.scalars(select(ShortageOrder).where(ShortageOrder.ticket_id == ticket.id))
        assert short.quantity == 1 and short.status == "open"
    eng_context.close()
    cus_context.close()
    assert eng_problems == [] and cus_problems == [], eng_problems + cus_problems
