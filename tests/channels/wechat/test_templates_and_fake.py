"""Template messages, one per kind of notification, with their fallbacks (issue 22); and the
local WeChat fake refusing what the platform refuses, tested on its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from channels.wechat import MemoryTokenCache, WeChatApi
from portal.config import Settings
from portal.database import Database, utcnow
from portal.notifications import service
from portal.notifications.delivery import Outbox, build_senders
from portal.notifications.models import Notification
from portal.notifications.senders import parse_templates
from portal.wechat.models import WeChatFollower
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import APP_ID, OPENID, SECRET
from tests.portal import factories as f
from tests.sla.support import open_ticket

DISPATCH = "TPL_DISPATCH_9f2"
TEMPLATES = {
    "dispatched": {
        "id": DISPATCH,
        "keywords": {"character_string1": "number", "thing2": "engineer", "time3": "when"},
    }
}


@pytest.fixture
def fake() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as running:
        yield running


def api(fake: FakeWeChatApi) -> WeChatApi:
    return WeChatApi(APP_ID, SECRET, api_base_url=fake.base_url, tokens=MemoryTokenCache())


def errcode(call: object) -> int | None:
    try:
        call()  # type: ignore[operator]
    except WeChatClientException as exc:
        return int(exc.errcode) if exc.errcode is not None else None
    return 0


# ---------------------------------------------------------------- the fake's own rules


def test_the_fake_refuses_menus_the_platform_refuses(fake: FakeWeChatApi) -> None:
    client = api(fake)
    click = {"type": "click", "name": "报修", "key": "K"}
    assert errcode(lambda: client.menu.create({"button": [click] * 4})) == 40016
    many = {"name": "更多", "sub_button": [click] * 6}
    assert errcode(lambda: client.menu.create({"button": [many]})) == 40023
    long_name = {**click, "name": "售后报修服务"}  # 18 bytes
    assert errcode(lambda: client.menu.create({"button": [long_name]})) == 40018
    relative = {"name": "更多", "sub_button": [{"type": "view", "name": "我的工单", "url": "/my"}]}
    assert errcode(lambda: client.menu.create({"button": [relative]})) == 40027
    assert errcode(lambda: client.menu.create({"button": [{"name": "报修"}]})) == 40017
    assert fake.menus == []
    assert (
        errcode(lambda: client.menu.create({"button": [click, many | {"sub_button": [click]}]}))
        == 0
    )
    assert len(fake.menus) == 1


def test_the_fake_keeps_the_48_hour_window(fake: FakeWeChatApi) -> None:
    client = api(fake)
    assert errcode(lambda: client.message.send_text(OPENID, "在吗")) == 45015  # never wrote
    fake.interacted(OPENID, at=time.time() - 48 * 3600 - 60)
    assert errcode(lambda: client.message.send_text(OPENID, "在吗")) == 45015  # too long ago
    fake.interacted(OPENID)
    assert errcode(lambda: client.message.send_text(OPENID, "在吗")) == 0
    fake.unfollowed.add(OPENID)
    assert errcode(lambda: client.message.send_text(OPENID, "在吗")) == 45015
    assert fake.texts() == ["在吗"]


def test_the_fake_keeps_the_template_rules(fake: FakeWeChatApi) -> None:
    client = api(fake)
    fake.templates[DISPATCH] = ("character_string1", "thing2")
    data = {
        "first": {"value": "您好"},
        "character_string1": {"value": "SR20261206-0001"},
        "thing2": {"value": "张师傅"},
        "remark": {"value": "感谢"},
    }
    assert errcode(lambda: client.message.send_template(OPENID, "NO_SUCH", data)) == 40037
    too_long = {**data, "thing2": {"value": "一" * 21}}
    assert errcode(lambda: client.message.send_template(OPENID, DISPATCH, too_long)) == 47003
    assert errcode(lambda: client.message.send_template(OPENID, DISPATCH, data)) == 0
    # Only the keyword fields are shown: first and remark are gone since 2023.
    [shown] = fake.template_messages
    assert shown["shown"] == {"character_string1": "SR20261206-0001", "thing2": "张师傅"}
    assert sorted(r[1] for r in fake.refused) == [40037, 47003]


# ---------------------------------------------------------------- templates per kind


def test_template_settings_are_checked() -> None:
    assert parse_templates("") == {}
    assert parse_templates(json.dumps(TEMPLATES))["dispatched"].template_id == DISPATCH
    for bad, reason in [
        ('{"shipped": {"id": "x", "keywords": {"thing1": "number"}}}', "unknown kind"),
        ('{"dispatched": {"keywords": {"thing1": "number"}}}', "needs an id"),
        ('{"dispatched": {"id": "x", "keywords": {"first": "text"}}}', "not a keyword field"),
        ("[1", "not JSON"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_templates(bad)


def _deliver(db: Database, settings: Settings) -> None:
    box = Outbox.from_settings(db, settings, worker="w1", senders=build_senders(settings, db=db))
    box.deliver_once()


def _routes(db: Database) -> dict[str, tuple[str, str, str]]:
    with db.session() as session:
        return {
            n.template + ":" + n.channel: (n.status, n.recipient, n.payload.get("wechat_route", ""))
            for n in session.scalars(select(Notification).where(Notification.channel != "portal"))
        }


def test_each_kind_goes_as_its_template_else_customer_service_or_sms(
    db: Database, fake: FakeWeChatApi
) -> None:
    fake.templates[DISPATCH] = ("character_string1", "thing2", "time3")
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        demo_mode=True,  # SMS only logged
        wechat_app_id=APP_ID,
        wechat_app_secret=SECRET,
        wechat_api_base_url=fake.base_url,
        wechat_templates=json.dumps(TEMPLATES),
    )
    with db.session() as s:
        customer = f.customer(s, wechat_openid=OPENID)
        ticket = open_ticket(s, customer=customer)  # tells the customer: ticket_created
        ticket_id, number, phone = ticket.id, ticket.number, ticket.phone
    # ticket_created (受理) has no template here, and the follower never wrote: SMS.
    _deliver(db, settings)
    routes = _routes(db)
    assert routes["ticket_created:wechat"] == ("sent", OPENID, "sms")
    assert routes["ticket_created:sms"][1] == phone  # the same notice, by SMS
    # The follower writes (the 48-hour window opens); then two notifications.
    fake.interacted(OPENID)
    with db.session() as s:
        s.add(WeChatFollower(openid=OPENID, subscribed=True, last_contact_at=utcnow()))
        for template, key in (("engineer_assigned", "t:dispatch"), ("cancelled", "t:cancel")):
            service.enqueue(
                s,
                key=key,
                channel="wechat",
                recipient=OPENID,
                template=template,
                payload={
                    "number": number,
                    "engineer": "张师傅（空调与洗衣机维修组高级工程师，持证上岗）",
                    "when": "12-07 10:00",
                },
                ticket_id=ticket_id,
            )
    _deliver(db, settings)
    routes = _routes(db)
    assert routes["engineer_assigned:wechat"] == ("sent", OPENID, "template")
    assert routes["cancelled:wechat"] == ("sent", OPENID, "customer_service")
    [message] = fake.template_messages
    assert message["template_id"] == DISPATCH and message["client_msg_id"] == "t:dispatch"
    assert message["shown"] == {
        "character_string1": number,
        "thing2": "张师傅（空调与洗衣机维修组高级工程师，…",
        "time3": "12-07 10:00",
    }
    assert fake.texts() == [f"您的工单 {number} 已取消。"]
