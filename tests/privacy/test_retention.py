"""Retention: each kind of personal data goes once it is older than its period. The clock is
moved by passing `now`; nothing sleeps."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from portal.accounts.models import LoginAttempt
from portal.config import Settings
from portal.conversations.models import Message
from portal.customers.models import CodeAttempt, Customer, OneTimeCode
from portal.database import Database, utcnow
from portal.dispatch.models import EngineerPosition
from portal.notifications.models import Notification
from portal.privacy.models import ErasureRequest
from portal.privacy.retention import Retention, purge
from portal.tickets.models import Ticket, TicketAttachment
from portal.wechat.models import WeChatDeliveryFailure, WeChatFollower
from portal.workers.scheduler import make_retention_pass
from tests.portal import factories as f

NOTHING = Retention(
    transcripts=None,
    photos=None,
    one_time_codes=None,
    login_attempts=None,
    wechat_followers=None,
    logs=None,
    closed_customers=None,
)


def test_periods_come_from_the_settings_and_zero_keeps_forever() -> None:
    settings = Settings(_env_file=None, retention_transcript_days=0, retention_otp_hours=36)
    retention = Retention.from_settings(settings)
    assert retention.transcripts is None
    assert retention.one_time_codes == timedelta(hours=36)
    # The daily code caps count the last 24 hours: a shorter period would reset them.
    with pytest.raises(ValidationError):
        Settings(_env_file=None, retention_otp_hours=6)
    assert retention.closed_customers == timedelta(days=settings.retention_closed_customer_days)


def test_one_time_codes_and_login_attempts(db: Database, tmp_path: Path) -> None:
    now = utcnow()
    with db.session() as s:
        for age in (timedelta(hours=30), timedelta(hours=2)):
            s.add(
                OneTimeCode(
                    phone="13800138000",
                    purpose="sign_in",
                    code_hash="x",
                    expires_at=now - age + timedelta(minutes=5),
                    created_at=now - age,
                )
            )
            s.add(CodeAttempt(phone="13800138000", requester="ip:10.0.0.9", created_at=now - age))
        for age in (timedelta(days=91), timedelta(days=10)):
            s.add(
                LoginAttempt(username="admin", ip="10.0.0.1", succeeded=False, created_at=now - age)
            )
    retention = replace(
        NOTHING, one_time_codes=timedelta(hours=24), login_attempts=timedelta(days=90)
    )
    with db.session() as s:
        done = purge(s, retention=retention, now=now, uploads=tmp_path)
    assert done == {"one_time_codes": 1, "code_attempts": 1, "login_attempts": 1}
    with db.session() as s:
        assert [
            c.created_at > now - timedelta(hours=3) for c in s.scalars(select(OneTimeCode))
        ] == [True]
        assert len(s.scalars(select(LoginAttempt)).all()) == 1
        # Nothing else is due: a second pass removes nothing.
        assert purge(s, retention=retention, now=now, uploads=tmp_path) == {}


def test_wechat_followers(db: Database, tmp_path: Path) -> None:
    now = utcnow()
    old = now - timedelta(days=200)
    with db.session() as s:
        s.add(WeChatFollower(openid="oGone", subscribed=False, unsubscribed_at=old, created_at=old))
        s.add(
            WeChatFollower(
                openid="oQuiet",
                subscribed=True,
                last_contact_at=old,
                created_at=old,
                bind_state="code",
                bind_phone="13800138000",
                visit_address="张杨路500号",
            )
        )
        s.add(
            WeChatFollower(
                openid="oActive", last_contact_at=now, created_at=old, bind_phone="13900000000"
            )
        )
        s.add(
            WeChatDeliveryFailure(
                openid="oQuiet", reason="window_closed", text="您的工单", created_at=old
            )
        )
    with db.session() as s:
        done = purge(
            s,
            retention=replace(NOTHING, wechat_followers=timedelta(days=180)),
            now=now,
            uploads=tmp_path,
        )
    assert done == {
        "wechat_followers": 1,
        "wechat_follower_state": 1,
        "wechat_delivery_failures": 1,
    }
    with db.session() as s:
        followers = {w.openid: w for w in s.scalars(select(WeChatFollower))}
        assert set(followers) == {"oQuiet", "oActive"}
        quiet = followers["oQuiet"]
        assert (quiet.bind_phone, quiet.visit_address, quiet.bind_state) == ("", "", "")
        assert followers["oActive"].bind_phone == "13900000000"
        assert s.scalars(select(WeChatDeliveryFailure)).all() == []


def test_transcripts_and_photos(db: Database, settings: Settings) -> None:
    uploads = settings.uploads_path
    now = utcnow()
    with db.session() as s:
        customer = f.customer(s)
        old_chat = f.conversation(
            s, customer_id=customer.id, last_message_at=now - timedelta(days=400)
        )
        new_chat = f.conversation(s, customer_id=customer.id, last_message_at=now)
        for chat in (old_chat, new_chat):
            s.add(
                Message(
                    conversation_id=chat.id,
                    direction="in",
                    author="customer",
                    text="电话13800138000",
                )
            )
        over = f.ticket(s, customer=customer, actions=("cancel",))
        running = f.ticket(s, customer=customer)
        old_photo = f.attachment(s, ticket=over, root=uploads)
        kept_photo = f.attachment(s, ticket=running, root=uploads)
        over.updated_at = now - timedelta(days=800)
        paths = (uploads / old_photo.storage_key, uploads / kept_photo.storage_key)
        old_chat_id = old_chat.id
    assert all(p.exists() for p in paths)
    retention = replace(NOTHING, transcripts=timedelta(days=365), photos=timedelta(days=730))
    with db.session() as s:
        done = purge(s, retention=retention, now=now, uploads=uploads)
    assert done == {"transcript_messages": 1, "photos": 1}
    assert not paths[0].exists() and paths[1].exists()
    with db.session() as s:
        texts = {m.conversation_id: m.text for m in s.scalars(select(Message))}
        assert texts[old_chat_id] == "" and sorted(texts.values()) == ["", "电话13800138000"]
        assert len(s.scalars(select(TicketAttachment)).all()) == 1


def test_closed_customers_are_anonymised(db: Database, settings: Settings) -> None:
    now = utcnow() + timedelta(days=1100)
    with db.session() as s:
        gone = f.customer(s, name="旧客户")
        f.ticket(s, customer=gone, actions=("cancel",))
        waiting = f.customer(s, name="等待上门")
        f.ticket(s, customer=waiting)  # still open, however old
        gone_id, waiting_id = gone.id, waiting.id
    retention = replace(NOTHING, closed_customers=timedelta(days=1095))
    with db.session() as s:
        done = purge(s, retention=retention, now=now, uploads=settings.uploads_path)
    assert done == {"closed_customers": 1}
    with db.session() as s:
        assert s.get_one(Customer, gone_id).name == ""
        assert s.get_one(Customer, waiting_id).name == "等待上门"
        ticket = s.scalars(select(Ticket).where(Ticket.customer_id == gone_id)).one()
        assert ticket.phone == "" and ticket.status == "cancelled"
        record = s.scalars(select(ErasureRequest)).one()
        assert (record.customer_id, record.source, record.status) == (gone_id, "retention", "done")
        # Already anonymised: the next pass leaves it alone.
        assert purge(s, retention=retention, now=now, uploads=settings.uploads_path) == {}


def test_notifications_once_delivered_or_given_up(db: Database, tmp_path: Path) -> None:
    now = utcnow()
    old = now - timedelta(days=200)
    with db.session() as s:
        for key, status, at in (
            ("sent-old", "sent", old),
            ("failed-old", "failed", old),
            ("pending-old", "pending", old),  # still to deliver: never purged
            ("sent-new", "sent", now),
        ):
            s.add(
                Notification(
                    idempotency_key=key,
                    channel="sms",
                    recipient="13800138000",
                    template="ticket_status",
                    payload={"address": "张杨路500号"},
                    status=status,
                    created_at=at,
                )
            )
    retention = replace(NOTHING, notifications=timedelta(days=180))
    with db.session() as s:
        assert purge(s, retention=retention, now=now, uploads=tmp_path) == {"notifications": 2}
        left = {n.idempotency_key for n in s.scalars(select(Notification))}
    assert left == {"pending-old", "sent-new"}


def test_engineer_positions_older_than_the_period(db: Database, tmp_path: Path) -> None:
    """Where an engineer's phone last was is personal data too: kept only while it is useful."""
    now = utcnow()
    with db.session() as s:
        network = f.network(s)
        stale, fresh = f.engineer(s, network=network), f.engineer(s, network=network)
        for engineer, age in ((stale, timedelta(days=10)), (fresh, timedelta(hours=3))):
            s.add(
                EngineerPosition(
                    engineer_id=engineer.id, lat=31.2, lng=121.5, reported_at=now - age
                )
            )
        fresh_id = fresh.id
    with db.session() as s:
        done = purge(
            s, retention=replace(NOTHING, positions=timedelta(days=7)), now=now, uploads=tmp_path
        )
        assert done == {"engineer_positions": 1}
        assert [p.engineer_id for p in s.scalars(select(EngineerPosition))] == [fresh_id]
    settings = Settings(_env_file=None)
    assert Retention.from_settings(settings).positions == timedelta(
        days=settings.retention_position_days
    )


def test_log_files_not_written_to_within_the_period(tmp_path: Path, db: Database) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    now = utcnow()
    old, live, other = logs / "rasa.log", logs / "portal.log", logs / "notes.txt"
    for path in (old, live, other):
        path.write_text("2026-01-01 INFO started\n")
    stale = (now - timedelta(days=40)).timestamp()
    os.utime(old, (stale, stale))
    os.utime(other, (stale, stale))
    with db.session() as s:
        done = purge(
            s,
            retention=replace(NOTHING, logs=timedelta(days=30)),
            now=now,
            uploads=tmp_path,
            logs_dir=logs,
        )
    assert done == {"log_files": 1}
    assert not old.exists() and live.exists() and other.exists()


def test_the_scheduler_purges_once_per_interval(db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"retention_purge_interval_s": 3600.0})
    run = make_retention_pass(db, settings)
    now = utcnow()
    with db.session() as s:
        s.add(LoginAttempt(username="a", succeeded=False, created_at=now - timedelta(days=100)))
    assert run(now) == {"login_attempts": 1}
    with db.session() as s:
        s.add(LoginAttempt(username="b", succeeded=False, created_at=now - timedelta(days=100)))
    # Not due yet: the row waits for the next purge an hour later.
    assert run(now + timedelta(minutes=30)) == {}
    assert run(now + timedelta(minutes=61)) == {"login_attempts": 1}


def test_zero_keeps_forever(db: Database, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, retention_login_attempt_days=0)
    now = utcnow()
    with db.session() as s:
        s.add(LoginAttempt(username="a", succeeded=False, created_at=now - timedelta(days=5000)))
    with db.session() as s:
        assert (
            purge(s, retention=Retention.from_settings(settings), now=now, uploads=tmp_path).get(
                "login_attempts", 0
            )
            == 0
        )
        assert len(s.scalars(select(LoginAttempt)).all()) == 1
