"""Quotes the engineer sends from the field (issue 19): labour from the SOP quota at the rate
card's prices, mileage, parts from the van; the customer is told on every channel (the widget
gets a card with answer buttons, WeChat the `quote` template opening /my, SMS the link); the
answer reaches the engineer; the customer's proof of purchase decides the warranty when no
unit is registered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from portal.conversations.models import Conversation
from portal.database import Database
from portal.dispatch.parts import PartLine
from portal.errors import Conflict, NotFound
from portal.fees import service as fees
from portal.fees.models import Quote
from portal.notifications.delivery import Outbox
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.notifications.senders import Outgoing, TemplateSpec, WeChatSender
from portal.notifications.widget import WidgetSender, store_in_conversation
from portal.parts import flows as parts_flows
from portal.parts.models import Part
from portal.security import Principal, Role
from portal.settlement import flows
from portal.settlement import service as settlement
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.field.quotes_support import ON_SITE, PUMP, QUOTED, build
from tests.portal import factories as f

SECRET = "quote-test-secret"
BASE = "https://service.example.com"


def _ticket(s: Any, number: str) -> Ticket:
    return s.scalars(select(Ticket).where(Ticket.number == number)).one()


def _send(db: Database, number: str, parts: list[tuple[str, int]]) -> int:
    with db.session() as s:
        quote = flows.send_quote(
            s,
            ticket=_ticket(s, number),
            parts=parts,
            actor="user:1",
            link_base=BASE,
            secret=SECRET,
        )
        return quote.id


def test_the_quote_prices_sop_labour_mileage_and_van_parts(db: Database) -> None:
    w = build(db)
    quote_id = _send(db, w.ticket, [(PUMP, 1)])
    with db.session() as s:
        quote = s.get_one(Quote, quote_id)
        assert quote.status == "sent" and quote.payer == "customer" and quote.warranty == "out"
        assert [(ln.kind, ln.quantity, ln.amount) for ln in quote.lines] == [
            ("labour", 1, Decimal("100.00")),
            ("labour_time", 1, Decimal("20.00")),
            ("mileage", 1, Decimal("20.00")),
            ("part", 1, Decimal("80.00")),
        ]
        assert quote.total == QUOTED
        assert "1.50" in quote.lines[1].description  # the SOP's hours, said on the line


def test_a_new_quote_supersedes_the_open_one_and_unknown_parts_are_refused(db: Database) -> None:
    w = build(db)
    first = _send(db, w.ticket, [])
    second = _send(db, w.ticket, [(PUMP, 2)])
    with db.session() as s:
        assert s.get_one(Quote, first).status == "superseded"
        assert s.get_one(Quote, second).total == Decimal("300.00")
    with db.session() as s, pytest.raises(Conflict):
        flows.send_quote(
            s,
            ticket=_ticket(s, w.ticket),
            parts=[("NO-SUCH", 1)],
            actor="user:1",
            link_base=BASE,
            secret=SECRET,
        )


def test_no_quote_before_the_job_is_taken(db: Database) -> None:
    w = build(db, actions=("accept", "dispatch"))
    with db.session() as s, pytest.raises(Conflict) as refused:
        flows.send_quote(
            s, ticket=_ticket(s, w.ticket), parts=[], actor="u", link_base=BASE, secret=SECRET
        )
    assert refused.value.key == "quote.not_now"


def test_the_customer_is_told_on_each_channel(db: Database) -> None:
    w = build(db)
    with db.session() as s:
        customer = s.get_one(Ticket, w.ticket_id).customer
        customer.wechat_openid = "o-wang"
    quote_id = _send(db, w.ticket, [(PUMP, 1)])
    with db.session() as s:
        rows = {
            n.channel: n
            for n in s.scalars(select(Notification).where(Notification.ticket_id == w.ticket_id))
            if n.idempotency_key.startswith(f"quote:{quote_id}:sent:")
        }
        assert set(rows) == {"wechat", "widget"}
        wechat, widget = rows["wechat"], rows["widget"]
        assert wechat.template == "quote_sent" and wechat.recipient == "o-wang"
        link = f"{BASE}/my/tickets/{w.ticket}"
        text = render(wechat.template, wechat.payload)[0]
        assert "¥220.00" in text and link in text and "排水泵" in text
        assert widget.template == "quote_card" and widget.recipient == w.visitor
        card = render(widget.template, widget.payload)[0]
        assert "- 排水泵（WM-PMP-01） ×1：¥80.00" in card and "**合计：¥220.00**" in card
        token = flows.quote_token(SECRET, s.get_one(Quote, quote_id))
        assert [b["payload"] for b in widget.payload["buttons"]] == [
            f"quote:accept:{token}",
            f"quote:reject:{token}",
        ]


def test_without_wechat_the_quote_goes_by_sms_with_the_link(db: Database) -> None:
    w = build(db)
    _send(db, w.ticket, [])
    with db.session() as s:
        (sms,) = s.scalars(
            select(Notification).where(
                Notification.channel == "sms", Notification.template == "quote_sent"
            )
        )
        assert sms.recipient == w.phone
        assert f"{BASE}/my/tickets/{w.ticket}" in render(sms.template, sms.payload)[0]


class _Messages:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_template(self, user_id: str, template_id: str, data: Any, **kw: Any) -> None:
        self.sent.append({"to": user_id, "id": template_id, "data": data, **kw})


class _Routes:
    def __init__(self) -> None:
        self.routes: list[str] = []

    def within_window(self, openid: str) -> bool:
        return False

    def to_sms(self, message: Outgoing) -> bool:
        return False

    def record(self, message: Outgoing, route: str) -> None:
        self.routes.append(route)


def test_the_wechat_quote_template_opens_the_ticket_under_my(db: Database) -> None:
    w = build(db)
    with db.session() as s:
        s.get_one(Ticket, w.ticket_id).customer.wechat_openid = "o-wang"
    _send(db, w.ticket, [(PUMP, 1)])
    with db.session() as s:
        row = s.scalars(select(Notification).where(Notification.channel == "wechat")).one()
        message = Outgoing(
            id=row.id,
            key=row.idempotency_key,
            channel="wechat",
            recipient=row.recipient,
            template=row.template,
            text=render(row.template, row.payload)[0],
            payload=dict(row.payload),
            created_at=row.created_at,
            attempts=1,
        )
    spec = TemplateSpec("TPL-QUOTE", {"character_string1": "number", "amount2": "amount"})
    routes = _Routes()
    sender = WeChatSender.__new__(WeChatSender)  # no client: the message API is replaced
    sender.templates, sender.routes, sender.url = {"quote": spec}, routes, f"{BASE}/"
    sender.messages = _Messages()  # type: ignore[assignment]
    sender.send(message)
    (sent,) = sender.messages.sent  # type: ignore[attr-defined]
    assert sent["id"] == "TPL-QUOTE" and sent["url"] == f"{BASE}/my/tickets/{w.ticket}"
    assert sent["data"] == {
        "character_string1": {"value": w.ticket},
        "amount2": {"value": "220.00"},
    }
    assert routes.routes == ["template"]


def test_the_widget_card_is_stored_with_its_buttons(db: Database) -> None:
    w = build(db)
    _send(db, w.ticket, [(PUMP, 1)])
    pushed: list[Any] = []

    def push(visitor: str, message: Any) -> int:
        pushed.append((visitor, message))
        return 1

    sender = WidgetSender(store=lambda m: store_in_conversation(db, m), push=push)
    stats = Outbox(db=db, senders={"widget": sender}, worker="t").deliver_once()
    assert stats.sent == 1
    ((visitor, message),) = pushed
    assert visitor == w.visitor and message.author == "system"
    assert [b.title for b in message.buttons] == ["接受报价", "拒绝报价"]
    assert "维修报价" in message.text


def test_the_token_opens_its_quote_only(db: Database) -> None:
    w = build(db)
    quote_id = _send(db, w.ticket, [])
    with db.session() as s:
        quote = s.get_one(Quote, quote_id)
        token = flows.quote_token(SECRET, quote)
        assert flows.quote_by_token(s, secret=SECRET, token=token).id == quote_id
        for bad in (token[:-1] + ("0" if token[-1] != "0" else "1"), "x.y", "", f"{quote_id}"):
            with pytest.raises(NotFound):
                flows.quote_by_token(s, secret=SECRET, token=bad)
        with pytest.raises(NotFound):
            flows.quote_by_token(s, secret="another secret", token=token)


def test_the_answer_reaches_the_engineer_and_unlocks_the_van_part(db: Database) -> None:
    w = build(db)
    quote_id = _send(db, w.ticket, [(PUMP, 1)])
    engineer = Principal(kind="staff", role=Role.ENGINEER, name="eng", engineer_id=w.engineer_id)
    with db.session() as s:
        ticket = _ticket(s, w.ticket)
        with pytest.raises(Conflict) as refused:
            parts_flows.consume_for_ticket(
                s, ticket=ticket, lines=[PartLine(PUMP, 1)], principal=engineer
            )
        assert refused.value.key == "fees.quote_required"
    with db.session() as s:
        flows.decide_quote(s, quote=s.get_one(Quote, quote_id), accept=True, actor="customer1")
    with db.session() as s:
        told = {
            n.template: n
            for n in s.scalars(select(Notification).where(Notification.ticket_id == w.ticket_id))
        }
        staff = told["quote_accepted_staff"]
        assert staff.channel == "portal" and "¥220.00" in render(staff.template, staff.payload)[0]
        assert told["quote_accepted"].channel == "widget"
        used = parts_flows.consume_for_ticket(
            s, ticket=_ticket(s, w.ticket), lines=[PartLine(PUMP, 1)], principal=engineer
        )
        assert used == 1
        with pytest.raises(Conflict):
            flows.decide_quote(s, quote=s.get_one(Quote, quote_id), accept=False, actor="c")


def test_an_accepted_quote_is_not_replaced_and_a_finished_job_takes_no_answer(
    db: Database,
) -> None:
    """Found by a tester: after the customer accepted, the engineer could send another quote,
    complete the job, and the customer could accept the new one on the finished ticket; the
    receipt then charged one figure and cited the other."""
    w = build(db)
    accepted = _send(db, w.ticket, [(PUMP, 1)])
    with db.session() as s:
        flows.decide_quote(s, quote=s.get_one(Quote, accepted), accept=True, actor="customer1")
    with db.session() as s, pytest.raises(Conflict) as refused:
        flows.send_quote(
            s, ticket=_ticket(s, w.ticket), parts=[], actor="u", link_base=BASE, secret=SECRET
        )
    assert refused.value.key == "quote.already_accepted"
    assert "已接受" in refused.value.message_zh and "accepted" in refused.value.message_en


def test_a_quote_still_open_when_the_job_ends_takes_no_answer(db: Database) -> None:
    other = build(db)
    pending = _send(db, other.ticket, [])
    with db.session() as s:
        ticket = _ticket(s, other.ticket)
        lifecycle.apply(s, ticket=ticket, action="complete", actor="user:1")
    with db.session() as s, pytest.raises(Conflict) as late:
        flows.decide_quote(s, quote=s.get_one(Quote, pending), accept=True, actor="customer1")
    assert late.value.key == "quote.not_now"
    with db.session() as s:
        assert s.get_one(Quote, pending).status == "sent"


def test_proof_of_purchase_stands_in_for_a_missing_unit(db: Database) -> None:
    on = date(2026, 12, 7)
    with db.session() as s:
        customer = f.customer(s, with_asset=False)
        model = f.product_model(s, warranty_months=24)
        bare = f.ticket(s, customer=customer)
        assert fees.warranty(s, ticket=bare, on=on).reason == "no_asset"
        bare.details = {
            **bare.details,
            fees.EVIDENCE: {"purchase_date": "2026-01-10", "invoice_id": None},
        }
        assert fees.warranty(s, ticket=bare, on=on).reason == "no_asset"  # no invoice photo
        bare.details = {
            **bare.details,
            fees.EVIDENCE: {"purchase_date": "2026-01-10", "invoice_id": 7},
        }
        assert fees.warranty(s, ticket=bare, on=on) == fees.Warranty(True, "evidence")
        old = {"purchase_date": "2025-06-30", "invoice_id": 7}
        bare.details = {**bare.details, fees.EVIDENCE: old}
        assert fees.warranty(s, ticket=bare, on=on).reason == "evidence_expired"  # 12 months
        bare.model_code = model.code  # the model's 24 months
        assert fees.warranty(s, ticket=bare, on=on).covered
        bare.details = {**bare.details, "fault_cause": "misuse"}
        assert fees.warranty(s, ticket=bare, on=on).reason == "cause"
        bare.details = {**bare.details, fees.EVIDENCE: {"purchase_date": "soon", "invoice_id": 7}}
        assert fees.warranty(s, ticket=bare, on=on).reason == "no_asset"


def test_an_in_warranty_quote_costs_the_customer_nothing(db: Database) -> None:
    w = build(db)
    with db.session() as s:
        ticket = _ticket(s, w.ticket)
        ticket.details = {
            **ticket.details,
            fees.EVIDENCE: {"purchase_date": date.today().isoformat(), "invoice_id": 1},
        }
    quote_id = _send(db, w.ticket, [(PUMP, 1)])
    with db.session() as s:
        quote = s.get_one(Quote, quote_id)
        assert quote.payer == "manufacturer" and quote.total == Decimal("0.00")
        assert sum(ln.amount for ln in quote.lines) > 0  # the lines still say what it is worth


def test_an_engineers_month_lists_what_was_booked_to_them(db: Database) -> None:
    w = build(db, actions=(*ON_SITE, "complete", "evaluate"))
    period = datetime.now(UTC).strftime("%Y-%m")
    with db.session() as s:
        lines, statement = settlement.engineer_month(s, engineer_id=w.engineer_id, period=period)
        assert statement is None
        assert sorted((ln.kind, ln.amount) for ln in lines) == [
            ("incentive", Decimal("10.00")),
            ("mileage", Decimal("10.00")),
            ("service_fee", Decimal("35.00")),
        ]
        assert {ln.ticket_number for ln in lines} == {w.ticket}
        settlement.generate_statements(s, period=period)
        _, statement = settlement.engineer_month(s, engineer_id=w.engineer_id, period=period)
        assert statement is not None and statement.total == Decimal("55.00")
        assert settlement.engineer_month(s, engineer_id=w.engineer_id + 99, period=period)[0] == []


def test_an_english_chat_gets_the_quote_card_in_english(db: Database) -> None:
    """A customer chatting in English (the widget on an English page) reads the card, its
    lines, the part's English name and the buttons in English."""
    w = build(db)
    with db.session() as s:
        s.scalars(select(Part).where(Part.code == PUMP)).one().name_en = "Drain pump"
        chat = s.scalars(
            select(Conversation).where(
                Conversation.channel == "web", Conversation.sender_id == w.visitor
            )
        ).one()
        chat.customer_language = "en"
    _send(db, w.ticket, [(PUMP, 1)])
    pushed: list[Any] = []

    def push(visitor: str, message: Any) -> int:
        pushed.append((visitor, message))
        return 1

    sender = WidgetSender(store=lambda m: store_in_conversation(db, m), push=push)
    assert Outbox(db=db, senders={"widget": sender}, worker="t").deliver_once().sent == 1
    ((_, message),) = pushed
    assert [b.title for b in message.buttons] == ["Accept the quote", "Decline the quote"]
    assert "- Drain pump (WM-PMP-01) ×1: ¥80.00" in message.text
    assert "**Total: ¥220.00**" in message.text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in message.text), message.text
