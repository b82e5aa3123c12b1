"""One-time codes are masked wherever staff read a transcript: the console's conversation and
queue, the staff conversation API and the bot's handoff summary. The customer's own history
keeps what they typed."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    detail,
    go_online,
    hand_off,
    next_frame,
    public_id,
    queue,
    say,
    token,
)

VISITOR = "visitor-masking000000001"
MASK = "••••••"
ASK_PHONE = "请告诉我您报修时留的手机号，我给这个号码发一条验证码，验证后就能查看您名下的工单。"
SENT = "验证码已发送到 138****8000，5 分钟内有效。请把短信里的 6 位数字发给我。"
WRONG = "验证码不对或已经过期。"


def _until_idle(ws: Any) -> None:
    while True:
        frame = ws.receive_json()
        if frame["type"] == "typing" and frame["on"] is False:
            return


def test_codes_are_masked_for_staff_and_kept_for_the_customer(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "mask")
    headers = token(hc, "mask")
    rasa.plan(
        [{"text": ASK_PHONE}],
        [{"text": SENT}],
        [{"text": WRONG}, {"text": "请把短信里的 6 位数字验证码发给我（没收到可以回复“重发”）。"}],
        [{"text": "验证成功，已为您绑定手机号 138****8000。"}],
    )
    typed = [
        "用验证码查进度",
        "13800138000",
        "123 456",
        "验证码是６５４３２１",
        "谢谢，654321 收到了",
    ]
    with hc.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}") as ws:
        assert ws.receive_json()["type"] == "history"
        for text in typed:
            ws.send_json({"type": "message", "text": text})
            _until_idle(ws)
    conversation = public_id(db, VISITOR, channel="web")
    hand_off(
        hc, conversation, summary="诉求：查询进度；最近消息：「123 456」 / 「验证码是６５４３２１」"
    )

    def customer_lines(messages: list[dict[str, Any]]) -> list[str]:
        return [m["text"] for m in messages if m["author"] == "customer"]

    # The agent was offered the chat and does not hold it: the number typed is masked too.
    expected = ["用验证码查进度", "138****8000", MASK, f"验证码是{MASK}", "谢谢，654321 收到了"]
    shown = detail(hc, headers, conversation)
    assert customer_lines(shown["messages"]) == expected
    assert (
        "123 456" not in shown["handoff_summary"] and "６５４３２１" not in shown["handoff_summary"]
    )
    assert MASK in shown["handoff_summary"]
    (item,) = queue(hc, headers)
    assert "123 456" not in item["summary"]
    api = hc.get(f"/api/v1/conversations/{conversation}", headers=headers)
    assert api.status_code == 200
    assert customer_lines(api.json()["messages"]) == expected

    # The customer's own history is what they typed.
    with hc.websocket_connect(f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}") as ws:
        history = ws.receive_json()
    assert [m["text"] for m in history["messages"] if m["direction"] == "in"] == typed


def test_a_code_typed_while_an_agent_watches_live_is_masked(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "live")
    headers = token(hc, "live")
    go_online(hc, headers)
    rasa.plan([{"text": SENT}])
    say(hc, "live-1", "查进度")
    conversation = public_id(db, "live-1")
    with hc.websocket_connect("/console/ws", headers=headers) as console:
        assert console.receive_json()["type"] == "hello"
        say(hc, "live-1", "123456")
        for _ in range(20):
            frame = console.receive_json()
            if frame["type"] == "live" and frame["item"]["public_id"] == conversation:
                break
        else:
            raise AssertionError("no live frame")
    # The live list shows the bot's reply that followed, never the code.
    assert "123456" not in str(frame)
    (live,) = [i for i in hc.get("/api/v1/console/live", headers=headers).json()]
    assert "123456" not in live["preview"]


def test_typed_phone_numbers_are_masked_in_the_lists_every_agent_sees(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    """The queue and the bot's live chats are shown to every agent, and a supervisor watches
    chats they do not hold: a number typed there is masked, as in the transcript; the agent
    who holds the chat sees it as typed."""
    add_agent(db, "watcher", supervisor=True)
    add_agent(db, "holder", max_chats=2)
    watcher, holder = token(hc, "watcher"), token(hc, "holder")
    go_online(hc, holder)
    # The bot repeats the number back: the live list's preview is its reply, masked too.
    rasa.plan([{"text": "已记下 13800138000"}])
    say(hc, "phone-1", "我的电话 13800138000")
    conversation = public_id(db, "phone-1")
    (live,) = hc.get("/api/v1/console/live", headers=watcher).json()
    assert "13800138000" not in live["preview"] and "138****8000" in live["preview"]
    hand_off(hc, conversation)
    say(hc, "phone-1", "快点 13700137000")
    (item,) = queue(hc, watcher)
    assert "13700137000" not in item["preview"] and "137****7000" in item["preview"]
    accepted = hc.post(f"/api/v1/console/conversations/{conversation}/accept", headers=holder)
    assert accepted.status_code == 204, accepted.text
    with hc.websocket_connect("/console/ws", headers=watcher) as console:
        assert console.receive_json()["type"] == "hello"
        say(hc, "phone-1", "再说一遍 13900139000")
        frame = next_frame(console, "message")
    assert frame["message"]["text"] == "再说一遍 139****9000"
    (chat,) = hc.get("/api/v1/console/chats", headers=holder).json()
    assert chat["preview"] == "再说一遍 13900139000"  # the holder's own chat: as typed


def test_a_tickets_check_code_is_the_customers_alone(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    """Found by a tester: the bot's "ticket filed, check code 198313" was shown in full to
    every agent. The check code proves the ticket: staff see it masked, the customer keeps it."""
    add_agent(db, "reader")
    headers = token(hc, "reader")
    filed = "工单 SR20261207-0007 已提交，校验码 198313（查询或修改工单时使用，请勿告诉他人）"
    rasa.plan([{"text": filed}])
    replies = say(hc, "check-1", "我要报修")
    assert replies[0]["text"] == filed  # the customer gets it
    conversation = public_id(db, "check-1")
    shown = detail(hc, headers, conversation)
    bot = [m for m in shown["messages"] if m["direction"] == "out"]
    assert bot and all("198313" not in (m["text"] + (m["html"] or "")) for m in bot)
    assert any(f"校验码 {MASK}" in m["text"] for m in bot)
    (live,) = hc.get("/api/v1/console/live", headers=headers).json()
    assert "198313" not in live["preview"]
    api = hc.get(f"/api/v1/conversations/{conversation}", headers=headers).json()
    assert "198313" not in str(api)
