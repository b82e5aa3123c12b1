"""The staff ticket page shows the ticket's quotes, and beside a declined one what the customer
said (a tester found the reason only on the engineer's job page, nowhere the desk looks)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from portal.database import Database
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, build
from tests.page_support import sign_in
from tests.portal import factories as f


def _quotes_section(page: str) -> str:
    found = re.search(r'<section[^>]*data-testid="ticket-quotes".*?</section>', page, re.S)
    assert found is not None, "no quotes section on the ticket page"
    return html.unescape(found.group(0))


def test_the_desk_reads_why_the_customer_declined(client: TestClient, db: Database) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        first = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret=secret
        )
        settlement_flows.decide_quote(
            s, quote=first, accept=False, actor="customer", reason="太贵了，先不修"
        )
        second = settlement_flows.send_quote(
            s, ticket=ticket, parts=[], actor="user:9", link_base="", secret=secret
        )
        settlement_flows.decide_quote(s, quote=second, accept=False, actor="customer")
        first_no, second_no = first.number, second.number
        agent = f.user(s, role="agent").username
    sign_in(client, agent)
    section = _quotes_section(client.get(f"/tickets/{world.ticket}").text)
    assert first_no in section and second_no in section
    assert "¥220.00" in section and "已拒绝" in section
    assert "客户说明：太贵了，先不修" in section
    # The reason stands beside its own quote, not the one declined without a word.
    rows = re.findall(r'<li data-testid="ticket-quote"[^>]*>.*?</li>', section, re.S)
    by_number = {n: row for row in rows for n in (first_no, second_no) if n in row}
    assert "太贵了" in by_number[first_no] and "太贵了" not in by_number[second_no]
    client.cookies.set("lang", "en")
    whole = html.unescape(client.get(f"/tickets/{world.ticket}").text)
    english = _quotes_section(whole)
    assert "The customer said: 太贵了，先不修" in english and "Rejected" in english
    # The page's head names the product category in English too (it read 洗衣机).
    assert "Repair · Washing machine ·" in whole


def test_the_money_page_says_it_beside_the_quote_too(client: TestClient, db: Database) -> None:
    world = build(db)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret=secret
        )
        settlement_flows.decide_quote(s, quote=quote, accept=False, actor="c", reason="再考虑")
        finance = f.user(s, role="finance").username
    sign_in(client, finance)
    page = html.unescape(client.get(f"/settlement/tickets/{world.ticket}").text)
    quoted = re.findall(r'<li data-testid="money-quote">.*?</li>', page, re.S)
    assert len(quoted) == 1 and "客户说明：再考虑" in quoted[0]
