"""Delivery through the real clients to local fakes: wechatpy to a fake WeChat API, httpx to a
fake SMS provider; retries with exponential backoff, permanent failures, expired claims, the
idempotency key on every request, and concurrent workers that never share a claim."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from channels.base import ChannelMessage
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import Database, utcnow
from portal.notifications import service
from portal.notifications.delivery import Outbox, build_senders
from portal.notifications.models import Notification
from portal.tickets.models import Ticket
from portal.wechat.flows import build_api
from portal.wechat.models import WeChatAccessToken
from tests.notifications.fakes import SMS_ACCOUNTS, FakeSms, FakeWeChat, serving
from tests.portal import factories as f
from tests.sla.support import open_ticket

OPENID = "oFake-openid-123"


class Clock:
    """The outbox's wall clock, stepped by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def until(self, moment: datetime) -> None:
        """Step just past `moment`."""
        self.now = max(self.now, moment + timedelta(milliseconds=1))


@pytest.fixture
def wechat() -> Iterator[FakeWeChat]:
    """A fake WeChat API on the loopback."""
    with serving(FakeWeChat()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def sms() -> Iterator[FakeSms]:
    """A fake SMS provider on the loopback."""
    with serving(FakeSms()) as fake:
        yield fake  # type: ignore[misc]


def settings_for(db: Database, wechat: FakeWeChat, sms: FakeSms, **kw: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url=db.url,
        demo_mode=False,
        wechat_app_id="wx-test-app",
        wechat_app_secret="wx-test-secret",
        wechat_api_base_url=f"{wechat.url}/cgi-bin/",
        # The 受理 kind's template (ticket_created, ticket_accepted): keyword fields only.
        wechat_templates=json.dumps(
            {
                "accepted": {
                    "id": "tpl-status-update",
                    "keywords": {"character_string1": "number", "phrase2": "status_label"},
                }
            }
        ),
        sms_url=f"{sms.url}/send",
        sms_api_key="sms-test-key",
        sms_api_secret=SMS_ACCOUNTS["sms-test-key"],
        notify_timeout_s=5,
        **kw,
    )


def outbox(db: Database, settings: Settings, name: str = "w1", **kw: Any) -> Outbox:
    box = Outbox.from_settings(db, settings, worker=name, senders=build_senders(settings, db=db))
    for key, value in kw.items():
        setattr(box, key, value)
    return box


def one(db: Database, template: str, channel: str) -> Notification:
    with db.session() as s:
        return s.scalars(
            select(Notification).where(
                Notification.template == template, Notification.channel == channel
            )
        ).one()


def created_text(db: Database, number: str) -> str:
    """The creation notice, which tells the customer the ticket's check code."""
    with db.session() as s:
        code = s.scalars(select(Ticket.check_code).where(Ticket.number == number)).one()
    assert len(code) == 6 and code.isdigit()
    return (
        f"您的服务工单 {number} 已提交，校验码 {code}（查询或修改工单时使用，请勿告诉他人），"
        "我们会尽快受理。"
    )


def wechat_ticket(db: Database) -> str:
    """Open a ticket for a customer bound to WeChat; returns its number."""
    with db.session() as s:
        return open_ticket(s, customer=f.customer(s, wechat_openid=OPENID)).number


def another_ticket(db: Database) -> None:
    """Open one more ticket for the customer bound to WeChat."""
    with db.session() as s:
        bound = s.scalars(select(Customer).where(Customer.wechat_openid == OPENID)).one()
        open_ticket(s, customer=bound)


def test_a_template_message_goes_through_wechatpy_to_the_api(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    number = wechat_ticket(db)
    stats = outbox(db, settings_for(db, wechat, sms)).deliver_once()
    assert (stats.claimed, stats.sent) == (1, 1)
    note = one(db, "ticket_created", "wechat")
    assert (note.status, note.attempts, note.last_error) == ("sent", 1, "")
    assert note.sent_at is not None and note.lease_until is None
    token, send = wechat.received
    assert token.path == "/cgi-bin/token"
    assert token.query["appid"] == ["wx-test-app"] and token.query["secret"] == ["wx-test-secret"]
    assert send.path == "/cgi-bin/message/template/send"
    assert send.query["access_token"] == ["fake-token-1"]
    assert send.body["touser"] == OPENID and send.body["template_id"] == "tpl-status-update"
    # Since WeChat's 2023 template change only keyword fields show: no first, no remark.
    assert send.body["data"] == {
        "character_string1": {"value": number},
        "phrase2": {"value": "待受理"},
    }
    assert created_text(db, number)  # the check code goes in the SMS text, not a template
    # The idempotency key travels as WeChat's client_msg_id and as a header.
    assert send.body["client_msg_id"] == note.idempotency_key
    assert send.headers["idempotency-key"] == note.idempotency_key


def test_template_and_customer_service_messages_share_one_token(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    settings = settings_for(db, wechat, sms)
    wechat_ticket(db)
    # The outbox worker's sender and the WeChat channel's push each build their own client,
    # as they do in their own processes; the token they use lives in the database.
    assert outbox(db, settings).deliver_once().sent == 1
    channel_api = build_api(settings, db)
    assert channel_api is not None
    channel_api.send([ChannelMessage(channel="wechat", sender_id=OPENID, text="工程师已出发")])
    another_ticket(db)
    assert outbox(db, settings, "w2").deliver_once().sent == 1
    assert len(wechat.token_requests()) == 1
    template_1, custom, template_2 = wechat.deliveries()
    assert custom.path == "/cgi-bin/message/custom/send"
    assert custom.body["text"]["content"] == "工程师已出发"
    assert {r.query["access_token"][0] for r in (template_1, custom, template_2)} == {
        "fake-token-1"
    }
    with db.session() as s:
        stored = s.get(WeChatAccessToken, "wx-test-app")
        assert stored is not None and stored.access_token == "fake-token-1"


def test_a_refused_token_is_refreshed_once_for_everyone(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    settings = settings_for(db, wechat, sms)
    wechat_ticket(db)
    assert outbox(db, settings).deliver_once().sent == 1
    # WeChat forgets the token (someone fetched one elsewhere): the next send is refused
    # once, the client refreshes through the shared cache and the retry goes out.
    wechat.script = [(200, {"errcode": 40001, "errmsg": "invalid credential"})]
    channel_api = build_api(settings, db)
    assert channel_api is not None
    channel_api.send([ChannelMessage(channel="wechat", sender_id=OPENID, text="您好")])
    assert len(wechat.token_requests()) == 2
    refused, retried = wechat.deliveries()[1:]
    assert refused.query["access_token"] == ["fake-token-1"]
    assert retried.query["access_token"] == ["fake-token-2"]
    another_ticket(db)
    assert outbox(db, settings, "w2").deliver_once().sent == 1
    assert wechat.deliveries()[-1].query["access_token"] == ["fake-token-2"]
    assert len(wechat.token_requests()) == 2


def test_server_errors_are_retried_with_exponential_backoff(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    wechat.script = [(500, {}), (502, {}), (503, {})]
    wechat_ticket(db)
    clock = Clock()
    box = outbox(db, settings_for(db, wechat, sms), backoff_s=30, backoff_max_s=600, clock=clock)
    due = []
    for attempt, backoff in ((1, 30), (2, 60), (3, 120)):
        failed_at = clock()
        stats = box.deliver_once()
        assert (stats.claimed, stats.retrying) == (1, 1), attempt
        note = one(db, "ticket_created", "wechat")
        assert (note.status, note.attempts) == ("pending", attempt)
        assert note.last_error.startswith("wechat HTTP 5")
        # The retry is due `backoff` after the failure.
        assert note.next_attempt_at == failed_at + timedelta(seconds=backoff)
        due.append(note.next_attempt_at)
        # Not due yet, even a moment before: nothing to claim.
        clock.now = note.next_attempt_at - timedelta(milliseconds=1)
        assert box.deliver_once().claimed == 0
        clock.until(note.next_attempt_at)
    assert box.deliver_once().sent == 1
    note = one(db, "ticket_created", "wechat")
    assert (note.status, note.attempts, note.last_error) == ("sent", 4, "")
    keys = wechat.keys()
    assert len(keys) == 4 and set(keys) == {note.idempotency_key}
    # Exponential: each wait twice the one before.
    assert [b - a for a, b in zip(due, due[1:], strict=False)][0] >= timedelta(seconds=60)


def test_wechat_error_codes_busy_is_retried_unsubscribed_is_final(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    wechat.script = [
        (200, {"errcode": -1, "errmsg": "system error"}),
        (200, {"errcode": 43004, "errmsg": "require subscribe"}),
    ]
    wechat_ticket(db)
    clock = Clock()
    box = outbox(db, settings_for(db, wechat, sms), backoff_s=5, clock=clock)
    assert box.deliver_once().retrying == 1
    clock.advance(10)
    assert box.deliver_once().failed == 1
    note = one(db, "ticket_created", "wechat")
    assert note.status == "failed" and note.attempts == 2
    assert "43004" in note.last_error
    clock.advance(3600)
    assert box.deliver_once().claimed == 0  # failed is final


def test_it_gives_up_after_the_last_attempt(db: Database, wechat: FakeWeChat, sms: FakeSms) -> None:
    wechat.script = [(500, {})] * 5
    wechat_ticket(db)
    clock = Clock()
    box = outbox(db, settings_for(db, wechat, sms), backoff_s=2, max_attempts=3, clock=clock)
    outcomes: Counter[str] = Counter()
    for _ in range(3):
        stats = box.deliver_once()
        outcomes.update(retrying=stats.retrying, failed=stats.failed)
        clock.advance(60)
    assert outcomes == Counter(retrying=2, failed=1)
    assert one(db, "ticket_created", "wechat").status == "failed"
    assert len(wechat.deliveries()) == 3


def test_sms_carries_key_and_credentials_and_4xx_is_final(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    sms.script = [(503, {}), (200, {"status": "queued"}), (400, {"error": "bad phone"})]
    with db.session() as s:
        customer = f.customer(s)
        number = open_ticket(s, customer=customer).number
        service.enqueue(
            s,
            key="otp:test",
            channel="sms",
            recipient="13900000000",
            template="one_time_code",
            payload={"code": "123456", "minutes": 5},
        )
    clock = Clock()
    box = outbox(db, settings_for(db, wechat, sms), backoff_s=5, clock=clock)
    first = box.deliver_once()
    assert (first.claimed, first.retrying, first.failed + first.sent) == (2, 1, 1)
    clock.advance(10)
    box.deliver_once()
    created = one(db, "ticket_created", "sms")
    otp = one(db, "one_time_code", "sms")
    assert {created.status, otp.status} == {"sent", "failed"}
    by_key = {r.body["reference"]: r for r in sms.deliveries()}
    request = by_key[created.idempotency_key]
    assert request.path == "/send" and request.body["to"] == f"+86{customer.phone}"
    assert request.body["text"] == created_text(db, number)
    assert request.body["sign_name"] == "售后服务"
    assert request.headers["x-sms-key"] == "sms-test-key"
    assert request.headers["idempotency-key"] == created.idempotency_key
    code = by_key["otp:test"].body["text"]
    assert code == "您的验证码是 123456，5 分钟内有效，请勿告诉他人。"


def _one_sms(db: Database, recipient: str, text: str) -> None:
    with db.session() as s:
        service.enqueue(
            s,
            key=f"sms:{recipient}:{len(text)}",
            channel="sms",
            recipient=recipient,
            template="plain",
            payload={"text": text, "text_en": text},
        )


def test_the_gateway_refuses_a_wrong_signature_for_good(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    _one_sms(db, "139 0000 0001", "您的工单已受理")
    settings = settings_for(db, wechat, sms).model_copy(update={"sms_api_secret": "x" * 20})
    stats = outbox(db, settings).deliver_once()
    assert (stats.sent, stats.failed, stats.retrying) == (0, 1, 0)
    assert one(db, "plain", "sms").status == "failed"
    assert "401 bad_signature" in (one(db, "plain", "sms").last_error or "")
    # With the account's secret the same message goes through, the number in E.164.
    _one_sms(db, "+86 139-0000-0002", "您的工单已受理")
    assert outbox(db, settings_for(db, wechat, sms)).deliver_once().sent == 1
    assert [r.body["to"] for r in sms.deliveries()][-1] == "+8613900000002"


@pytest.mark.parametrize(
    ("recipient", "text", "why"),
    [
        ("021-64001234", "您的工单已受理", "not a mainland mobile number"),
        ("12345678901", "您的工单已受理", "not a mainland mobile number"),
        ("13900000003", "很" * 495, "over 500"),
    ],
)
def test_what_the_gateway_cannot_carry_fails_before_it_is_sent(
    db: Database, wechat: FakeWeChat, sms: FakeSms, recipient: str, text: str, why: str
) -> None:
    _one_sms(db, recipient, text)
    stats = outbox(db, settings_for(db, wechat, sms)).deliver_once()
    assert (stats.sent, stats.failed) == (0, 1)
    note = one(db, "plain", "sms")
    assert note.status == "failed" and why in (note.last_error or "")
    assert sms.deliveries() == []


def test_the_gateway_takes_the_longest_text_it_can_carry(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    _one_sms(db, "13900000004", "很" * (500 - len("【售后服务】")))
    assert outbox(db, settings_for(db, wechat, sms)).deliver_once().sent == 1


def test_a_claim_whose_worker_died_is_taken_over_after_its_lease(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    wechat_ticket(db)
    settings = settings_for(db, wechat, sms, outbox_lease_s=60.0)
    clock = Clock()
    dead = outbox(db, settings, name="dead", clock=clock)
    claimed = dead.claim()  # … and then the process is killed before it sends
    assert len(claimed) == 1
    note = one(db, "ticket_created", "wechat")
    assert (note.status, note.claimed_by, note.attempts) == ("sending", "dead", 1)
    assert note.lease_until is not None
    # While the lease holds, nobody else may take it …
    with db.session() as s:
        just_before = note.lease_until - timedelta(milliseconds=1)
        again = service.claim(
            s,
            channels={"wechat"},
            worker="alive",
            now=just_before,
            lease=timedelta(seconds=1),
            limit=5,
        )
        assert again == []
    # … once it has run out, the next worker delivers it.
    clock.until(note.lease_until)
    assert outbox(db, settings, name="alive", clock=clock).deliver_once().sent == 1
    note = one(db, "ticket_created", "wechat")
    assert (note.status, note.claimed_by, note.attempts) == ("sent", "alive", 2)
    assert wechat.keys() == [note.idempotency_key]


def test_racing_workers_never_share_a_claim(db: Database, wechat: FakeWeChat, sms: FakeSms) -> None:
    with db.session() as s:
        customer = f.customer(s, wechat_openid=OPENID)
        for i in range(30):
            service.enqueue(
                s,
                key=f"bulk:{i}",
                channel="wechat",
                recipient=customer.wechat_openid or "",
                template="ticket_created",
                payload={"number": f"SR-{i}"},
            )
    settings = settings_for(db, wechat, sms, outbox_batch=4)
    start = threading.Barrier(3)

    def work(i: int) -> None:
        box = outbox(db, settings, name=f"racer{i}")
        start.wait()
        while box.deliver_once().claimed:
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert Counter(wechat.keys()) == Counter({f"bulk:{i}": 1 for i in range(30)})
    with db.session() as s:
        rows = s.scalars(select(Notification)).all()
        assert {n.status for n in rows} == {"sent"} and {n.attempts for n in rows} == {1}


def test_a_worker_without_a_widget_sender_leaves_widget_rows_alone(
    db: Database, wechat: FakeWeChat, sms: FakeSms
) -> None:
    with db.session() as s:
        service.enqueue(
            s, key="w", channel="widget", recipient="v", template="ticket_accepted", payload={}
        )
    assert outbox(db, settings_for(db, wechat, sms)).deliver_once().claimed == 0


def test_demo_mode_only_logs(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    wechat_ticket(db)
    settings = Settings(_env_file=None, database_url=db.url, demo_mode=True)
    box = Outbox.from_settings(db, settings, worker="demo", senders=build_senders(settings, db=db))
    with caplog.at_level(logging.INFO, logger="portal.notifications.senders"):
        assert box.deliver_once().sent == 1
    assert "已提交" in caplog.text and OPENID in caplog.text
    # Outside demo mode an unconfigured channel fails instead of pretending.
    with db.session() as s:
        open_ticket(s)
    strict = Settings(_env_file=None, database_url=db.url, demo_mode=False)
    box = Outbox.from_settings(db, strict, worker="prod", senders=build_senders(strict, db=db))
    assert box.deliver_once().failed == 1
    assert one(db, "ticket_created", "sms").last_error == "sms is not configured"


def test_backoff_doubles_and_is_capped() -> None:
    waits = [service.backoff(n, base_s=10, max_s=300).total_seconds() for n in range(1, 8)]
    assert waits == [10, 20, 40, 80, 160, 300, 300]
    assert service.backoff(1, base_s=10, max_s=300) == timedelta(seconds=10)
