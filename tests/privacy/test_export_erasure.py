"""A customer downloads their data from /my and asks for erasure; an administrator confirms it
on /privacy/erasures; the customer is anonymised while tickets and the ledger stay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.audit.models import AuditRecord
from portal.complaints.models import Complaint, ComplaintEvent, RevisitCall
from portal.config import Settings
from portal.conversations.models import Conversation, Message
from portal.customers.models import ChannelIdentity, Customer, OneTimeCode
from portal.database import Database, utcnow
from portal.notifications.models import Notification
from portal.privacy.models import ErasureRequest
from portal.settlement import ledger
from portal.settlement.ledger import Posting
from portal.settlement.models import LedgerEntry, LedgerTransaction
from portal.tickets import lifecycle
from portal.tickets.models import Ticket, TicketAttachment, TicketComment
from portal.wechat.models import WeChatFollower
from tests.field.support import csrf as staff_csrf
from tests.field.support import log_in
from tests.portal import factories as f
from tests.selfservice.support import csrf, sign_in

PHONE = "13712345678"
NAME = "林小姐"
STREET = "张杨路500号"


@dataclass
class World:
    customer_id: int
    ticket: str
    photo: Path
    admin: str
    conversation: str


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s, phone_=PHONE, name=NAME)
        customer.addresses[0].detail = STREET
        ticket = f.ticket(
            s,
            customer=customer,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete"),
            engineer=eng,
            address=f"上海浦东新区{STREET}",
            fault_description=f"滚筒不转，联系{PHONE}",
        )
        lifecycle.apply(
            s,
            ticket=ticket,
            action="evaluate",
            actor=f"customer:{customer.id}",
            payload={"score": 4, "comment": "师傅很准时，林小姐家"},
        )
        photo = f.attachment(s, ticket=ticket, root=settings.uploads_path)
        f.comment(s, ticket=ticket, body=f"客户电话{PHONE}", internal=False)
        conversation = f.conversation(s, customer_id=customer.id, sender_id="visitor-lin")
        s.add_all(
            [
                Message(
                    conversation_id=conversation.id,
                    direction="in",
                    author="customer",
                    text=f"我家在{STREET}，电话{PHONE}",
                ),
                Message(
                    conversation_id=conversation.id, direction="out", author="bot", text="收到"
                ),
            ]
        )
        s.add(
            ChannelIdentity(
                channel="web", external_id="visitor-lin", customer_id=customer.id, bound_at=utcnow()
            )
        )
        s.add(ChannelIdentity(channel="wechat", external_id="oLin", customer_id=customer.id))
        s.add(WeChatFollower(openid="oLin", bind_phone=PHONE, visit_address=STREET))
        customer.wechat_openid = "oLin"
        ledger.post(
            s,
            key=f"rating:{ticket.id}",
            kind="settlement",
            period="2026-12",
            postings=[Posting("mfr:service_cost", "platform:bank", Decimal("80.00"), "labour")],
            actor="system:test",
            ticket_id=ticket.id,
        )
        case = Complaint(
            ticket_id=ticket.id,
            customer_id=customer.id,
            source="phone",
            reason="attitude",
            description=f"林小姐说师傅态度差，回电{PHONE}",
            deadline_at=utcnow(),
            opened_by="user:1",
            outcome=f"已回电{PHONE}致歉",
        )
        s.add(case)
        s.flush()
        s.add(ComplaintEvent(complaint_id=case.id, action="note", actor="user:1", note=STREET))
        s.add(
            RevisitCall(
                ticket_id=ticket.id,
                outcome="answered",
                score=2,
                comment=f"{NAME}不满意",
                actor="u:1",
            )
        )
        admin = f.user(s, role="admin")
        return World(
            customer_id=customer.id,
            ticket=ticket.number,
            photo=settings.uploads_path / photo.storage_key,
            admin=admin.username,
            conversation=conversation.public_id,
        )


@pytest.fixture(autouse=True)
def _no_redirects(client: TestClient) -> None:
    client.follow_redirects = False


def test_the_customer_downloads_everything_we_hold(
    client: TestClient, db: Database, world: World
) -> None:
    sign_in(client, db, PHONE)
    page = client.get("/my/privacy")
    assert page.status_code == 200 and 'data-testid="export-json"' in page.text
    download = client.get("/my/privacy/export.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    data = json.loads(download.content)
    assert data["profile"]["name"] == NAME and data["profile"]["phone"] == PHONE
    assert any(STREET in a["address"] for a in data["profile"]["addresses"])
    assert {a["channel"] for a in data["profile"]["linked_accounts"]} == {"web", "wechat"}
    [ticket] = data["tickets"]
    assert ticket["number"] == world.ticket and ticket["comments"][0]["text"].endswith(PHONE)
    assert [m["text"] for m in data["conversations"][0]["messages"]][0].startswith("我家在")
    assert data["photos"][0]["ticket"] == world.ticket
    assert data["ratings"][0]["score"] == 4 and "准时" in data["ratings"][0]["comment"]
    [case] = data["complaints"]
    assert case["ticket"] == world.ticket and "态度差" in case["description"]
    assert data["revisit_calls"][0]["comment"] == f"{NAME}不满意"
    readable = client.get("/my/privacy/export")
    assert readable.status_code == 200
    assert world.ticket in readable.text and NAME in readable.text and "准时" in readable.text


def test_export_needs_the_customer_signed_in(client: TestClient, world: World) -> None:
    for path in ("/my/privacy", "/my/privacy/export.json", "/my/privacy/export"):
        response = client.get(path)
        assert response.status_code == 303 and "/my/login" in response.headers["location"]


def _ask(client: TestClient, db: Database) -> None:
    sign_in(client, db, PHONE)
    token = csrf(client, "/my/privacy")
    unticked = client.post("/my/privacy/erase", data={"csrf_token": token})
    assert unticked.status_code == 303
    assert "请先勾选确认" in client.get("/my/privacy").text
    asked = client.post("/my/privacy/erase", data={"csrf_token": token, "confirm": "yes"})
    assert asked.status_code == 303
    again = client.post("/my/privacy/erase", data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 303
    assert 'data-testid="erasure-pending"' in client.get("/my/privacy").text


def test_erasure_anonymises_the_customer_and_keeps_the_accounts(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    _ask(client, db)
    with db.session() as s:
        [pending] = s.scalars(select(ErasureRequest)).all()
        # The sign-in code went out by SMS: the outbox names the phone.
        assert s.scalars(select(Notification).where(Notification.recipient == PHONE)).all()
        assert pending.status == "pending" and pending.customer_id == world.customer_id
        ledger_before = (
            s.scalar(select(func.count()).select_from(LedgerTransaction)),
            s.scalar(select(func.sum(LedgerEntry.amount).filter(LedgerEntry.amount > 0))),
        )
    assert world.photo.exists()

    staff = TestClient(client.app)
    staff.follow_redirects = False
    log_in(staff, world.admin, "/privacy/erasures")
    listed = staff.get("/privacy/erasures")
    assert listed.status_code == 200 and 'data-testid="erasure-request"' in listed.text
    token = staff_csrf(staff, "/privacy/erasures")
    done = staff.post(f"/privacy/erasures/{pending.id}/confirm", data={"csrf_token": token})
    assert done.status_code == 303
    assert "已删除该客户的个人信息" in staff.get("/privacy/erasures").text

    with db.session() as s:
        customer = s.get_one(Customer, world.customer_id)
        assert customer.name == "" and PHONE not in customer.phone and customer.phones == []
        assert customer.wechat_openid is None
        assert all(a.detail == "" and a.lat is None for a in customer.addresses)
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.ticket)).one()
        # The row stays for the accounts, with nothing that names the person.
        assert ticket.status == "evaluated" and ticket.product == "洗衣机"
        assert ticket.phone == "" and ticket.address == "" and PHONE not in ticket.fault_description
        rating = next(e for e in ticket.events if e.action == "evaluate")
        assert rating.payload["score"] == 4 and "准时" not in str(rating.payload)
        comments = s.scalars(select(TicketComment)).all()
        assert comments and all(PHONE not in c.body for c in comments)
        # The complaint case stays for the accounts, without what the customer said.
        [case] = s.scalars(select(Complaint)).all()
        assert case.reason == "attitude" and case.description == ""
        assert PHONE not in case.outcome
        assert [e.note for e in s.scalars(select(ComplaintEvent))] == [""]
        assert [c.comment for c in s.scalars(select(RevisitCall))] == [""]
        assert s.scalars(select(TicketAttachment)).all() == []
        texts = [m.text for m in s.scalars(select(Message))]
        assert texts == ["", ""]
        conversation = s.scalars(
            select(Conversation).where(Conversation.public_id == world.conversation)
        ).one()
        assert conversation.sender_id != "visitor-lin"
        assert s.scalars(select(ChannelIdentity)).all() == []
        assert s.scalars(select(WeChatFollower)).all() == []
        assert s.scalars(select(OneTimeCode).where(OneTimeCode.phone == PHONE)).all() == []
        assert s.scalars(select(Notification).where(Notification.recipient == PHONE)).all() == []
        for record in s.scalars(select(AuditRecord)):
            assert PHONE not in json.dumps(record.before, ensure_ascii=False)
            assert NAME not in json.dumps(record.after, ensure_ascii=False)
        erased = s.scalars(select(AuditRecord).where(AuditRecord.action == "erase")).one()
        assert erased.entity_id == str(world.customer_id)
        ledger_after = (
            s.scalar(select(func.count()).select_from(LedgerTransaction)),
            s.scalar(select(func.sum(LedgerEntry.amount).filter(LedgerEntry.amount > 0))),
        )
        assert ledger_after == ledger_before and ledger_before[0] == 1
        assert s.get_one(ErasureRequest, pending.id).status == "done"
    assert not world.photo.exists()
    # The customer's session and tokens ended with their data.
    assert client.get("/my/privacy").status_code == 303
    bearer = f.bearer(settings, customer)
    assert client.get(f"/api/v1/customers/{world.customer_id}", headers=bearer).status_code == 401


def test_only_admins_confirm_and_a_request_is_decided_once(
    client: TestClient, db: Database, world: World
) -> None:
    _ask(client, db)
    with db.session() as s:
        request_id = s.scalars(select(ErasureRequest.id)).one()
        agent = f.user(s, role="agent").username
    staff = TestClient(client.app)
    staff.follow_redirects = False
    log_in(staff, agent, "/tickets")
    assert staff.get("/privacy/erasures").status_code == 403
    token = staff_csrf(staff, "/tickets")
    refused = staff.post(f"/privacy/erasures/{request_id}/confirm", data={"csrf_token": token})
    assert refused.status_code == 403
    with db.session() as s:
        assert s.get_one(Customer, world.customer_id).phone == PHONE

    admin = TestClient(client.app)
    admin.follow_redirects = False
    log_in(admin, world.admin, "/privacy/erasures")
    token = staff_csrf(admin, "/privacy/erasures")
    declined = admin.post(
        f"/privacy/erasures/{request_id}/reject",
        data={"csrf_token": token, "note": "有未完成的维修"},
    )
    assert declined.status_code == 303
    late = admin.post(f"/privacy/erasures/{request_id}/confirm", data={"csrf_token": token})
    assert late.status_code == 303
    assert "该申请已处理" in admin.get("/privacy/erasures").text
    with db.session() as s:
        assert s.get_one(Customer, world.customer_id).phone == PHONE
    # The customer reads why.
    assert "有未完成的维修" in client.get("/my/privacy").text
