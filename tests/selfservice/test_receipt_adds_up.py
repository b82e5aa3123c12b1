"""Charges that agree with the policy and the accepted quote (a tester's findings on issue
19): misuse is charged even in warranty, as the FAQ says; the receipt's lines add up to its
total and say how it relates to the accepted quote; the engineer's page shows the same
figure as the receipt."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from fastapi.testclient import TestClient

from portal.database import Database
from portal.fees import service as fees
from portal.fees.models import Quote
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QuoteWorld, build, finish_with_pump
from tests.field.support import log_in
from tests.page_support import reading_in
from tests.portal import factories as f
from tests.selfservice.support import sign_in

# Two pumps quoted: visit 100 + one extra half hour 20 (SOP 1.5 h) + mileage 20 + 2 × 80.
QUOTED_TWO = Decimal("300.00")
# One pump fitted, no time on site beyond the hour included: 100 + 20 + 80.
CHARGED_ONE = Decimal("200.00")


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def _in_warranty(db: Database, w: QuoteWorld, cause: str) -> None:
    """What the completion form does: the unit (bought half a year ago) is registered on the
    ticket and the engineer records the fault cause."""
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        unit = f.asset(
            s,
            customer=ticket.customer,
            install_date=date.today() - relativedelta(months=6),
        )
        ticket.asset_id = unit.id
        ticket.details = {**(ticket.details or {}), "fault_cause": cause}


def _quoted_two_and_fitted_one(db: Database, w: QuoteWorld, secret: str, root: Path) -> Quote:
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 2)], actor="user:9", link_base="", secret=secret
        )
        settlement_flows.decide_quote(s, quote=quote, accept=True, actor="customer")
        s.flush()
        s.expunge(quote)
    finish_with_pump(db, w, root)
    return quote


def _line_amounts(html: str) -> list[Decimal]:
    return [
        Decimal(a) for a in re.findall(r'data-testid="receipt-line" data-amount="([^"]+)"', html)
    ]


def test_misuse_is_charged_even_in_warranty(world: QuoteWorld, db: Database) -> None:
    _in_warranty(db, world, "component_failure")
    today = date.today()
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        assert fees.warranty(s, ticket=ticket, on=today) == fees.Warranty(True, "in_warranty")
        ticket.details = {**ticket.details, "fault_cause": "improper_use"}  # 使用不当
        assert fees.warranty(s, ticket=ticket, on=today) == fees.Warranty(False, "cause")
        assert fees.price_ticket(s, ticket=ticket, on=today).customer_total > 0


def test_the_receipt_adds_up_and_says_why_it_differs_from_the_quote(
    client: TestClient, world: QuoteWorld, db: Database, tmp_path: Path
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quoted_two_and_fitted_one(db, world, secret, tmp_path)
    _in_warranty(db, world, "improper_use")  # misuse: charged although the unit is in warranty
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}/receipt"
    text = client.get(url).text
    assert f'data-testid="receipt-total" data-amount="{CHARGED_ONE}"' in text
    assert "保修期内，免费" not in text
    assert sum(_line_amounts(text)) == CHARGED_ONE
    # How the charge relates to the accepted quote, and why it differs.
    assert f"已接受的报价单 {quote.number} 为 ¥{QUOTED_TWO}，本次应付 ¥{CHARGED_ONE}" in text
    assert "排水泵 实际用 1 个（报价 2 个）" in text
    assert "超时工时费按实际在场时间计 ¥0.00（报价按标准工时计 ¥20.00）" in text
    with reading_in(client, "en"):
        english = client.get(url).text
    assert f"The accepted quote {quote.number} was ¥{QUOTED_TWO}; due now ¥{CHARGED_ONE}" in english
    assert "排水泵: 1 fitted (2 quoted)" in english

    # The engineer sees the same figure and the same reasons, not the quote's 300 as the price.
    client.cookies.clear()
    log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.ticket}").text
    assert f'data-testid="charge-total" data-amount="{CHARGED_ONE}"' in page
    assert "排水泵 实际用 1 个（报价 2 个）" in page


def test_in_warranty_the_receipt_lines_are_covered_not_priced(
    client: TestClient, world: QuoteWorld, db: Database, tmp_path: Path
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quoted_two_and_fitted_one(db, world, secret, tmp_path)
    _in_warranty(db, world, "component_failure")  # a quality fault: the manufacturer pays
    sign_in(client, db, world.phone)
    text = client.get(f"/my/tickets/{world.ticket}/receipt").text
    assert 'data-testid="receipt-total" data-amount="0.00"' in text
    assert _line_amounts(text) and set(_line_amounts(text)) == {Decimal("0.00")}
    assert "¥80.00" not in text  # no price on a line the customer does not pay
    assert f"已接受的报价单 {quote.number} 为 ¥{QUOTED_TWO}，本次应付 ¥0.00" in text
    assert "在保修期内，费用由厂家承担" in text
