"""In headless Chromium at 1280 px, in Chinese and in English: the returns page flags the
late return and filters to it, parts read by their English name on English pages, and the
staff ticket page shows the declined quote with what the customer said."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.database import Database, utcnow
from portal.parts import service
from portal.parts.models import RETURN_DAYS, DefectiveReturn
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP
from tests.field.quotes_support import build as quote_world
from tests.page_support import SHOTS, served_portal, signed_in_tab
from tests.parts.world import catalogue
from tests.portal import factories as f

pytestmark = pytest.mark.e2e


def _build(db: Database) -> dict[str, Any]:
    with db.session() as s:
        cat = catalogue(s)
        pcb = cat["WM-PCB-01"]
        pcb.name_en, cat["WM-PMP-01"].name_en = "Control board", "Drain pump"
        central = service.central(s)
        service.receive(s, location=central, part=pcb, quantity=10, actor="t")
        eng = f.engineer(s, network=f.network(s))
        for _ in range(2):
            ticket = f.ticket(
                s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng
            )
            service.consume(
                s, ticket_id=ticket.id, part=pcb, quantity=1, fallback=[central],
                actor="t", engineer_id=eng.id, return_to=central,
            )  # fmt: skip
        late = s.scalars(select(DefectiveReturn).order_by(DefectiveReturn.id)).first()
        assert late is not None
        late.created_at = utcnow() - timedelta(days=RETURN_DAYS + 3)
        late_id = late.id
        desk = f.user(s, role="dispatcher").username
    world = quote_world(db)
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret="x"
        )
        settlement_flows.decide_quote(
            s, quote=quote, accept=False, actor="customer", reason="太贵了，先不修"
        )
    return {"desk": desk, "late": late_id, "ticket": world.ticket}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with served_portal(tmp_path_factory.mktemp("returns-e2e"), _build) as running:
        yield running


@pytest.mark.parametrize(
    ("lang", "late", "part", "said"),
    [
        ("zh", "已超期 3 天", "电脑板", "客户说明：太贵了，先不修"),
        ("en", "3 days overdue", "Control board", "The customer said: 太贵了，先不修"),
    ],
)
def test_returns_parts_and_quotes_in_both_languages(
    browser: Browser, portal: dict[str, Any], lang: str, late: str, part: str, said: str
) -> None:
    base = portal["base"]
    with signed_in_tab(browser, base, portal["desk"]) as page:
        page.goto(f"{base}/lang/{lang}?next=/parts/returns")
        rows = page.locator("[data-testid=return-row]")
        expect(rows).to_have_count(2)
        flagged = page.locator("[data-testid=return-row][data-overdue=yes]")
        expect(flagged).to_have_count(1)
        expect(flagged).to_have_attribute("data-id", str(portal["late"]))
        expect(flagged).to_contain_text(late)
        expect(rows.first).to_contain_text(part)
        page.screenshot(path=str(SHOTS / f"returns-overdue-{lang}-1280.png"), full_page=True)
        page.click("[data-testid=return-steps] a[data-status=overdue]")
        page.wait_for_url("**status=overdue")
        expect(rows).to_have_count(1)
        page.goto(f"{base}/tickets/{portal['ticket']}")
        quotes = page.locator("[data-testid=ticket-quotes]")
        expect(quotes.locator("[data-testid=decline-reason]")).to_have_text(said)
        quotes.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"ticket-quotes-{lang}-1280.png"), full_page=True)
        page.goto(f"{base}/parts/stock")
        expect(page.locator("table").first).to_contain_text(part)
        page.screenshot(path=str(SHOTS / f"parts-stock-{lang}-1280.png"), full_page=True)
