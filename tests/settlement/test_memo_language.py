"""Ledger, statement and earnings memos are stored as what they mean (a code and its
parameters) and read in the reader's language (testers read Chinese memos on English pages);
memos written as plain text before still show as written. The engineer's earnings show a
reversal as one, each line short enough for a phone.

Screenshots: field-earnings-390.png, field-earnings-en-390.png (SCREENSHOT_DIR)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from portal.accounts.models import User
from portal.database import Database, utcnow
from portal.fees import service as fees
from portal.settlement import flows, ledger, memos
from portal.settlement import service as settlement
from portal.settlement.ledger import Posting
from portal.settlement.models import LedgerEntry
from tests.page_support import SHOTS, served_portal, sign_in
from tests.portal import factories as f
from tests.settlement.month import build_month

CJK = re.compile(r"[\u4e00-\u9fff]")


def _memo_cells(page: str) -> list[str]:
    rows = re.findall(r'<tr data-testid="line-row"[^>]*>(.*?)</tr>', page, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S) for r in rows]
    # The memo is the last cell but the amount.
    return [re.sub(r"<[^>]+>", "", c[-2]).strip() for c in cells if len(c) >= 2]


def _month(db: Database) -> tuple[int, str]:
    with db.session() as s:
        build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        (net,) = settlement.list_statements(s, period="2026-03", party="network")
        return net.id, f.user(s, role="finance").username


def test_statement_memos_follow_the_reader_s_language(client: TestClient, db: Database) -> None:
    statement_id, finance = _month(db)
    with db.session() as s:
        coded = s.query(LedgerEntry).filter(LedgerEntry.memo_parts.is_not(None)).count()
        assert coded > 0  # what the memo means is stored, not only its Chinese sentence
    sign_in(client, finance)
    url = f"/settlement/statements/{statement_id}"
    chinese = [m for m in _memo_cells(client.get(url).text) if m]
    assert any("里程" in m for m in chinese) and any("保内" in m for m in chinese)
    client.cookies.set("lang", "en")
    english = [m for m in _memo_cells(client.get(url).text) if m]
    assert len(english) == len(chinese)
    # Part names are the company's data and stay as written; every other word is English.
    worded = [m for m in english if "WM-" not in m]
    assert worded and not [m for m in worded if CJK.search(m)], worded
    assert any(" km" in m for m in english) and any("In warranty" in m for m in english)


def test_a_memo_written_as_plain_text_still_shows(client: TestClient, db: Database) -> None:
    with db.session() as s:
        build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        (net,) = settlement.list_statements(s, period="2026-03", party="network")
        ledger.post(
            s,
            key="old-adjustment",
            kind="adjustment",
            period="2026-03",
            postings=[
                Posting(
                    ledger.network_account(net.network_id),
                    "mfr:penalty_income",
                    Decimal("3.00"),
                    "penalty",
                    memo="旧系统导入的扣款",
                )
            ],
            actor="fin",
        )
        settlement.generate_statements(s, period="2026-03")
        statement_id, finance = net.id, f.user(s, role="finance").username
    sign_in(client, finance)
    client.cookies.set("lang", "en")
    memos = _memo_cells(client.get(f"/settlement/statements/{statement_id}").text)
    assert "旧系统导入的扣款" in memos


def test_a_memo_reads_its_segments_in_each_language() -> None:
    parts = [
        memos.said("fees.service.repair"),
        memos.category("洗衣机"),
        memos.category("自家品类"),
        memos.text("WM-PMP-01 排水泵 ×1"),
        memos.said("fees.memo.km", km=Decimal("12.5")),
    ]
    assert (
        memos.render(parts, "zh") == "维修 · 洗衣机 · 自家品类 · WM-PMP-01 排水泵 ×1 · 里程12.5公里"
    )
    assert memos.render(parts, "en") == (
        "Repair · Washing machine · 自家品类 · WM-PMP-01 排水泵 ×1 · 12.5 km"
    )
    # A line from before (no segments), or one naming a sentence since retired: as stored.
    assert memos.render(None, "en", "旧备注") == "旧备注"
    assert memos.render([{"k": "settlement.memo.gone", "p": {}}], "en", "旧备注") == "旧备注"


def _this_month_with_a_correction(db: Any) -> dict[str, Any]:
    """Engineer 刘一's lines booked this month, then corrected: a reversal and new lines."""
    period = utcnow().astimezone(fees.LOCAL).strftime("%Y-%m")
    with db.session() as s:
        month = build_month(s)
        t1 = month.tickets["T1"]
        flows.settle_ticket(s, ticket=t1, period=period, request=False)
        settlement.save_rule(
            s,
            code="rating_high_engineer",
            trigger="high_rating",
            party="engineer",
            threshold=5,
            amount=Decimal("5.00"),
        )
        flows.settle_ticket(s, ticket=t1, period=period, request=False)
        user = s.get_one(User, month.e1.user_id)
        return {"username": user.username, "number": t1.number}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with 刘一's corrected month."""
    with served_portal(tmp_path_factory.mktemp("earnings"), _this_month_with_a_correction) as up:
        yield up


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_earnings_on_a_phone_label_reversals_in_the_reader_s_language(
    browser: Browser, portal: dict[str, Any], lang: str
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    try:
        page = context.new_page()
        base = portal["base"]
        context.add_cookies([{"name": "lang", "value": lang, "url": base}])
        page.goto(f"{base}/login?next=/field/earnings")
        page.fill("input[name=username]", portal["username"])
        page.fill("input[name=password]", f.PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/field/earnings")
        lines = page.locator("[data-testid=earning-lines] li")
        reversed_ = page.locator("[data-testid=earning-lines] li[data-reversal=true]")
        expect(reversed_.first).to_be_visible()
        assert 0 < reversed_.count() < lines.count()
        word = "冲销" if lang == "zh" else "Reversal"
        for i in range(reversed_.count()):
            expect(reversed_.nth(i).locator("[data-testid=reversal]")).to_have_text(word)
        for i in range(lines.count()):
            line = lines.nth(i)
            memo = line.locator("[data-testid=memo]")
            if memo.count():
                text = memo.inner_text()
                if lang == "en":
                    assert not CJK.search(text), text
                # One line of text on the phone: no memo wraps.
                box = memo.bounding_box()
                size = memo.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
                assert box is not None and box["height"] < 2 * size, text
            # The amount stays beside the line, never pushed under it.
            amount = line.locator(".amount").bounding_box()
            assert amount is not None and amount["x"] + amount["width"] <= 390
        page.screenshot(
            path=str(SHOTS / f"field-earnings{'' if lang == 'zh' else '-en'}-390.png"),
            full_page=True,
        )
    finally:
        context.close()


def test_transaction_descriptions_follow_the_reader_s_language(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        month = build_month(s)
        flows.run_settlement(s, period="2026-03", key="m1", actor="fin")
        settlement.save_rule(
            s,
            code="rating_high_network",
            trigger="high_rating",
            party="network",
            threshold=5,
            amount=Decimal("8.00"),
        )
        flows.run_settlement(s, period="2026-03", key="m2", actor="fin")
        number, finance = month.tickets["T1"].number, f.user(s, role="finance").username
    sign_in(client, finance)
    url = f"/settlement/tickets/{number}"
    chinese = client.get(url).text
    assert f"工单结算 {number}" in chinese and f"更正 {number}" in chinese
    client.cookies.set("lang", "en")
    english = client.get(url).text
    headings = re.findall(r'<h3 class="small">(.*?)</h3>', english, flags=re.S)
    assert headings and not [h for h in headings if CJK.search(h)], headings
    # Each posting lists its entries (a page variable of the top bar once hid them all).
    tables = re.findall(r'data-testid="posting-table">(.*?)</table>', english, flags=re.S)
    assert len(tables) == len(headings)
    assert all("<td" in table for table in tables)
    assert "customer score 5" in english  # an entry's memo, in English
    # Accounts by name in English: the platform's own, a party's after the party.
    assert "Manufacturer: in-warranty service" in english and "厂商保内服务费用" not in english
    assert " · current account" in english and " · pay" in english
    assert "厂商保内服务费用" in chinese and "往来" in chinese
    assert f"Settlement of {number}" in english and f"Correction of {number}" in english
