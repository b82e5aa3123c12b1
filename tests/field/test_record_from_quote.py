"""The work record starts from the quote the customer accepted (a tester's finding): the
engineer retyped the labour and the parts the customer had just agreed to. Before a record is
saved, the form holds the accepted quote's labour as the work done and its parts (as many as
the van holds) as the parts fitted, all editable; a quote only sent fills in nothing.

The numbers (tests/field/quotes_support.py): the van holds three pumps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ViewportSize, expect

from portal.database import Database
from portal.field import service as field_service
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QuoteWorld, build
from tests.field.support import csrf, log_in
from tests.field.test_quote_ceiling import _quote_accepted
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f

PHONE: ViewportSize = {"width": 390, "height": 844}
LABOUR_ZH = ("上门服务费（含 60 分钟）", "工时费（标准工时 1.50 小时，超出部分按 1×30 分钟计）")
LABOUR_EN = ("Visit fee (includes 60 min)", "Labour (standard 1.50 h: 1 × 30 min beyond the visit)")


def _form(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The record form's work done and its part rows (code, quantity) that are filled in."""
    start = html.index('data-testid="record"')
    form = html[start : html.index("</form>", start)]
    work = re.search(r'data-testid="work-done">([^<]*)</textarea>', form)
    assert work is not None
    codes = re.findall(r'value="([^"]*)" data-testid="part-\d+"', form)
    counts = re.findall(r'value="([^"]*)" aria-label="[^"]*" data-testid="qty-\d+"', form)
    return unescape(work.group(1)), [(c, q) for c, q in zip(codes, counts, strict=True) if c]


def _quote(db: Database, w: QuoteWorld, secret: str, pumps: int, *, accept: bool) -> str:
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        from_van, to_order = min(pumps, 3), max(0, pumps - 3)
        quote = settlement_flows.send_quote(
            s,
            ticket=ticket,
            parts=[(PUMP, from_van)],
            order=[(PUMP, to_order)] if to_order else [],
            actor="user:9",
            link_base="",
            secret=secret,
        )
        if accept:
            settlement_flows.decide_quote(s, quote=quote, accept=True, actor="customer")
        return quote.number


def test_the_accepted_quotes_labour_and_parts_fill_in_the_record(
    client: TestClient, db: Database
) -> None:
    world = build(db)
    number = _quote_accepted(db, world, client.app.state.settings.secret_key).number  # type: ignore[attr-defined]
    client.follow_redirects = False
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    page = client.get(url).text
    assert f'data-testid="record-prefilled" data-quote="{number}"' in page
    work, parts = _form(page)
    assert work.splitlines() == list(LABOUR_ZH)
    assert parts == [(PUMP, "1")]
    client.cookies.set("lang", "en")
    work_en, _ = _form(client.get(url).text)
    assert work_en.splitlines() == list(LABOUR_EN)
    client.cookies.set("lang", "zh")

    # Saved as filled in (the engineer adds a diagnosis): the pump comes from the van.
    answer = client.post(
        f"{url}/record",
        data={
            "csrf_token": csrf(client, url),
            "diagnosis": "排水泵卡死",
            "work_done": work,
            "part": [PUMP, ""],
            "qty": ["1", "1"],
        },
    )
    assert answer.status_code == 303, answer.text[:300]
    with db.session() as s:
        record = field_service.current_record(s, ticket=s.get_one(Ticket, world.ticket_id))
        assert record is not None
        assert record.work_done.splitlines() == list(LABOUR_ZH)
        assert [(p["part_code"], p["quantity"], p["source"]) for p in record.parts_used] == [
            (PUMP, 1, "van")
        ]
    # Once saved, the record is what was saved, not the quote again.
    page = client.get(url).text
    assert 'data-testid="record-prefilled"' not in page


def test_a_part_quoted_beyond_the_van_is_filled_in_as_many_as_the_van_holds(
    client: TestClient, db: Database
) -> None:
    world = build(db)
    _quote(db, world, client.app.state.settings.secret_key, 5, accept=True)  # type: ignore[attr-defined]
    client.follow_redirects = False
    log_in(client, world.username)
    _, parts = _form(client.get(f"/field/jobs/{world.ticket}").text)
    assert parts == [(PUMP, "3")]  # three in the van; the two ordered come later


def test_a_quote_not_yet_accepted_fills_in_nothing(client: TestClient, db: Database) -> None:
    world = build(db)
    _quote(db, world, client.app.state.settings.secret_key, 1, accept=False)  # type: ignore[attr-defined]
    client.follow_redirects = False
    log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.ticket}").text
    assert 'data-testid="record-prefilled"' not in page
    assert _form(page) == ("", [])


def _build(db: Database, secret: str) -> dict[str, Any]:
    world = build(db)
    _quote_accepted(db, world, secret)
    return {"world": world}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var = tmp_path_factory.mktemp("record-from-quote")
    with served_portal(var, lambda db: _build(db, f"pages-{var.name}")) as running:
        yield running


@pytest.mark.e2e
def test_on_a_phone_the_record_form_is_filled_in_and_editable(
    browser: Browser, portal: dict[str, Any]
) -> None:
    base, world = portal["base"], portal["world"]
    job = f"{base}/field/jobs/{world.ticket}"
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"script: {exc}"))
    page.goto(f"{base}/login?next=/field/jobs/{world.ticket}")
    page.fill("input[name=username]", world.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(job)
    record = page.locator("[data-testid=record]")
    record.scroll_into_view_if_needed()
    expect(record.locator("[data-testid=record-prefilled]")).to_be_visible()
    expect(record.locator("[data-testid=work-done]")).to_have_value("\n".join(LABOUR_ZH))
    expect(record.locator("[data-testid=part-0]")).to_have_value(PUMP)
    expect(record.locator("[data-testid=qty-0]")).to_have_value("1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a 390px phone"
    page.screenshot(path=str(SHOTS / "field-record-from-quote-390.png"))
    # Edited and saved: the engineer's words stand.
    record.locator("[data-testid=work-done]").fill("更换排水泵，试机正常")
    record.locator("[data-testid=save-record]").tap()
    expect(page.locator("[data-testid=flash]")).to_be_visible()
    expect(page.locator("[data-testid=work-done]")).to_have_value("更换排水泵，试机正常")
    expect(page.locator("[data-testid=record-prefilled]")).to_have_count(0)
    context.close()
    assert problems == []
