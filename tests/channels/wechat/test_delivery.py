"""The 5-second rule, the 48-hour window, and failures kept for staff instead of dropped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from channels.base import ChannelMessage
from portal.config import Settings
from portal.conversations import service as conversations
from portal.database import Database, utcnow
from portal.main import create_app
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.wechat.flows import mount
from portal.wechat.models import WeChatDeliveryFailure, WeChatFollower
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import OPENID, SUCCESS, WeChatServer, fixture


class SlowRasa(FakeRasa):
    """FakeRasa that takes `delay` seconds per turn, or fails when `broken`."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.broken = False

    async def slow_handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhooks/rest/webhook":
            await asyncio.sleep(self.delay)
        return self.handler(request)


@pytest.fixture
def slow_rasa() -> SlowRasa:
    return SlowRasa(delay=1.0)


@pytest.fixture
def slow_portal(wechat_settings: Settings, slow_rasa: SlowRasa) -> Iterator[TestClient]:
    """The portal with a bot slower than the passive-reply window (0.3 s here)."""
    settings = wechat_settings.model_copy(update={"wechat_passive_reply_s": 0.3})
    app = create_app(settings, http_transport=httpx.MockTransport(slow_rasa.slow_handler))
    with TestClient(app) as client:
        yield client


def failures(db: Database) -> list[WeChatDeliveryFailure]:
    with db.session() as session:
        return list(
            session.scalars(select(WeChatDeliveryFailure).order_by(WeChatDeliveryFailure.id))
        )


def test_a_slow_turn_answers_success_at_once_and_replies_later(
    slow_portal: TestClient, fake_wechat: FakeWeChatApi, slow_rasa: SlowRasa, db: Database
) -> None:
    wechat = WeChatServer(slow_portal, api=fake_wechat)
    # The first request of a fresh app pays for its start-up; time a warm one.
    slow_portal.get("/channels/wechat", params={**wechat.query(), "echostr": "warm"})
    started = time.monotonic()
    response = wechat.post(fixture("text.xml"))
    assert response.text == SUCCESS
    assert time.monotonic() - started < 0.9  # answered before the bot finished
    # Each reply the turn stored goes out from the outbox as a customer-service message.
    first, second = fake_wechat.wait_for_sent(2)
    assert {first["touser"], second["touser"]} == {OPENID}
    assert first["msgtype"] == second["msgtype"] == "text"
    assert first["text"]["content"] == "收到：你好"
    assert second["text"]["content"].startswith("请选择产品")
    assert fake_wechat.token_calls == 1
    # WeChat retries after 5 s when it had no answer; here it had one, but a late retry of
    # the same message changes nothing.
    assert wechat.post(fixture("text.xml")).text == SUCCESS
    # The barrier: the follower's next message, answered after the retry; by the time its
    # answer has gone out, the retry reached the bot no more and was answered no more.
    later = fixture("text.xml", Content="在吗", MsgId="24800457617341235")
    assert wechat.post(later).text == SUCCESS
    answered = [m["text"]["content"] for m in fake_wechat.wait_for_sent(4)]  # two a turn
    assert answered[2] == "收到：在吗" and answered.count("收到：你好") == 1
    assert [r["message"] for r in slow_rasa.received] == ["你好", "在吗"]

    def rows() -> list[tuple[str, bool]]:
        with db.session() as session:
            return [
                (n.status, n.claimed_by.startswith("portal-wechat@"))
                for n in session.scalars(
                    select(Notification).where(Notification.channel == "wechat_reply")
                )
            ]

    # WeChat has a message before the outbox records it sent: wait for the records.
    deadline = time.monotonic() + 10
    while any(status != "sent" for status, _ in rows()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows() == [("sent", True)] * 4 and len(fake_wechat.sent) == 4


def test_a_fast_turn_replies_passively_and_sends_nothing_later(
    portal: TestClient, wechat: WeChatServer, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    assert wechat.say(fixture("text.xml")) is not None
    with db.session() as session:
        replies = session.scalars(
            select(Notification).where(Notification.channel == "wechat_reply")
        ).all()
        assert replies and {(n.status, n.claimed_by) for n in replies} == {("sent", "passive")}
    # The barrier: an agent's message, due at once, stored and sent after the turn; once it
    # has gone out, it is the only thing the outbox ever sent the follower.
    channel = portal.app.state.wechat  # type: ignore[attr-defined]
    app_db = portal.app.state.db  # type: ignore[attr-defined]
    with app_db.session() as session:
        conversation = conversations.get_or_open(session, channel="wechat", sender_id=OPENID)
        stored = conversations.add_message(
            session, conversation=conversation, direction="out", author="agent", text="在吗"
        )
        assert stored is not None
        message = conversations.to_channel_message(stored, conversation)
    asyncio.run(channel.push.send(message))  # the hub's sender: look now
    assert [m["text"]["content"] for m in fake_wechat.wait_for_sent(1)] == ["在吗"]
    assert fake_wechat.token_calls == 1  # fetched for the agent's message, not before


def test_a_failing_hub_still_answers_success(
    wechat_settings: Settings, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    class BrokenHub:
        async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
            raise RuntimeError("database on fire")

        async def history(self, **_: object) -> list[ChannelMessage]:
            return []

    app = FastAPI()
    mount(app, settings=wechat_settings, db=db, hub=BrokenHub())
    with TestClient(app) as client:
        # Not a 500: WeChat would retry and then show "该公众号暂时无法提供服务".
        assert WeChatServer(client).post(fixture("text.xml")).text == SUCCESS


def test_api_errors_are_kept_for_staff(
    slow_portal: TestClient,
    fake_wechat: FakeWeChatApi,
    db: Database,
    staff: dict[str, str],
) -> None:
    fake_wechat.send_errors.append(
        {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
    )
    assert WeChatServer(slow_portal, api=fake_wechat).post(fixture("text.xml")).text == SUCCESS
    deadline = time.monotonic() + 10
    while not failures(db) and time.monotonic() < deadline:
        time.sleep(0.05)
    [failure] = failures(db)
    assert (failure.reason, failure.errcode, failure.openid) == ("api_error", 45015, OPENID)
    assert failure.text.startswith("收到：你好") and failure.conversation_id is not None
    with db.session() as session:
        [note] = session.scalars(
            select(Notification).where(Notification.template == "wechat_send_failed")
        ).all()
        assert note.channel == "portal" and note.recipient.startswith("user:")
    token = slow_portal.post("/api/v1/auth/token", data=staff).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    listed = slow_portal.get("/api/v1/wechat/failures", headers=headers).json()
    assert [(f["reason"], f["errcode"]) for f in listed] == [("api_error", 45015)]
    done = slow_portal.post(f"/api/v1/wechat/failures/{failure.id}/resolve", headers=headers)
    assert done.status_code == 200 and done.json()["resolved_by"].startswith("user:")
    assert slow_portal.get("/api/v1/wechat/failures", headers=headers).json() == []
    assert slow_portal.get("/api/v1/wechat/failures").status_code == 401


def _push(portal: TestClient, text: str = "工程师明天上午到") -> bool:
    channel = portal.app.state.wechat  # type: ignore[attr-defined]
    message = ChannelMessage(
        channel="wechat", sender_id=OPENID, text=text, direction="out", author="agent"
    )
    return bool(channel.push.send_now([message]))


def test_agent_messages_go_out_within_48_hours(
    wechat: WeChatServer, portal: TestClient, fake_wechat: FakeWeChatApi
) -> None:
    wechat.say(fixture("text.xml"))
    assert _push(portal)
    assert fake_wechat.texts() == ["工程师明天上午到"]


def test_the_48_hour_window_is_respected(
    wechat: WeChatServer,
    portal: TestClient,
    fake_wechat: FakeWeChatApi,
    db: Database,
    staff: dict[str, str],
) -> None:
    wechat.say(fixture("text.xml"))
    with db.session() as session:
        session.execute(
            update(WeChatFollower).values(last_contact_at=utcnow() - timedelta(hours=48, minutes=1))
        )
    assert not _push(portal)
    assert fake_wechat.sent == []  # WeChat was not even asked
    [failure] = failures(db)
    assert failure.reason == "window_closed" and failure.text == "工程师明天上午到"
    with db.session() as session:
        note = session.scalars(select(Notification)).all()[-1]
        zh, en = render(note.template, note.payload)
        assert note.template == "wechat_send_failed" and "48小时" in zh and "48-hour" in en
    # The customer writes again: the window reopens.
    wechat.say(fixture("text.xml", MsgId="24800457617399999"))
    assert _push(portal)


def test_the_agents_typing_follows_the_same_rules(
    wechat: WeChatServer, portal: TestClient, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    push = portal.app.state.wechat.push  # type: ignore[attr-defined]
    assert not push.typing_now(OPENID, True)  # never wrote: outside the window
    wechat.say(fixture("text.xml"))
    assert push.typing_now(OPENID, True) and push.typing_now(OPENID, False)
    assert fake_wechat.typing == [(OPENID, "Typing"), (OPENID, "CancelTyping")]
    with db.session() as session:
        session.execute(
            update(WeChatFollower).values(last_contact_at=utcnow() - timedelta(hours=49))
        )
    assert not push.typing_now(OPENID, True)
    assert len(fake_wechat.typing) == 2
    # A hint, not a message: nothing is kept for staff.
    assert failures(db) == []


def test_nothing_goes_to_followers_who_left(
    wechat: WeChatServer, portal: TestClient, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    wechat.say(fixture("text.xml"))
    wechat.post(fixture("event_unsubscribe.xml"))
    assert not _push(portal)
    assert fake_wechat.sent == [] and failures(db)[0].reason == "unsubscribed"


def test_unknown_followers_are_outside_the_window(
    portal: TestClient, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    assert not _push(portal)
    assert fake_wechat.sent == [] and failures(db)[0].reason == "window_closed"


def test_unreachable_api_is_kept_for_staff(
    wechat_settings: Settings, fake_rasa: FakeRasa, db: Database
) -> None:
    settings = wechat_settings.model_copy(
        update={"wechat_api_base_url": "http://127.0.0.1:9/cgi-bin/", "notify_timeout_s": 1.0}
    )
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        WeChatServer(client).say(fixture("text.xml"))
        assert not _push(client)
    assert failures(db)[0].reason == "unreachable"


def test_a_refused_token_is_refreshed_once_and_the_call_retried(
    wechat: WeChatServer, portal: TestClient, fake_wechat: FakeWeChatApi
) -> None:
    wechat.say(fixture("text.xml"))
    assert _push(portal, "一")
    fake_wechat.invalidate_token()  # e.g. someone fetched a token with the same secret
    assert _push(portal, "二")
    assert fake_wechat.texts() == ["一", "二"] and fake_wechat.token_calls == 2


def test_the_sender_is_registered_with_a_hub_that_takes_senders(
    wechat_settings: Settings, db: Database
) -> None:
    class HubWithSenders:
        def __init__(self) -> None:
            self.senders: dict[str, object] = {}

        def register_sender(self, channel: str, send: object) -> None:
            self.senders[channel] = send

        async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
            return []

        async def history(self, **_: object) -> list[ChannelMessage]:
            return []

    hub = HubWithSenders()
    channel = mount(FastAPI(), settings=wechat_settings, db=db, hub=hub)
    assert channel is not None and hub.senders == {"wechat": channel.push.send}


def test_the_menu_can_be_published(
    portal: TestClient, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    from portal.accounts.models import User
    from portal.security import hash_password

    with db.session() as session:
        session.add(
            User(
                username="root",
                display_name="管理员",
                password_hash=hash_password("pw-123456"),
                role="admin",
            )
        )
    token = portal.post(
        "/api/v1/auth/token", data={"username": "root", "password": "pw-123456"}
    ).json()["access_token"]
    response = portal.post("/api/v1/wechat/menu", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    [menu] = fake_wechat.menus  # the fake takes only what the platform takes
    assert [b["name"] for b in menu["button"]] == ["报修服务", "自助服务", "联系客服"]
    repair, selfservice, agent = menu["button"]
    assert [(b["name"], b["key"]) for b in repair["sub_button"]] == [
        ("我要报修", "MENU_REPAIR"),
        ("预约安装", "MENU_INSTALL"),
        ("查进度", "MENU_PROGRESS"),
        ("催单", "MENU_URGE"),
    ]
    assert [b["name"] for b in selfservice["sub_button"]][:2] == ["常见问题", "保修查询"]
    assert (agent["type"], agent["key"]) == ("click", "MENU_AGENT")


def test_an_agent_message_outside_the_window_is_kept_for_staff(
    portal: TestClient, fake_wechat: FakeWeChatApi, db: Database
) -> None:
    """What an agent says is stored with its outbox row; the loop finds the follower outside
    the 48-hour window, asks WeChat nothing, and keeps it for staff."""
    channel = portal.app.state.wechat  # type: ignore[attr-defined]
    app_db = portal.app.state.db  # type: ignore[attr-defined]
    with app_db.session() as session:
        conversation = conversations.get_or_open(session, channel="wechat", sender_id=OPENID)
        stored = conversations.add_message(
            session, conversation=conversation, direction="out", author="agent", text="在吗"
        )
        assert stored is not None
        message = conversations.to_channel_message(stored, conversation)
    asyncio.run(channel.push.send(message))  # the hub's sender: look now
    deadline = time.monotonic() + 10
    while not failures(db) and time.monotonic() < deadline:
        time.sleep(0.05)
    [failure] = failures(db)
    assert (failure.reason, failure.text) == ("window_closed", "在吗")
    assert fake_wechat.sent == []
    with db.session() as session:
        [row] = session.scalars(
            select(Notification).where(Notification.channel == "wechat_reply")
        ).all()
        assert row.status == "failed" and row.payload["message_id"] == stored.id
