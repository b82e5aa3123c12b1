"""The field app's quote, warranty, service history, signature skip and earnings over HTTP
(issue 19): the engineer prices the job on the phone (SOP labour, rate card, van parts) and
sends it; the page polls the answer; an out-of-warranty job completes with the van part once
the customer accepted; a customer who is not there is replaced by a reason and a door photo;
the engineer reads this month's statement lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.database import Database
from portal.fees.models import Quote
from portal.field.models import WorkRecord
from portal.networks.models import Engineer
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.parts.models import StockMovement
from portal.settlement import flows as settlement_flows
from portal.tickets.models import Ticket
from tests.field.quotes_support import ON_SITE, PUMP, QUOTED, QuoteWorld, build
from tests.field.support import csrf, log_in
from tests.portal import factories as f


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    return build(db)


def _post(client: TestClient, url: str, **data: object) -> str:
    token = csrf(client)
    response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _quotes(db: Database, ticket_id: int) -> list[Quote]:
    with db.session() as s:
        rows = list(s.scalars(select(Quote).where(Quote.ticket_id == ticket_id)))
        s.expunge_all()
        return rows


def _record_with_pump(client: TestClient, url: str) -> None:
    assert (
        _post(client, f"{url}/record", work_done="更换排水泵，试机正常", part=PUMP, qty="1")
        == f"{url}#record"
    )


def test_the_engineer_quotes_on_the_phone_and_sees_the_answer(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    page = client.get(url).text
    # Bot ticket, no unit, no proof: out of warranty, and the app says why.
    assert 'data-testid="warranty" data-code="out" data-reason="no_asset"' in page
    assert "无设备档案" in page
    # The preview: visit 100 (60 min), the SOP's 1.5 h = one extra half hour 20, mileage 20.
    assert "¥100.00" in page and "¥20.00" in page and "标准工时 1.50 小时" in page
    assert f'<option value="{PUMP}"' in page and "排水泵 ¥80.00" in page

    # A bad quantity is refused, and the choice is still on the form.
    refused = _post(client, f"{url}/quote", part=PUMP, qty="0")
    assert refused == f"{url}#quote"
    page = client.get(url).text
    assert f'<option value="{PUMP}" selected' in page and 'value="0"' in page
    assert _quotes(db, world.ticket_id) == []

    assert _post(client, f"{url}/quote", part=PUMP, qty="1") == f"{url}#quote"
    (quote,) = _quotes(db, world.ticket_id)
    assert quote.total == QUOTED and quote.created_by.startswith("user:")
    page = client.get(url).text
    assert 'data-testid="quote-status" data-status="sent"' in page
    assert f'data-poll="/field/jobs/{world.ticket}/quote-status"' in page

    state = client.get(f"{url}/quote-status").json()
    assert state == {
        "number": quote.number,
        "status": "sent",
        "total": "220.00",
        "ticket_status": "arrived",
    }
    with db.session() as s:
        settlement_flows.decide_quote(
            s, quote=s.get_one(Quote, quote.id), accept=True, actor="customer"
        )
    assert client.get(f"{url}/quote-status").json()["status"] == "accepted"
    page = client.get(url).text
    assert 'data-status="accepted"' in page and "data-poll" not in page


def test_out_of_warranty_van_part_needs_the_accepted_quote_then_completes(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _record_with_pump(client, url)
    # The customer is not there: a reason and a photo of the door instead of a signature.
    token = csrf(client)
    missing = client.post(
        f"{url}/signature-skip",
        data={"csrf_token": token, "reason": "客户不在场"},
        follow_redirects=False,
    )
    assert missing.status_code == 303
    page = client.get(url).text
    assert "请拍一张门口照片" in page and 'value="客户不在场"' in page  # the reason is kept
    skipped = client.post(
        f"{url}/signature-skip",
        data={"csrf_token": token, "reason": "客户不在场，邻居代收"},
        files={"door_photo": ("door.png", f.PNG, "image/png")},
        follow_redirects=False,
    )
    assert skipped.status_code == 303
    assert 'data-testid="signature-skipped"' in client.get(url).text

    # No quote accepted yet: completing with the van part is refused, nothing is consumed.
    assert _post(client, f"{url}/complete") == url + "#complete"
    page = client.get(url).text
    assert "保外工单需客户先确认报价" in page
    with db.session() as s:
        assert s.scalars(select(Ticket.status).where(Ticket.id == world.ticket_id)).one() == (
            "arrived"
        )
    _post(client, f"{url}/quote", part=PUMP, qty="1")
    (quote,) = _quotes(db, world.ticket_id)
    with db.session() as s:
        settlement_flows.decide_quote(
            s, quote=s.get_one(Quote, quote.id), accept=True, actor="customer"
        )
    assert _post(client, f"{url}/complete") == url
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        assert ticket.status == "completed"
        done = next(e for e in ticket.events if e.action == "complete")
        assert done.payload["signature_skipped"] == "客户不在场，邻居代收"
        assert done.payload["door_photo_id"] is not None
        record = s.scalars(select(WorkRecord).where(WorkRecord.ticket_id == ticket.id)).one()
        assert record.signature_id is None and record.door_photo_id == done.payload["door_photo_id"]
        used = s.scalars(
            select(StockMovement).where(
                StockMovement.ticket_id == ticket.id, StockMovement.kind == "consume"
            )
        ).all()
        assert sum(-m.on_hand_delta for m in used) == 1
        # The chat gets the summary, the fee (what settlement will charge) and the receipt.
        receipt = s.scalars(
            select(Notification).where(
                Notification.template == "work_receipt", Notification.channel == "widget"
            )
        ).one()
        text = render(receipt.template, receipt.payload)[0]
        assert "更换排水泵" in text and "¥200.00" in text  # on site 0 min: no extra labour
        assert f"/my/tickets/{world.ticket}/receipt" in text


def test_no_quote_form_in_warranty_and_none_for_someone_elses_job(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        ticket.details = {
            **ticket.details,
            "warranty_evidence": {"purchase_date": "2026-06-01", "invoice_id": 1},
        }
        other = f.engineer(s, network=f.network(s), name="周师傅")
        other_login = s.get_one(User, other.user_id).username
    log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.ticket}").text
    assert 'data-code="in" data-reason="evidence"' in page
    assert 'data-testid="quote-free"' in page and 'data-testid="send-quote"' not in page
    assert "客户购买凭证：2026-06-01 购买" in page
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, other_login)
    assert client.get(f"/field/jobs/{world.ticket}/quote-status").status_code == 404
    token = csrf(client)
    sent = client.post(
        f"/field/jobs/{world.ticket}/quote", data={"csrf_token": token}, follow_redirects=False
    )
    assert sent.status_code == 404
    assert _quotes(db, world.ticket_id) == []


def test_the_unit_history_and_this_months_earnings(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        engineer = ticket.engineer_id
        earlier = f.ticket(
            s,
            customer=ticket.customer,
            actions=(*ON_SITE, "complete", "evaluate"),
            engineer=s.get_one(Engineer, engineer),
            fault_description="不排水",
        )
        earlier_number = earlier.number
    log_in(client, world.username)
    page = client.get(f"/field/jobs/{world.ticket}").text
    assert f'data-number="{earlier_number}"' in page
    earnings = client.get("/field/earnings").text
    assert 'data-testid="earning-lines"' in earnings
    # Visit pay, mileage and the 5-star incentive, each naming its job.
    assert earnings.count(f'<a href="/field/jobs/{earlier_number}">') == 3
    assert 'data-amount="55.00"' in earnings
    assert client.get("/field").text.count('data-testid="earnings-link"') == 1


def test_a_quote_refuses_parts_that_are_not_in_the_catalogue(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    """A part the van lacks is quoted "to order" (test_quote_to_order); a name the catalogue
    does not know is no part at all."""
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    assert _post(client, f"{url}/quote", part="电机", qty="1") == f"{url}#quote"
    assert "备件「电机」不存在" in client.get(url).text
    assert _quotes(db, world.ticket_id) == []
    assert Decimal(client.get(f"{url}/quote-status").json()["total"] or 0) == 0
