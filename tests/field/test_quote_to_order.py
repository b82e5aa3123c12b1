"""A tester's findings on the engineer's quote (390 px, engineer role), over HTTP:

1. A quote could name only parts in the van, so a bigger repair could not be quoted at all.
   Now any catalogue part that fits the unit may be quoted; one the van lacks is marked "to
   order" on what the customer sees (a second visit fits it), the engineer orders it in one
   tap once the customer accepts, and completing the job later uses the delivered part.
2. A sent quote could only be replaced. Now the engineer withdraws it: the customer's
   channels are told it no longer stands, /my shows it withdrawn and an answer to it (the
   page's button, the chat card's) is refused with a clear message in both languages.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import Database
from portal.errors import Conflict
from portal.fees.models import Quote
from portal.field import service as field_service
from portal.networks.models import ServiceNetwork
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.parts import flows as parts_flows
from portal.parts import service as parts
from portal.parts.models import Part, PartReservation, ShortageOrder, StockMovement
from portal.security import Principal, Role
from portal.settlement import flows as settlement_flows
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.field.quotes_support import PUMP, QUOTED, QuoteWorld, build
from tests.field.support import csrf, log_in
from tests.portal import factories as f
from tests.selfservice.support import csrf as my_csrf
from tests.selfservice.support import sign_in

MOTOR = "WM-MTR-01"
AC_FAN = "AC-FAN-01"
WITH_MOTOR = QUOTED + Decimal("300.00")  # the visit, labour, mileage, a pump and the motor
DESK = Principal(kind="staff", role=Role.DISPATCHER, name="desk")


def catalogue(s: Session) -> None:
    """The washing-machine motor (price 300), which no van carries, and an air-conditioner
    fan motor, which does not fit a washing machine."""
    for code, name, category, price in (
        (MOTOR, "电机", "洗衣机", "300.00"),
        (AC_FAN, "空调风扇电机", "空调", "120.00"),
    ):
        parts.create_part(
            s,
            part=Part(
                code=code,
                name=name,
                category=category,
                compatible_models=[],
                unit_cost=Decimal(price) / 2,
                unit_price=Decimal(price),
            ),
        )


@pytest.fixture
def world(db: Database) -> QuoteWorld:
    w = build(db)
    with db.session() as s:
        catalogue(s)
    return w


def _post(client: TestClient, url: str, **data: object) -> str:
    response = client.post(url, data={"csrf_token": csrf(client), **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _latest(db: Database, ticket_id: int) -> Quote:
    with db.session() as s:
        row = s.scalars(
            select(Quote).where(Quote.ticket_id == ticket_id).order_by(Quote.id.desc())
        ).first()
        assert row is not None
        assert row.lines is not None  # loaded before the session ends
        s.expunge_all()
        return row


def _customer(client: TestClient, db: Database, phone: str) -> TestClient:
    """The customer, signed in to /my on their own phone (another client of the same app)."""
    phone_client = TestClient(client.app, follow_redirects=False)
    sign_in(phone_client, db, phone)
    return phone_client


def _accept(db: Database, quote_id: int) -> None:
    with db.session() as s:
        settlement_flows.decide_quote(
            s, quote=s.get_one(Quote, quote_id), accept=True, actor="customer"
        )


def _status(db: Database, ticket_id: int) -> str:
    with db.session() as s:
        return s.get_one(Ticket, ticket_id).status


def test_a_part_not_in_the_van_is_quoted_to_order_and_the_customer_sees_it(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    page = client.get(url).text
    # The motor is offered to order; the air-conditioner part fits no washing machine.
    assert f'<option value="{MOTOR}"' in page and "电机 ¥300.00 · 需订购" in page
    assert f'<option value="{AC_FAN}"' not in page

    assert _post(client, f"{url}/quote", part=[PUMP, MOTOR], qty=["1", "1"]) == f"{url}#quote"
    quote = _latest(db, world.ticket_id)
    assert quote.status == "sent" and quote.total == WITH_MOTOR
    marks = {ln.part_id: ln.to_order for ln in quote.lines if ln.kind == "part"}
    with db.session() as s:
        ids = {p.code: p.id for p in s.scalars(select(Part))}
    assert marks == {ids[PUMP]: False, ids[MOTOR]: True}
    page = client.get(url).text
    assert page.count('data-testid="quote-line-to-order"') == 1

    # The chat card marks it and says a second visit fits it.
    with db.session() as s:
        card = s.scalars(
            select(Notification).where(
                Notification.template == "quote_card", Notification.channel == "widget"
            )
        ).one()
        zh, en = render(card.template, card.payload)
    assert "电机（WM-MTR-01） ×1（需订购）" in zh and "再次上门" in zh
    assert "¥520.00" in zh and en

    # /my: the line is marked and the note is there, in both languages.
    customer = _customer(client, db, world.phone)
    mine = customer.get(f"/my/tickets/{world.ticket}").text
    assert mine.count('data-testid="my-quote-to-order"') == 1
    assert 'data-testid="my-quote-second-visit"' in mine and "再次上门更换" in mine


def test_a_part_that_does_not_fit_or_does_not_exist_is_still_refused(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _post(client, f"{url}/quote", part=AC_FAN, qty="1")
    page = client.get(url).text
    assert "“空调风扇电机”不适配本工单的产品或机型" in page
    # What was chosen is kept on the form (nothing typed is lost).
    assert f'<option value="{MOTOR}"' in page
    with db.session() as s:
        assert s.scalars(select(Quote)).first() is None


def test_once_accepted_the_engineer_orders_in_one_tap_and_completes_with_what_came(
    client: TestClient, world: QuoteWorld, db: Database, tmp_path: Path
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _post(client, f"{url}/quote", part=MOTOR, qty="1")
    quote = _latest(db, world.ticket_id)
    # Not accepted yet: nothing to order, no button.
    assert 'data-testid="order-quoted-parts"' not in client.get(url).text
    _accept(db, quote.id)
    page = client.get(url).text
    assert 'data-testid="order-quoted-parts"' in page and "需订购：电机（WM-MTR-01）" in page

    # One tap: the store has none, so it is ordered and the job waits for it.
    assert _post(client, f"{url}/quote/order") == f"{url}#quote"
    assert _status(db, world.ticket_id) == "waiting_parts"
    with db.session() as s:
        motor_id = s.scalars(select(Part.id).where(Part.code == MOTOR)).one()
        (order,) = s.scalars(
            select(ShortageOrder).where(ShortageOrder.ticket_id == world.ticket_id)
        ).all()
        assert (order.part_id, order.quantity, order.status) == (motor_id, 1, "open")
        assert s.get_one(Quote, quote.id).parts_ordered_at is not None
    page = client.get(url).text
    assert 'data-testid="order-quoted-parts"' not in page
    assert 'data-testid="quote-parts-ordered"' in page
    # A second tap orders nothing twice, and says why.
    _post(client, f"{url}/quote/order")
    assert "没有待订购的备件" in client.get(url).text
    with db.session() as s:
        assert len(s.scalars(select(ShortageOrder)).all()) == 1

    # The motor arrives at the store: the job resumes, goes back out, the engineer is on
    # site again, collects it (领料), fits it, and completing the job consumes it.
    with db.session() as s:
        ticket = s.get_one(Ticket, world.ticket_id)
        store = parts.network_location(s, network=s.get_one(ServiceNetwork, ticket.network_id))
        parts_flows.receive(
            s, location=store, part=s.get_one(Part, motor_id), quantity=1, principal=DESK
        )
        assert ticket.status == "accepted"
        for action in ("dispatch", "engineer_accept", "depart", "arrive"):
            payload = (
                {"network_id": ticket.network_id, "engineer_id": ticket.engineer_id}
                if action == "dispatch"
                else {}
            )
            lifecycle.apply(s, ticket=ticket, action=action, actor="system:test", payload=payload)
    page = client.get(url).text
    assert 'data-testid="store-part"' in page and "电机 × 1" in page
    _post(client, f"{url}/collect")
    _post(client, f"{url}/record", work_done="更换电机，试机正常", part=MOTOR, qty="1")
    with db.session() as s:
        field_service.sign(
            s,
            ticket=s.get_one(Ticket, world.ticket_id),
            engineer_id=world.engineer_id,
            png=f.PNG,
            signed_by="王女士",
            principal=Principal(
                kind="staff", role=Role.ENGINEER, name="eng", engineer_id=world.engineer_id
            ),
            root=tmp_path,
            max_bytes=1_000_000,
        )
    assert _post(client, f"{url}/complete") == url
    assert _status(db, world.ticket_id) == "completed"
    with db.session() as s:
        used = s.scalars(
            select(StockMovement).where(
                StockMovement.ticket_id == world.ticket_id,
                StockMovement.kind == "consume",
                StockMovement.part_id == motor_id,
            )
        ).all()
        assert sum(-m.on_hand_delta for m in used) == 1
        held = s.scalars(
            select(PartReservation).where(PartReservation.ticket_id == world.ticket_id)
        ).all()
        assert [r.status for r in held] == ["consumed"]
        # A job that is done orders nothing, and says why.
        done = s.get_one(Ticket, world.ticket_id)
        with pytest.raises(Conflict) as refused:
            settlement_flows.order_quoted_parts(s, ticket=done, principal=DESK)
        assert "已完工" in refused.value.message_zh and "no longer" in refused.value.message_en


def test_the_engineer_withdraws_a_quote_and_the_customer_can_no_longer_accept_it(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    log_in(client, world.username)
    url = f"/field/jobs/{world.ticket}"
    _post(client, f"{url}/quote", part=PUMP, qty="1")
    quote = _latest(db, world.ticket_id)
    page = client.get(url).text
    assert 'data-testid="withdraw-quote"' in page and 'data-testid="confirm-withdraw"' in page

    assert _post(client, f"{url}/quote/withdraw") == f"{url}#quote"
    page = client.get(url).text
    assert "报价已撤回，已通知客户" in page
    assert 'data-testid="quote-status" data-status="withdrawn"' in page
    assert "data-poll" not in page and 'data-testid="withdraw-quote"' not in page
    assert 'data-testid="send-quote"' in page  # a new quote may be sent
    assert client.get(f"{url}/quote-status").json()["status"] == "withdrawn"
    # Withdrawing again: nothing waits, and the engineer is told so.
    _post(client, f"{url}/quote/withdraw")
    assert "没有等待客户答复的报价" in client.get(url).text

    # The customer's channels are told that it no longer stands.
    with db.session() as s:
        told = s.scalars(
            select(Notification).where(Notification.template == "quote_withdrawn")
        ).all()
        assert {n.channel for n in told} >= {"widget"}
        zh, en = render(told[0].template, told[0].payload)
    assert quote.number in zh and "已被工程师撤回" in zh and "no longer stands" in en

    # The chat card's button: refused, in both languages.
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    token = settlement_flows.quote_token(secret, quote)
    answer = client.post("/my/quote-answers", data={"token": token, "answer": "accept"})
    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "quote.withdrawn"
    assert "已被工程师撤回" in body["message_zh"] and "withdrawn" in body["message_en"]

    # /my shows it withdrawn, with no buttons; a stale page's accept is refused.
    customer = _customer(client, db, world.phone)
    mine = customer.get(f"/my/tickets/{world.ticket}").text
    assert 'data-testid="my-quote" data-status="withdrawn"' in mine
    assert "工程师已撤回此报价" in mine and 'data-testid="quote-accept"' not in mine
    stale = customer.post(
        f"/my/tickets/{world.ticket}/quotes/{quote.id}",
        data={"csrf_token": my_csrf(customer, f"/my/tickets/{world.ticket}"), "answer": "accept"},
        follow_redirects=False,
    )
    assert stale.status_code == 303
    assert "已被工程师撤回" in customer.get(f"/my/tickets/{world.ticket}").text
    assert _latest(db, world.ticket_id).status == "withdrawn"


def test_only_the_engineer_of_the_job_withdraws_or_orders(
    client: TestClient, world: QuoteWorld, db: Database
) -> None:
    with db.session() as s:
        other = f.engineer(s, network=f.network(s), name="周师傅")
        other_login = s.get_one(User, other.user_id).username
    log_in(client, world.username)
    _post(client, f"/field/jobs/{world.ticket}/quote", part=PUMP, qty="1")
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, other_login)
    token = csrf(client)
    for step in ("quote/withdraw", "quote/order"):
        answer = client.post(
            f"/field/jobs/{world.ticket}/{step}",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 404
    assert _latest(db, world.ticket_id).status == "sent"
