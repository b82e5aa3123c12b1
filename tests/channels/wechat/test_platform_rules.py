"""WeChat as the platform behaves (issue 22): a passive reply that cannot be built still
answers `success`, the menu stays within the platform's limits and is built from settings,
plaintext mode warns and refuses a replayed nonce, and every reply to a follower is stored
with its outbox row in the same transaction."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels.base import ChannelMessage
from channels.wechat import Menu, MenuInvalid, MenuItem, default_menu
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Message
from portal.database import Database, utcnow
from portal.main import create_app
from portal.notifications.models import Notification
from portal.wechat.flows import menu_for, mount
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import AES_KEY, OPENID, SUCCESS, WeChatServer, fixture

# A lone surrogate: fine in a Python string, but no encoding can write it.
UNWRITABLE = "工程师明天到\ud800"


class UnwritableHub:
    """A hub whose reply cannot be encoded (as a reply with a broken character would be)."""

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        return [
            ChannelMessage(
                channel="wechat",
                sender_id=message.sender_id,
                text=UNWRITABLE,
                direction="out",
                author="agent",
            )
        ]

    async def history(self, **_: object) -> list[ChannelMessage]:
        return []


@pytest.mark.parametrize("aes_key", ["", AES_KEY], ids=["plaintext", "safe"])
def test_a_passive_reply_that_cannot_be_built_answers_success(
    wechat_settings: Settings, db: Database, aes_key: str
) -> None:
    settings = wechat_settings.model_copy(update={"wechat_aes_key": aes_key})
    app = FastAPI()
    mount(app, settings=settings, db=db, hub=UnwritableHub())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = WeChatServer(client, aes_key=aes_key).post(fixture("text.xml"))
    # Not a 500: WeChat would retry and then show "该公众号暂时无法提供服务".
    assert (response.status_code, response.text) == (200, SUCCESS)


# ---------------------------------------------------------------- the menu


def test_a_fourth_top_level_button_is_refused_before_anything_is_sent() -> None:
    four = Menu(tuple(MenuItem(title=f"菜单{i}", key=f"K{i}") for i in range(4)))
    with pytest.raises(MenuInvalid, match="top-level"):
        four.definition()


@pytest.mark.parametrize(
    ("menu", "reason"),
    [
        (Menu((MenuItem(title="报修服务中心", key="K"),)), "4 Chinese"),
        (
            Menu(
                (
                    MenuItem(
                        title="更多",
                        children=tuple(MenuItem(f"项{i}", key=f"K{i}") for i in range(6)),
                    ),
                )
            ),
            "5 sub-buttons",
        ),
        (
            Menu((MenuItem(title="更多", children=(MenuItem("这是一个太长的子菜单", key="K"),)),)),
            "8 Chinese",
        ),
        (Menu((MenuItem(title="我的工单", url="/my"),)), "absolute"),
        (Menu((MenuItem(title="报修", key="K" * 129),)), "128 bytes"),
        (Menu((MenuItem(title="报修"),)), "either a click key or a URL"),
    ],
)
def test_the_menu_is_checked_against_the_platforms_limits(menu: Menu, reason: str) -> None:
    with pytest.raises(MenuInvalid, match=reason):
        menu.validate()


def test_the_built_in_menu_is_within_the_limits_and_links_my_tickets() -> None:
    menu = default_menu("https://service.example.com")
    definition = menu.definition()
    assert [b["name"] for b in definition["button"]] == ["报修服务", "自助服务", "联系客服"]
    mine = definition["button"][1]["sub_button"][2]
    assert mine == {"type": "view", "name": "我的工单", "url": "https://service.example.com/my"}
    assert menu.by_key("MENU_URGE") == MenuItem(
        title="催单", key="MENU_URGE", payload="/urge_progress"
    )


def test_the_menu_comes_from_settings(
    wechat_settings: Settings, fake_rasa: FakeRasa, db: Database
) -> None:
    custom = {
        "button": [
            {"name": "报修", "key": "MY_REPAIR", "payload": "/report_fault"},
            {"type": "view", "name": "官网", "url": "/my"},
        ]
    }
    settings = wechat_settings.model_copy(
        update={"wechat_menu": json.dumps(custom), "public_url": "https://s.example.com"}
    )
    assert menu_for(settings).definition()["button"][1]["url"] == "https://s.example.com/my"
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        click = fixture("event_click_repair.xml", EventKey="MY_REPAIR")
        assert WeChatServer(client).say(click) is not None
    assert [r["message"] for r in fake_rasa.received] == ["/report_fault"]
    bad = settings.model_copy(
        update={"wechat_menu": json.dumps({"button": [custom["button"][0]] * 4})}
    )
    with pytest.raises(MenuInvalid):
        create_app(bad, http_transport=httpx.MockTransport(fake_rasa.handler))


# ---------------------------------------------------------------- plaintext mode


def test_plaintext_mode_warns_at_start_up(
    wechat_settings: Settings, fake_rasa: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.wechat.adapter"):
        create_app(wechat_settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    assert any("plaintext mode" in r.getMessage() for r in caplog.records)
    caplog.clear()
    safe = wechat_settings.model_copy(update={"wechat_aes_key": AES_KEY})
    with caplog.at_level(logging.WARNING, logger="channels.wechat.adapter"):
        create_app(safe, http_transport=httpx.MockTransport(fake_rasa.handler))
    assert not any("plaintext mode" in r.getMessage() for r in caplog.records)


def test_a_captured_query_string_cannot_carry_another_body(
    wechat: WeChatServer, portal: TestClient, fake_rasa: FakeRasa
) -> None:
    query = wechat.query()
    first = portal.post("/channels/wechat", params=query, content=fixture("text.xml").encode())
    assert first.status_code == 200
    # Someone who saw that request replays its signed query with a body of their own.
    forged = fixture("text.xml", Content="取消工单", MsgId="24800457617300666")
    replay = portal.post("/channels/wechat", params=query, content=forged.encode())
    assert replay.status_code == 403
    assert [r["message"] for r in fake_rasa.received] == ["你好"]


# ---------------------------------------------------------------- the outbox


def test_a_message_to_a_follower_and_its_outbox_row_share_one_transaction(
    portal: TestClient,
) -> None:
    app_db: Database = portal.app.state.db  # type: ignore[attr-defined]

    def rows() -> int:
        with app_db.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.channel == "wechat_reply")
                )
                or 0
            )

    with pytest.raises(RuntimeError), app_db.session() as session:
        conversation = conversations.get_or_open(session, channel="wechat", sender_id=OPENID)
        conversations.add_message(
            session, conversation=conversation, direction="out", author="agent", text="您好"
        )
        assert rows() == 0  # not visible outside the transaction yet
        raise RuntimeError("the portal dies before the commit")
    assert rows() == 0  # neither the message nor its row
    with app_db.session() as session:
        conversation = conversations.get_or_open(session, channel="wechat", sender_id=OPENID)
        stored = conversations.add_message(
            session, conversation=conversation, direction="out", author="agent", text="您好"
        )
        assert stored is not None
    assert rows() == 1


# ---------------------------------------------------------------- exactly once


class CrashingRasa(FakeRasa):
    """FakeRasa whose first turn dies with the process's state (an error nothing catches)."""

    def __init__(self) -> None:
        super().__init__()
        self.crashes = 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webhooks/rest/webhook" and self.crashes:
            self.crashes -= 1
            raise RuntimeError("the worker died here")
        return super().handler(request)


def test_a_turn_lost_between_the_mark_and_the_bot_is_answered_on_the_retry(
    wechat_settings: Settings, db: Database
) -> None:
    rasa = CrashingRasa()
    settings = wechat_settings.model_copy(
        update={"wechat_turn_recover_s": 30.0, "outbox_poll_s": 120.0}
    )
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler))
    desk = app.state.wechat.desk
    with TestClient(app) as client:
        server = WeChatServer(client)
        xml = fixture("text.xml", Content="热水器不出热水", MsgId="24800457617300777")
        # The message is stored and its turn marked; the bot's answer is lost.
        assert server.post(xml).text == SUCCESS
        # WeChat retries at once: the first delivery may still be at work, so the retry is
        # answered `success` and the mark stays for the recovery.
        assert server.post(xml).text == SUCCESS
        with db.session() as session:
            [mark] = session.scalars(
                select(Notification).where(Notification.channel == "wechat_turn")
            ).all()
            assert mark.status == "pending"
        # The recovery period passes on the desk's clock, stepped instead of waited for.
        later = timedelta(seconds=settings.wechat_turn_recover_s + 1)
        desk.clock = lambda: utcnow() + later
        # A retry once the mark is due takes the turn over and answers it, passively.
        assert server.say(xml) == "收到：热水器不出热水\n\n请选择产品\n" + (
            '<a href="weixin://bizmsgmenu?msgmenucontent=洗衣机&msgmenuid=1">洗衣机</a>'
        )
    assert [r["message"] for r in rasa.received] == ["热水器不出热水"]
    with db.session() as session:
        texts = session.scalars(
            select(Message.text).where(Message.direction == "in").order_by(Message.id)
        ).all()
        assert texts == ["热水器不出热水"]
        [mark] = session.scalars(
            select(Notification).where(Notification.channel == "wechat_turn")
        ).all()
        assert mark.status == "sent"
