"""Declining a quote from the chat widget (a tester's finding): in /my declining asks to
confirm, says the call-out fee stays due and takes an optional reason, but the widget's card
declined with one tap. The token route now refuses an unconfirmed decline with what
confirming means (what stays due, in both languages, and the words for the card's
confirmation); a confirmed one may carry the reason, kept for the engineer and staff."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.fees.models import Quote
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QuoteWorld, build


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def _token(client: TestClient, db: Database, world: QuoteWorld) -> tuple[int, str, Decimal]:
    """Send a quote for the pump; its id, its token and its call-out (labour and mileage)."""
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=[(PUMP, 1)], actor="user:9", link_base="", secret=secret
        )
        fee = sum(
            (ln.amount for ln in quote.lines if ln.kind in ("labour", "mileage")), Decimal("0")
        )
        return quote.id, settlement_flows.quote_token(secret, quote), fee


def test_a_decline_from_the_widget_is_confirmed_and_may_say_why(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    quote_id, token, fee = _token(client, db, world)
    client.cookies.clear()
    first = client.post("/my/quote-answers", data={"token": token, "answer": "reject"})
    assert first.status_code == 422
    body = first.json()
    assert body["error"] == "quote.decline_unconfirmed"
    assert first.headers["access-control-allow-origin"] == "*"
    with db.session() as s:
        assert s.get_one(Quote, quote_id).status == "sent"  # one tap declines nothing
    zh, en = body["confirm"]["zh"], body["confirm"]["en"]
    assert f"¥{fee:.2f}" in zh["consequence"] and "仍需支付" in zh["consequence"]
    assert f"¥{fee:.2f}" in en["consequence"] and "still due" in en["consequence"]
    assert zh["confirm"] == "确认拒绝报价" and en["confirm"] == "Yes, decline the quote"
    assert "选填" in zh["reason"] and zh["back"] and en["back"]
    assert body["reason_max"] == settlement_flows.DECLINE_REASON_CHARS
    assert body["message_zh"] == zh["consequence"]  # an older card shows what confirming means

    done = client.post(
        "/my/quote-answers",
        data={"token": token, "answer": "reject", "confirm": "yes", "reason": "  太贵了，先不修 "},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "rejected"
    assert "工程师已收到通知" in done.json()["message_zh"]
    with db.session() as s:
        quote = s.get_one(Quote, quote_id)
        assert quote.status == "rejected"
        ticket = s.get_one(Ticket, world.ticket_id)
        assert settlement_flows.decline_reason(ticket, quote) == "太贵了，先不修"


def test_accepting_stays_one_tap(client: TestClient, world: QuoteWorld, db: Database) -> None:
    quote_id, token, _ = _token(client, db, world)
    client.cookies.clear()
    ok = client.post("/my/quote-answers", data={"token": token, "answer": "accept"})
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    with db.session() as s:
        assert s.scalars(select(Quote.status).where(Quote.id == quote_id)).one() == "accepted"
