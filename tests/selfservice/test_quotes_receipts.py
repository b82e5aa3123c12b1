"""The customer's side of a paid job in /my (issue 19): the warranty and the proof of purchase
asked for when no unit is registered, the engineer's quote answered with one tap (on the page,
or from the chat widget with the quote's token), then the work record, the fee and a
printable receipt."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.fees.models import Quote
from portal.notifications.models import Notification
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QUOTED, QuoteWorld, build, finish_with_pump
from tests.portal import factories as f
from tests.selfservice.support import csrf, sign_in


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def _quote(db: Database, w: QuoteWorld, secret: str, parts: list[tuple[str, int]]) -> Quote:
    with db.session() as s:
        ticket = s.get_one(Ticket, w.ticket_id)
        quote = settlement_flows.send_quote(
            s, ticket=ticket, parts=parts, actor="user:9", link_base="", secret=secret
        )
        s.flush()
        s.expunge(quote)
        return quote


def _status(db: Database, quote_id: int) -> str:
    with db.session() as s:
        return s.get_one(Quote, quote_id).status


def test_the_warranty_is_asked_and_the_proof_of_purchase_decides_it(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}"
    page = client.get(url).text
    assert 'data-testid="my-warranty" data-code="out" data-reason="no_asset"' in page
    assert 'data-testid="evidence-form"' in page

    token = csrf(client, url)
    future = (date.today() + timedelta(days=3)).isoformat()
    bad = client.post(
        f"{url}/warranty",
        data={"csrf_token": token, "purchase_date": future},
        files={"invoice": ("invoice.png", f.PNG, "image/png")},
        follow_redirects=False,
    )
    assert bad.status_code == 303
    page = client.get(url).text
    assert "请填写正确的购买日期" in page and f'value="{future}"' in page  # nothing typed lost
    no_photo = client.post(
        f"{url}/warranty",
        data={"csrf_token": token, "purchase_date": "2026-05-01"},
        follow_redirects=False,
    )
    assert no_photo.status_code == 303 and "请上传发票照片" in client.get(url).text

    ok = client.post(
        f"{url}/warranty",
        data={"csrf_token": token, "purchase_date": "2026-05-01"},
        files={"invoice": ("invoice.png", f.PNG, "image/png")},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get(url).text
    assert 'data-code="in" data-reason="evidence"' in page
    assert "您已提供购买凭证：2026-05-01 购买" in page and 'data-testid="evidence-form"' not in page
    with db.session() as s:
        proof = s.get_one(Ticket, world.ticket_id).details["warranty_evidence"]
        assert proof["purchase_date"] == "2026-05-01" and proof["invoice_id"]


def test_the_customer_accepts_the_quote_on_the_page(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    quote = _quote(db, world, client.app.state.settings.secret_key, [(PUMP, 1)])  # type: ignore[attr-defined]
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}"
    page = client.get(url).text
    assert f'data-testid="my-quote" data-status="sent" data-number="{quote.number}"' in page
    assert "排水泵（WM-PMP-01） ×1" in page and "合计 ¥220.00" in page
    token = csrf(client, url)
    done = client.post(
        f"{url}/quotes/{quote.id}",
        data={"csrf_token": token, "answer": "accept"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"{url}#quote"
    assert _status(db, quote.id) == "accepted"
    page = client.get(url).text
    assert "已接受报价" in page and 'data-status="accepted"' in page
    client.post(f"{url}/quotes/{quote.id}", data={"csrf_token": token, "answer": "reject"})
    assert "该报价单已处理" in client.get(url).text and _status(db, quote.id) == "accepted"
    with db.session() as s:
        decided = s.scalars(
            select(Notification).where(Notification.template == "quote_accepted_staff")
        ).one()
        assert decided.ticket_id == world.ticket_id


def test_an_english_reader_reads_the_quote_lines_in_english(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    # The lines were stored as Chinese sentences; they now keep what they mean.
    _quote(db, world, client.app.state.settings.secret_key, [(PUMP, 1)])  # type: ignore[attr-defined]
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}"
    assert "上门服务费（含" in client.get(url).text
    client.get("/lang/en", params={"next": url})
    page = client.get(url).text
    assert "Visit fee (includes" in page and "上门服务费" not in page
    assert "排水泵（WM-PMP-01） ×1" in page  # the part is the company's own words


def test_someone_elses_quote_and_ticket_are_not_found(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    quote = _quote(db, world, "s", [])
    with db.session() as s:
        stranger = f.customer(s, with_asset=False).phone
    sign_in(client, db, stranger)
    url = f"/my/tickets/{world.ticket}"
    assert client.get(url).status_code == 404
    token = csrf(client, "/my/tickets")
    answer = client.post(f"{url}/quotes/{quote.id}", data={"csrf_token": token, "answer": "accept"})
    assert answer.status_code == 404 and _status(db, quote.id) == "sent"
    assert client.get(f"{url}/receipt").status_code == 404


def test_the_widget_answers_with_the_token_alone(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote(db, world, secret, [(PUMP, 1)])
    with db.session() as s:
        token = settlement_flows.quote_token(secret, s.get_one(Quote, quote.id))
    client.cookies.clear()  # no session, no CSRF token: the token is the authority
    bad = client.post("/my/quote-answers", data={"token": token[:-2] + "00", "answer": "accept"})
    assert bad.status_code == 404 and bad.headers["access-control-allow-origin"] == "*"
    assert "报价单" in bad.json()["message_zh"]
    wrong = client.post("/my/quote-answers", data={"token": token, "answer": "maybe"})
    assert wrong.status_code == 422 and _status(db, quote.id) == "sent"
    unconfirmed = client.post("/my/quote-answers", data={"token": token, "answer": "reject"})
    assert unconfirmed.status_code == 422 and _status(db, quote.id) == "sent"  # confirm first
    ok = client.post(
        "/my/quote-answers",
        data={"token": token, "answer": "reject", "confirm": "yes"},
        headers={"Origin": "https://shop.example.com"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "rejected"
    assert ok.json()["message_zh"].startswith("已拒绝报价")
    assert ok.headers["access-control-allow-origin"] == "*"
    assert _status(db, quote.id) == "rejected"
    twice = client.post("/my/quote-answers", data={"token": token, "answer": "accept"})
    assert twice.status_code == 409 and twice.json()["error"] == "fees.quote_decided"
    with db.session() as s:
        told = s.scalars(
            select(Notification).where(
                Notification.channel == "widget", Notification.template == "quote_rejected"
            )
        ).one()
        assert told.recipient == world.visitor


def test_after_the_visit_the_customer_sees_the_record_the_fee_and_the_receipt(
    client: TestClient, world: QuoteWorld, db: Database, tmp_path: Path
) -> None:
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote(db, world, secret, [(PUMP, 1)])
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}"
    assert client.get(f"{url}/receipt").status_code == 404  # not done yet
    with db.session() as s:
        settlement_flows.decide_quote(s, quote=s.get_one(Quote, quote.id), accept=True, actor="c")
    finish_with_pump(db, world, tmp_path)
    page = client.get(url).text
    assert 'data-testid="my-record"' in page and "更换排水泵，试机正常" in page
    assert 'data-testid="fee" data-amount="200.00"' in page  # settled on the real time on site
    assert f'href="/my/tickets/{world.ticket}/receipt"' in page
    receipt = client.get(f"{url}/receipt")
    assert receipt.status_code == 200
    text = receipt.text
    assert 'data-testid="receipt-total" data-amount="200.00"' in text
    assert "排水泵（WM-PMP-01）" in text and "服务费" in text and "里程费" in text
    # Charged on the real time on site, not the SOP's: the receipt says so beside the quote.
    assert f"已接受的报价单 {quote.number} 为 ¥{QUOTED}，本次应付 ¥200.00" in text
    assert "超时工时费按实际在场时间计 ¥0.00（报价按标准工时计 ¥20.00）" in text
    assert "客户签名：王女士" in text and "data-print" in text
    assert "<script>" not in text  # the print button's script is a file (CSP)
    assert Decimal("200.00") < QUOTED


def test_a_completed_job_shows_its_record_fee_and_receipt_not_the_quote_hint(
    client: TestClient, world: QuoteWorld, db: Database, tmp_path: Path
) -> None:
    """Testers read "the engineer quotes first; you pay only what you accept" on a job long
    done: once completed, the page is the work record, the fee and the receipt."""
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    quote = _quote(db, world, secret, [(PUMP, 1)])
    with db.session() as s:
        settlement_flows.decide_quote(s, quote=s.get_one(Quote, quote.id), accept=True, actor="c")
    sign_in(client, db, world.phone)
    url = f"/my/tickets/{world.ticket}"
    before = client.get(url).text
    assert "维修前工程师会先给您报价" in before  # an open job: what is still to come
    finish_with_pump(db, world, tmp_path)
    for lang, hint in (("zh", "维修前工程师会先给您报价"), ("en", "the engineer quotes first")):
        client.cookies.set("lang", lang)
        page = client.get(url).text
        assert hint not in page, lang
        assert 'data-testid="my-warranty"' not in page and 'data-testid="my-quote"' not in page
        # Nor a booking card saying no visit time was agreed, on a job the engineer did.
        assert 'data-testid="my-visit"' not in page and "尚未约定上门时间" not in page
        assert 'data-testid="my-record"' in page and 'data-testid="fee"' in page
        assert f'href="{url}/receipt"' in page
