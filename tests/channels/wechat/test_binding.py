"""Binding a WeChat follower to a customer by phone and one-time code, in the chat."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from portal.conversations.models import Conversation
from portal.customers.models import ChannelIdentity, Customer, OneTimeCode
from portal.database import Database
from portal.notifications.models import Notification
from portal.wechat.models import WeChatFollower
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import OPENID, SUCCESS, WeChatServer, fixture

PHONE = "13912345678"
_ids = itertools.count(24800457617370000)


def text(content: str, msg_id: int | None = None) -> str:
    return fixture("text.xml", Content=content, MsgId=str(msg_id or next(_ids)))


def sent_code(db: Database, phone: str = PHONE) -> str:
    """The code as the SMS outbox holds it (what the customer's phone receives)."""
    with db.session() as session:
        notification = session.scalars(
            select(Notification)
            .where(Notification.template == "one_time_code", Notification.recipient == phone)
            .order_by(Notification.id.desc())
        ).first()
        assert notification is not None
        return str(notification.payload["code"])


def bind(wechat: WeChatServer, db: Database, phone: str = PHONE) -> str | None:
    assert "手机号" in (wechat.say(text("绑定")) or "")
    assert "验证码已发送" in (wechat.say(text(phone)) or "")
    return wechat.say(text(sent_code(db, phone)))


def test_binding_by_phone_and_code(wechat: WeChatServer, db: Database, fake_rasa: FakeRasa) -> None:
    welcome = wechat.say(fixture("event_subscribe.xml"))
    assert welcome is not None and "绑定" in welcome
    asked = wechat.say(text("绑定"))
    assert asked is not None and "11位手机号" in asked
    assert "格式不正确" in (wechat.say(text("123")) or "")
    sent = wechat.say(text("139 1234 5678"))
    assert sent is not None and "139****5678" in sent and "服务器日志" in sent  # demo hint
    code = sent_code(db)
    wrong = "000000" if code != "000000" else "111111"
    assert "验证码错误" in (wechat.say(text(wrong)) or "")
    assert "6位验证码" in (wechat.say(text("不知道")) or "")
    done_id = next(_ids)
    done = wechat.say(text(code, done_id))
    assert done is not None and "绑定成功" in done and "139****5678" in done
    with db.session() as session:
        customer = session.scalars(select(Customer).where(Customer.phone == PHONE)).one()
        assert customer.wechat_openid == OPENID
        identity = session.scalars(select(ChannelIdentity)).one()
        assert (identity.channel, identity.external_id) == ("wechat", OPENID)
        assert identity.customer_id == customer.id
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.customer_id == customer.id
        row = session.scalars(select(WeChatFollower)).one()
        assert row.bind_state == "" and row.bind_phone == ""
        record = session.scalars(select(OneTimeCode)).one()
        assert record.used_at is not None and record.attempts == 2
    # The retry of the code message acts no more, and nothing reached the bot.
    assert wechat.post(text(code, done_id)).text == SUCCESS
    assert fake_rasa.received == []
    # Bound: the welcome now names the phone.
    again = wechat.say(fixture("event_subscribe.xml", CreateTime="1732499999"))
    assert again is not None and "139****5678" in again and "欢迎回来" in again


def test_phone_numbers_outside_binding_go_to_the_bot(
    wechat: WeChatServer, fake_rasa: FakeRasa, db: Database
) -> None:
    wechat.say(text(PHONE))
    assert fake_rasa.received[-1]["message"] == PHONE
    with db.session() as session:
        assert session.scalars(select(OneTimeCode)).first() is None


def test_binding_can_be_cancelled(wechat: WeChatServer, db: Database, fake_rasa: FakeRasa) -> None:
    wechat.say(text("绑定"))
    assert "已取消" in (wechat.say(text("取消")) or "")
    wechat.say(text("你好"))
    assert fake_rasa.received[-1]["message"] == "你好"


def test_codes_are_rate_limited_in_chat(wechat: WeChatServer, db: Database) -> None:
    wechat.say(text("绑定"))
    wechat.say(text(PHONE))
    wechat.say(text("绑定"))
    assert "1分钟后再试" in (wechat.say(text(PHONE)) or "")


def test_rebinding_moves_the_openid(wechat: WeChatServer, db: Database) -> None:
    assert "绑定成功" in (bind(wechat, db) or "")
    assert "已绑定手机号 139****5678" in (wechat.say(text("换绑")) or "")
    assert "验证码已发送" in (wechat.say(text("13800138000")) or "")
    assert "绑定成功" in (wechat.say(text(sent_code(db, "13800138000"))) or "")
    with db.session() as session:
        owners = dict(session.execute(select(Customer.phone, Customer.wechat_openid)).all())
        assert owners == {PHONE: None, "13800138000": OPENID}
        identity = session.scalars(select(ChannelIdentity)).one()
        customer = session.get(Customer, identity.customer_id)
        assert customer is not None and customer.phone == "13800138000"


def test_an_agreed_location_is_saved_when_binding(wechat: WeChatServer, db: Database) -> None:
    wechat.say(fixture("location.xml"))
    hint = wechat.say(text("是"))
    assert hint is not None and "绑定手机号后" in hint
    done = bind(wechat, db)
    assert done is not None and "已保存到您的资料" in done
    with db.session() as session:
        customer = session.scalars(select(Customer).where(Customer.phone == PHONE)).one()
        [address] = customer.addresses
        assert address.detail == "上海市黄浦区人民大道200号" and address.is_default
        assert str(address.lat) == "31.230416"


def test_a_bound_customer_agreeing_gets_the_address_saved(
    wechat: WeChatServer, db: Database
) -> None:
    bind(wechat, db)
    wechat.say(fixture("location.xml"))
    wechat.say(text("确认"))
    with db.session() as session:
        customer = session.scalars(select(Customer).where(Customer.phone == PHONE)).one()
        assert [a.detail for a in customer.addresses] == ["上海市黄浦区人民大道200号"]
