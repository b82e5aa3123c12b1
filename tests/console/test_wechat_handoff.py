"""Human handoff over WeChat: a follower asks for a person from the menu, an agent accepts in
the console, the agent's words go out through the customer-service message API (the local
fake of WeChat's API), the follower's messages and photos reach only the agent, and ending
the chat gives the follower back to the bot. Every callback is signed as WeChat signs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.database import Database
from portal.wechat.models import WeChatFollower
from tests.channels.wechat.fake_api import FakeWeChatApi, Raw
from tests.channels.wechat.support import (
    APP_ID,
    OPENID,
    SECRET,
    SUCCESS,
    TOKEN,
    WeChatServer,
    fixture,
)
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    detail,
    hand_off,
    next_frame,
    public_id,
    token,
    wait_for,
)

MEDIA_ID = "e3Oy5mXx0Vf3kEw9bUkqkYZl2cF6tOa1QK1y8rjJ4Wn7hP8oTg2"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(512)


@pytest.fixture
def fake_wechat() -> Iterator[FakeWeChatApi]:
    """WeChat's API on a local port."""
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as fake:
        yield fake


@pytest.fixture
def wc(make_client: Callable[..., TestClient], fake_wechat: FakeWeChatApi) -> TestClient:
    """The portal with the official account on (plaintext mode) and fast handoff timings."""
    return make_client(
        wechat_token=TOKEN,
        wechat_app_id=APP_ID,
        wechat_app_secret=SECRET,
        wechat_api_base_url=fake_wechat.base_url,
    )


def text(content: str, msg_id: str) -> str:
    """A text message from the follower."""
    return fixture("text.xml", Content=content, MsgId=msg_id)


def sent_to_follower(fake: FakeWeChatApi, count: int) -> list[tuple[str, str]]:
    """(openid, text) of the first `count` customer-service messages, once they are out."""
    return [(m["touser"], m["text"]["content"]) for m in fake.wait_for_sent(count)[:count]]


def until(ws: Any, check: Callable[[dict[str, Any]], bool], limit: int = 50) -> dict[str, Any]:
    """Read console frames until one passes `check`."""
    for _ in range(limit):
        frame = ws.receive_json()
        if check(frame):
            return dict(frame)
    raise AssertionError("frame not received")


def customer_message(frame: dict[str, Any]) -> bool:
    return frame["type"] == "message" and frame["message"]["author"] == "customer"


def test_handoff_through_wechat(
    wc: TestClient, db: Database, rasa: TrackingRasa, fake_wechat: FakeWeChatApi
) -> None:
    server = WeChatServer(wc, api=fake_wechat)
    agent = add_agent(db, "li")
    headers = token(wc, "li")

    # The follower talks to the bot, then taps 人工客服 in the menu: the hub hands over
    # itself, whatever the bot would do, and the queue notice is the passive reply.
    first = server.say(text("洗衣机漏水", "24900000000000101"))
    assert first is not None and first.startswith("收到：洗衣机漏水")
    queued = server.say(fixture("event_click_agent.xml"))
    assert queued is not None and "排在第 1 位" in queued
    conversation = public_id(db, OPENID, channel="wechat")
    assert rasa.texts_from(conversation) == ["洗衣机漏水"]

    with wc.websocket_connect("/console/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        # The bot's own handoff call, should it come as well, changes nothing.
        hand_off(wc, conversation)
        assert next_frame(ws, "offer")["conversation"] == conversation

        accepted = wc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
        assert accepted.status_code == 204
        [(to, joined)] = sent_to_follower(fake_wechat, 1)
        assert to == OPENID and "客服坐席li为您服务" in joined
        asked = len(rasa.received)

        # While the agent has the chat, the follower's words go to the agent only: WeChat
        # gets `success` (no passive reply from the bot) and Rasa is not asked.
        response = server.post(text("底部一直在漏水", "24900000000000102"))
        assert response.status_code == 200 and response.text == SUCCESS
        said = until(ws, customer_message)
        assert said["conversation"] == conversation
        assert said["message"]["text"] == "底部一直在漏水"
        # A photo too, as our own copy the agent can open.
        fake_wechat.media[MEDIA_ID] = Raw(JPEG, "image/jpeg")
        assert server.post(fixture("image.xml")).text == SUCCESS
        photo = until(ws, customer_message)["message"]["image_url"]
        assert photo.startswith("/api/v1/console/attachments/")
        assert wc.get(photo, headers=headers).content == JPEG
        assert len(rasa.received) == asked, "Rasa heard nothing during the takeover"

        # The agent's typing shows in the follower's chat (客服输入状态).
        ws.send_json({"type": "typing", "conversation": conversation, "on": True})
        wait_for(lambda: fake_wechat.typing, what="the typing state")
        assert fake_wechat.typing == [(OPENID, "Typing")]

        # The agent answers over the console socket; it goes out as a customer-service text.
        reply = "您好，我是客服小李。请问漏水多久了？<b>不是标签</b>"
        ws.send_json(
            {"type": "send", "conversation": conversation, "text": reply, "client_id": "k1"}
        )
        assert next_frame(ws, "sent")["message"]["author"] == "agent"
        assert sent_to_follower(fake_wechat, 2)[1] == (OPENID, reply)
        [last] = fake_wechat.sent[1:2]
        assert last == {"touser": OPENID, "msgtype": "text", "text": {"content": reply}}

        # The agent ends the chat: the follower is told and asked for a rating.
        ended = wc.post(f"/api/v1/console/conversations/{conversation}/end", headers=headers)
        assert ended.status_code == 204
        closing = sent_to_follower(fake_wechat, 4)[2:]
        assert closing[0][1].startswith("本次人工服务已结束")
        assert closing[1][1].startswith("请为本次人工服务打分")
        # The scores as WeChat's tappable reply links; "5 分" is the first.
        assert "msgmenucontent=5 分&msgmenuid=1" in closing[1][1]
    assert len(rasa.received) == asked

    # Tapping "5 分" answers the rating (the hub, not the bot); then the bot is back.
    rating = fixture("text_menu_reply.xml", Content="5 分", MsgId="24900000000000103")
    assert server.say(rating) == "感谢您的评价！"
    back = server.say(text("还想问一下保修", "24900000000000104"))
    assert back is not None and back.startswith("收到：还想问一下保修")
    assert rasa.texts_from(conversation) == ["洗衣机漏水", "还想问一下保修"]
    assert [e for _s, e, _t in rasa.tracker_events] == ["pause", "resume"]

    shown = detail(wc, headers, conversation)
    assert shown["state"] == "bot" and shown["csat_score"] == 5 and shown["agent_id"] is None
    transcript = [(m["author"], m["text"]) for m in shown["messages"]]
    assert ("customer", "底部一直在漏水") in transcript and ("agent", reply) in transcript
    assert [e["kind"] for e in shown["events"]] == ["handoff", "accept", "end", "csat"]
    assert shown["events"][1]["actor"] == f"user:{agent}"
    # Everything that went to the follower went to this openid, once each.
    assert {m["touser"] for m in fake_wechat.sent} == {OPENID}
    assert len(fake_wechat.sent) == 4


def test_during_a_takeover_nothing_automatic_answers_and_the_agent_sees_everything(
    wc: TestClient, db: Database, rasa: TrackingRasa, fake_wechat: FakeWeChatApi
) -> None:
    """Issue 22: the desk's own automation (binding words, phone numbers, codes, 是 / 不用 to a
    pending location offer) stands aside while a person has the chat: each message reaches
    the agent live, and nothing automatic answers it."""
    server = WeChatServer(wc, api=fake_wechat)
    add_agent(db, "wang")
    headers = token(wc, "wang")
    # Before the takeover the follower shared a location: an offer waits for 是 / 不用.
    offer = server.say(fixture("location.xml"))
    assert offer is not None and "用这个地址" in offer
    assert server.say(fixture("event_click_agent.xml")) is not None  # 联系客服: queued
    conversation = public_id(db, OPENID, channel="wechat")
    with wc.websocket_connect("/console/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        accepted = wc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=headers)
        assert accepted.status_code == 204
        sent_before = len(sent_to_follower(fake_wechat, 1))
        # The agent asks 是洗衣机吗? The follower's 是的 is an answer to the agent, not to the
        # old location offer; 绑定, a phone number and a code are for the agent too.
        for n, said in enumerate(["是的", "绑定", "13912345678", "123456", "不用"], start=201):
            response = server.post(text(said, f"24900000000000{n}"))
            assert (response.status_code, response.text) == (200, SUCCESS), said
            frame = until(ws, customer_message)
            assert (frame["conversation"], frame["message"]["text"]) == (conversation, said)
    shown = detail(wc, headers, conversation)
    after_takeover = [
        (m["author"], m["text"]) for m in shown["messages"] if m["text"] in ("是的", "绑定")
    ]
    assert after_takeover == [("customer", "是的"), ("customer", "绑定")]
    # Nothing automatic answered: no system reply after the takeover, nothing sent but
    # the agent's greeting, and the offer was neither taken nor dropped.
    last_customer = max(i for i, m in enumerate(shown["messages"]) if m["author"] == "customer")
    assert [m for m in shown["messages"][last_customer:] if m["author"] == "system"] == []
    # Nothing went out either: the agent's own reply, sent after all of them, is the barrier;
    # once it has reached the follower it is the only message since the takeover.
    reply = "好的，我来处理"
    sent = wc.post(
        f"/api/v1/console/conversations/{conversation}/messages",
        json={"text": reply},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    delivered = fake_wechat.wait_for_sent(sent_before + 1)
    assert [m["text"]["content"] for m in delivered[sent_before:]] == [reply]
    with db.session() as session:
        follower = session.scalars(select(WeChatFollower)).one()
        assert follower.visit_address == "" and follower.offered_address != ""
        assert follower.bind_state == ""
