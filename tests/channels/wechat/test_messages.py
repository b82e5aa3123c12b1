"""Captured WeChat payloads replayed through the real callback, hub and database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.tickets.models import Ticket
from portal.wechat.models import WeChatFollower
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import OPENID, SUCCESS, WeChatServer, fixture


def stored(db: Database, direction: str | None = None) -> list[Message]:
    with db.session() as session:
        stmt = select(Message).order_by(Message.id)
        if direction:
            stmt = stmt.where(Message.direction == direction)
        return list(session.scalars(stmt))


def follower(db: Database) -> WeChatFollower:
    with db.session() as session:
        return session.scalars(select(WeChatFollower).where(WeChatFollower.openid == OPENID)).one()


def test_text_message_runs_one_bot_turn_and_replies_passively(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    reply = wechat.reply(wechat.post(fixture("text.xml")))
    assert reply is not None
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_7f083739789a"
    assert reply["MsgType"] == "text"
    # Both bot messages in one passive reply; the quick reply as a tappable reply link.
    assert reply["Content"].startswith("收到：你好\n\n请选择产品\n")
    assert 'href="weixin://bizmsgmenu?msgmenucontent=洗衣机&msgmenuid=1"' in reply["Content"]
    assert len(fake_rasa.received) == 1
    assert fake_rasa.received[0]["metadata"] == {"channel": "wechat"}
    with db.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.channel, conversation.sender_id) == ("wechat", OPENID)
    inbound = stored(db, "in")
    assert [(m.text, m.channel_message_id) for m in inbound] == [("你好", "24800457617341234")]
    assert follower(db).last_contact_at is not None


def test_a_retried_message_is_one_turn(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    xml = fixture("text.xml")
    assert wechat.say(xml) is not None
    # WeChat retries with a new timestamp and nonce but the same MsgId.
    assert wechat.post(xml).text == SUCCESS
    assert wechat.post(xml).text == SUCCESS
    assert len(fake_rasa.received) == 1
    assert len(stored(db, "in")) == 1
    assert len(stored(db, "out")) == 2


def test_concurrent_retries_are_one_turn(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    xml = fixture("text.xml", MsgId="24800457617349999")
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _i: wechat.post(xml), range(6)))
    assert all(r.status_code == 200 for r in responses)
    assert sum(r.text != SUCCESS for r in responses) == 1
    assert len(fake_rasa.received) == 1
    assert len(stored(db, "in")) == 1


def test_event_retries_are_recognised_by_sender_and_time(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    first = wechat.say(fixture("event_subscribe.xml"))
    assert first is not None and "欢迎关注" in first
    assert wechat.post(fixture("event_subscribe.xml")).text == SUCCESS
    inbound = stored(db, "in")
    assert [m.channel_message_id for m in inbound] == [f"event:{OPENID}:1732415500"]
    assert len(stored(db, "out")) == 1
    # Same event, another CreateTime: a new event.
    again = fixture("event_subscribe.xml", CreateTime="1732419999")
    assert wechat.say(again) is not None
    assert fake_rasa.received == []


def test_subscribe_welcomes_and_invites_binding(wechat: WeChatServer, db: Database) -> None:
    text = wechat.say(fixture("event_subscribe_qrscene.xml"))
    assert text is not None and "欢迎关注" in text and "绑定" in text
    assert "msgmenucontent=绑定手机号" in text
    assert follower(db).subscribed
    assert "warranty_card" in stored(db, "in")[0].text


def test_unsubscribe_is_recorded_and_not_answered(wechat: WeChatServer, db: Database) -> None:
    assert wechat.say(fixture("event_subscribe.xml")) is not None
    assert wechat.post(fixture("event_unsubscribe.xml")).text == SUCCESS
    row = follower(db)
    assert not row.subscribed and row.unsubscribed_at is not None
    assert stored(db, "in")[-1].text == "（取消关注）"


def test_scan_is_recorded_and_welcomed(wechat: WeChatServer, db: Database) -> None:
    text = wechat.say(fixture("event_scan.xml"))
    assert text is not None and "欢迎" in text
    assert stored(db, "in")[0].text == "（扫码：warranty_card）"


@pytest.mark.parametrize(
    ("name", "title", "payload"),
    [
        ("event_click_repair.xml", "我要报修", "/report_fault"),
        ("event_click_progress.xml", "查进度", "/query_progress"),
        ("event_click_faq.xml", "常见问题", "/ask_faq"),
    ],
)
def test_menu_clicks_become_bot_intents(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa, name: str, title: str, payload: str
) -> None:
    assert wechat.say(fixture(name)) is not None
    assert [r["message"] for r in fake_rasa.received] == [payload]
    assert stored(db, "in")[0].text == title
    assert wechat.post(fixture(name)).text == SUCCESS  # the retry
    assert len(fake_rasa.received) == 1


def test_the_agent_menu_reaches_the_queue_without_the_bot(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    """联系客服 is a request for a person: the hub queues it whatever the bot would say."""
    assert wechat.say(fixture("event_click_agent.xml")) is not None
    assert fake_rasa.received == []
    assert stored(db, "in")[0].text == "联系客服"
    with db.session() as session:
        assert session.scalars(select(Conversation.state)).one() == "waiting"
    assert wechat.post(fixture("event_click_agent.xml")).text == SUCCESS  # the retry


def test_tapped_quick_reply_sends_its_payload(wechat: WeChatServer, fake_rasa: FakeRasa) -> None:
    wechat.say(fixture("text.xml"))  # the bot offers [洗衣机]
    wechat.say(fixture("text_menu_reply.xml"))
    assert fake_rasa.received[-1]["message"] == '/inform{"product":"洗衣机"}'
    # A typed "洗衣机" (no bizmsgmenuid) is just text.
    wechat.say(fixture("text.xml", Content="洗衣机", MsgId="24800457617345679"))
    assert fake_rasa.received[-1]["message"] == "洗衣机"


def test_voice_with_recognition_is_a_text_turn(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    assert wechat.say(fixture("voice.xml")) is not None
    assert [r["message"] for r in fake_rasa.received] == ["空调不制冷了。"]
    assert stored(db, "in")[0].text == "空调不制冷了。"


def test_voice_without_recognition_asks_again(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    text = wechat.say(fixture("voice_unrecognised.xml"))
    assert text is not None and "没听清" in text
    assert fake_rasa.received == []


def test_unsupported_kinds_are_answered(wechat: WeChatServer, fake_rasa: FakeRasa) -> None:
    text = wechat.say(fixture("video.xml"))
    assert text is not None and "暂不支持" in text
    assert fake_rasa.received == []


def test_a_location_report_offers_the_address_once(wechat: WeChatServer, db: Database) -> None:
    """The location event (上报地理位置) offers the place as the visit address, as a location
    message does; the reports that follow while the offer waits stay quiet."""
    offer = wechat.say(fixture("event_location.xml"))
    assert offer is not None and "31.230416,121.473701" in offer and "用这个地址" in offer
    again = fixture("event_location.xml", CreateTime="1732416000")
    assert wechat.post(again).text == SUCCESS
    assert [m.direction for m in stored(db)] == ["in", "out"]
    assert wechat.say(fixture("text.xml", Content="是的", MsgId="24800457617340001")) is not None
    assert follower(db).visit_address == "31.230416,121.473701"


def _file_ticket(portal: TestClient, db: Database, bot_headers: dict[str, str]) -> str:
    with db.session() as session:
        public_id = session.scalars(select(Conversation.public_id)).one()
    response = portal.post(
        "/api/v1/tickets",
        json={
            "type": "repair",
            "product": "空调",
            "fault_description": "不制冷",
            "phone": "13912345678",
            "channel": "wechat",
            "conversation_id": public_id,
        },
        headers={**bot_headers, "Idempotency-Key": "wechat-test-1"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def test_location_becomes_the_visit_address_when_agreed(
    wechat: WeChatServer,
    portal: TestClient,
    db: Database,
    fake_rasa: FakeRasa,
    bot_headers: dict[str, str],
) -> None:
    wechat.say(fixture("voice.xml"))
    number = _file_ticket(portal, db, bot_headers)  # as the bot does, without an address
    offer = wechat.say(fixture("location.xml"))
    assert offer is not None and "上海市黄浦区人民大道200号" in offer and "上门" in offer
    assert "msgmenucontent=用这个地址" in offer
    agreed = wechat.say(fixture("text.xml", Content="是", MsgId="24800457617350010"))
    assert agreed is not None and number in agreed
    with db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.address == "上海市黄浦区人民大道200号"
    row = follower(db)
    assert row.visit_address == "上海市黄浦区人民大道200号" and row.offered_address == ""
    assert str(row.visit_lat) == "31.230416"
    assert [r["message"] for r in fake_rasa.received] == ["空调不制冷了。"]  # no bot turns


def test_location_is_not_used_when_declined(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    wechat.say(fixture("location.xml"))
    declined = wechat.say(fixture("text.xml", Content="不用", MsgId="24800457617350011"))
    assert declined is not None and "不使用" in declined
    assert follower(db).visit_address == ""
    # Later yes-words are ordinary messages for the bot.
    wechat.say(fixture("text.xml", Content="是", MsgId="24800457617350012"))
    assert fake_rasa.received[-1]["message"] == "是"


def test_a_ticket_filed_after_agreeing_gets_the_address(
    wechat: WeChatServer, portal: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    wechat.say(fixture("location.xml"))
    wechat.say(fixture("text.xml", Content="好的", MsgId="24800457617350013"))
    number = _file_ticket(portal, db, bot_headers)
    wechat.say(fixture("text.xml", Content="谢谢", MsgId="24800457617350014"))  # next turn
    with db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.address == "上海市黄浦区人民大道200号"


def test_replies_cannot_break_out_of_cdata(wechat: WeChatServer, fake_rasa: FakeRasa) -> None:
    evil = "hi]]></Content><ToUserName><![CDATA[someone_else]]></ToUserName><Content><![CDATA["
    reply = wechat.reply(wechat.post(fixture("text.xml", Content="x")))  # warm up
    assert reply is not None
    reply = wechat.reply(
        wechat.post(
            fixture("text.xml", MsgId="24800457617350020").replace(
                "<![CDATA[你好]]>", "<![CDATA[" + evil.replace("]]>", "]]]]><![CDATA[>") + "]]>"
            )
        )
    )
    assert reply is not None
    assert reply["ToUserName"] == OPENID
    assert reply["Content"].startswith("收到：" + evil)
    assert fake_rasa.received[-1]["message"] == evil  # the customer's text, intact


def test_nothing_is_stored_twice_under_load(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    xmls = [fixture("text.xml", MsgId=str(24800457617360000 + i)) for i in range(5)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(wechat.post, xmls + xmls))
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
        ids = session.scalars(select(Message.channel_message_id).where(Message.direction == "in"))
        assert sorted(ids) == sorted(str(24800457617360000 + i) for i in range(5))
    assert len(fake_rasa.received) == 5


def test_unknown_menu_keys_are_answered_not_sent_to_the_bot(
    wechat: WeChatServer, db: Database, fake_rasa: FakeRasa
) -> None:
    xml = fixture("event_click_repair.xml", EventKey="MENU_RETIRED")
    text = wechat.say(xml)
    assert text is not None and "暂时不可用" in text
    assert stored(db, "in")[0].text == "（点击菜单：MENU_RETIRED）"
    assert fake_rasa.received == []
