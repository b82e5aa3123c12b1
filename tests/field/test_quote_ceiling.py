"""The accepted quote is the most the customer pays (a tester's findings, engineer and customer
at 390 px on the demo stack):

1. A job quoted at ¥204 and accepted was completed at ¥534: the time on site beyond the
   quote's standard hours was charged without a word to anyone. Now the charge is at most the
   accepted quote (less when less was done); the engineer is warned before completing and can
   send a new quote for the time spent, which only counts once the customer accepts it.
2. Three of a part the van holds one of were quoted as three "to order". Now one comes from
   the van and two are ordered, on two lines at the same price.
3. Declining a quote in /my was one tap. Now it asks to confirm, says what follows (the
   call-out fee stays due, the engineer is told) and takes an optional reason the engineer
   sees on the job page.

The numbers (tests/field/quotes_support.py): out of warranty, visit 100 with 60 minutes
included, 40 an hour beyond (20 a half hour), the SOP's 1.5 hours quote one extra half hour
(20), mileage 20, the pump 80: one pump quoted is 220. On site 170 minutes: 110 beyond the
hour, four started half hours, 80: the work with one pump comes to 100 + 80 + 20 + 80 = 280.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database, utcnow
from portal.fees import service as fees
from portal.fees.models import Quote
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QUOTED, QuoteWorld, build
from tests.field.quotes_support import complete as _complete
from tests.field.quotes_support import record_and_sign as _record_and_sign
from tests.field.support import csrf, log_in
from tests.page_support import reading_in
from tests.selfservice.support import csrf as my_csrf
from tests.selfservice.support import sign_in

ON_SITE_MINUTES = 170
WORK = Decimal("280.00")  # 100 visit + 4 × 20 time on site + 20 mileage + 80 pump
OVER = WORK - QUOTED  # 60
VISIT_AND_MILEAGE = Decimal("120.00")


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def _quote_accepted(db: Database, w: QuoteWorld, secret: str) -> Quote:
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret=secret
        )
        settlement_flows.decide_quote(s, quote=quote, accept=True, actor="customer")
        s.flush()
        s.expunge(quote)
    assert quote.total == QUOTED
    return quote


def _arrived_minutes_ago(db: Database, w: QuoteWorld, minutes: int) -> None:
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        arrive = next(e for e in reversed(ticket.events) if e.action == "arrive")
        arrive.created_at = utcnow() - timedelta(minutes=minutes)


def _post(client: TestClient, url: str, data: dict[str, object], token: str) -> str:
    response = client.post(url, data={"csrf_token": token, **data})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _amounts(html: str) -> list[Decimal]:
    found = re.findall(r'data-testid="receipt-line" data-amount="([^"]+)"', html)
    return [Decimal(a) for a in found]


# ---- 1. the accepted quote is the ceiling --------------------------------------------------


def test_time_beyond_the_accepted_quote_is_not_charged_and_the_engineer_is_told_first(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote_accepted(db, world, secret)
    _arrived_minutes_ago(db, world, ON_SITE_MINUTES)
    _record_and_sign(db, world, tmp_path)

    # Before completing, the engineer sees the work would come to more than the quote.
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    page = client.get(url).text
    assert f'data-testid="overrun" data-over="{OVER}"' in page
    assert f"费用为 ¥{WORK}，超过客户已接受的报价单 {quote.number}（¥{QUOTED}）¥{OVER}" in page
    assert f"现在完工只收报价的 ¥{QUOTED}" in page
    assert 'data-testid="revise-quote"' in page
    with reading_in(client, "en"):
        english = client.get(url).text
    assert f"the work comes to ¥{WORK}, ¥{OVER} more than the quote {quote.number}" in english

    # Completing anyway charges the quote, not the work.
    _complete(db, world)
    with db.session() as s:
        charge = fees.charge_of(s, ticket=s.get_one(Ticket, world.ticket_id))
        assert charge is not None
        assert charge.pricing.work_total == WORK
        assert charge.pricing.customer_total == QUOTED
        assert charge.vs_quote is not None and charge.vs_quote.waived == OVER
    page = client.get(url).text
    assert f'data-testid="charge-total" data-amount="{QUOTED}"' in page
    assert 'data-testid="vs-quote-capped"' in page

    # The customer's page and receipt say the same: the quote's total, and that the quote is
    # the ceiling; the receipt's lines (the part beyond it taken off) add up to its total.
    client.cookies.clear()
    sign_in(client, db, world.phone)
    mine = client.get(f"/my/tickets/{world.ticket}").text
    assert f'data-testid="fee" data-amount="{QUOTED}"' in mine
    receipt = client.get(f"/my/tickets/{world.ticket}/receipt").text
    assert f'data-testid="receipt-total" data-amount="{QUOTED}"' in receipt
    assert sum(_amounts(receipt)) == QUOTED
    assert f"按已接受的报价单 {quote.number} 收 ¥{QUOTED}" in receipt
    assert f"实际工作多出的 ¥{OVER} 不向您收取" in receipt
    with reading_in(client, "en"):
        en = client.get(f"/my/tickets/{world.ticket}/receipt").text
    assert f"Charged as in the accepted quote {quote.number}, ¥{QUOTED}" in en


def test_a_new_quote_the_customer_accepts_is_the_new_price(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    first = _quote_accepted(db, world, secret)
    _arrived_minutes_ago(db, world, ON_SITE_MINUTES)
    _record_and_sign(db, world, tmp_path)
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    assert _post(client, f"{url}/quote/revise", {}, csrf(client, url)) == f"{url}#quote"
    with db.session() as s:
        new = s.scalars(
            select(Quote).where(Quote.ticket_id == world.ticket_id, Quote.status == "sent")
        ).one()
        # The time so far: four half hours (80) instead of the SOP's one (20).
        assert new.total == WORK
        labour = next(ln for ln in new.lines if ln.kind == "labour_time")
        assert (labour.quantity, labour.amount) == (4, Decimal("80.00"))
        # Until the customer answers, the accepted quote is still the price.
        ticket = s.get_one(Ticket, world.ticket_id)
        assert fees.price_ticket(s, ticket=ticket, until=utcnow()).quote_cap == QUOTED
        settlement_flows.decide_quote(s, quote=new, accept=True, actor="customer")
        assert s.get_one(Quote, first.id).status == "superseded"
    _complete(db, world)
    with db.session() as s:
        charge = fees.charge_of(s, ticket=s.get_one(Ticket, world.ticket_id))
        assert charge is not None and charge.pricing.customer_total == WORK
        assert charge.vs_quote is not None and charge.vs_quote.same


def test_a_new_quote_declined_leaves_the_accepted_one_the_price(
    client: TestClient, db: Database, tmp_path: Path
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    _quote_accepted(db, world, secret)
    _arrived_minutes_ago(db, world, ON_SITE_MINUTES)
    _record_and_sign(db, world, tmp_path)
    with db.session() as s:
        new = settlement_flows.revise_quote(
            s, ticket=s.get_one(Ticket, world.ticket_id), actor="e", link_base="", secret=secret
        )
        settlement_flows.decide_quote(s, quote=new, accept=False, actor="customer")
    _complete(db, world)
    with db.session() as s:
        charge = fees.charge_of(s, ticket=s.get_one(Ticket, world.ticket_id))
        assert charge is not None and charge.pricing.customer_total == QUOTED


# ---- 2. what the van holds, and the rest to order -------------------------------------------


def test_more_than_the_van_holds_is_split_between_van_and_order(
    client: TestClient, db: Database
) -> None:
    world = build(db)  # three pumps in the van
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _post(client, f"{url}/quote", {"part": [PUMP], "qty": ["5"]}, csrf(client, url))
    with db.session() as s:
        quote = s.scalars(select(Quote).where(Quote.ticket_id == world.ticket_id)).one()
        rows = [
            (ln.quantity, ln.to_order, ln.unit_price, ln.amount)
            for ln in quote.lines
            if ln.kind == "part"
        ]
        assert rows == [
            (3, False, Decimal("80.00"), Decimal("240.00")),
            (2, True, Decimal("80.00"), Decimal("160.00")),
        ]
        assert quote.total == QUOTED - Decimal("80.00") + Decimal("400.00")


# ---- 3. declining is a decision -------------------------------------------------------------


def test_declining_asks_to_confirm_says_what_follows_and_the_engineer_reads_why(
    client: TestClient, db: Database
) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    with db.session() as s:
        quote = settlement_flows.send_quote(
            s,
            ticket=s.get_one(Ticket, world.ticket_id),
            parts=[(PUMP, 1)],
            actor="user:9",
            link_base="",
            secret=secret,
        )
        number, quote_id = quote.number, quote.id
    sign_in(client, db, world.phone)
    mine = f"/my/tickets/{world.ticket}"
    page = client.get(mine).text
    # No one-tap decline: the decline form sits behind a confirmation that says what follows.
    assert 'name="answer" value="reject"' not in page
    assert 'data-testid="quote-decline"' in page
    assert f"本次上门的服务费和里程费 ¥{VISIT_AND_MILEAGE} 仍需支付" in page
    with reading_in(client, "en"):
        english = client.get(mine).text
    assert f"call-out and mileage fee of ¥{VISIT_AND_MILEAGE} is still due" in english
    assert "will be told" in english

    done = _post(
        client,
        f"{mine}/quotes/{quote_id}/decline",
        {"reason": "  太贵了，\n先不修  "},
        my_csrf(client, mine),
    )
    assert done == f"{mine}#quote"
    page = client.get(mine).text
    assert "已拒绝报价，工程师已收到通知" in page
    with db.session() as s:
        assert s.get_one(Quote, quote_id).status == "rejected"
        ticket = s.get_one(Ticket, world.ticket_id)
        assert settlement_flows.decline_reason(ticket, s.get_one(Quote, quote_id)) == (
            "太贵了， 先不修"
        )

    client.cookies.clear()
    log_in(client, world.username)
    job = client.get(f"/field/jobs/{world.ticket}").text
    assert "客户拒绝了报价" in job and "客户说明：太贵了， 先不修" in job
    assert number in job


def test_a_decline_without_a_reason_and_one_twice(client: TestClient, db: Database) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    with db.session() as s:
        quote = settlement_flows.send_quote(
            s,
            ticket=s.get_one(Ticket, world.ticket_id),
            parts=[],
            actor="user:9",
            link_base="",
            secret=secret,
        )
        quote_id = quote.id
    sign_in(client, db, world.phone)
    mine = f"/my/tickets/{world.ticket}"
    url = f"{mine}/quotes/{quote_id}/decline"
    _post(client, url, {}, my_csrf(client, mine))
    with db.session() as s:
        assert s.get_one(Quote, quote_id).status == "rejected"
    # A second decline (another tab) is refused with a message, not an error page.
    _post(client, url, {"reason": "x"}, my_csrf(client, mine))
    assert 'class="flash' in client.get(mine).text
    # Without the page's token it is refused.
    assert client.post(url, data={"reason": "x"}).status_code == 403
