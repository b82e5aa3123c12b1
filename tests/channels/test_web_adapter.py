"""The widget's WebSocket and catch-up route, against an in-memory hub."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from channels.base import Button, ChannelMessage
from channels.web import VisitorSockets, build_router
from knowledge_base import load_dir
from portal.config import ROOT
from tests.channels.widget_support import RecordingHub

VISITOR = "v0123456789abcdef0123456789abcdef"
OTHER = "v_other_visitor_0000000000000000"
FAQ = {e.id: e for e in load_dir(ROOT / "knowledge_base" / "faq").entries}
WARRANTY = FAQ["warranty-period-overview"].answer
# An FAQ answer an editor (or an attacker with an editor's password) wrote to run script.
HOSTILE_ANSWER = (
    '**注意** <script>window.__xss=1</script>\n- <img src=x onerror="window.__xss=2">\n'
    "- [点我](javascript:window.__xss=3)"
)


class FakeHub(RecordingHub):
    """Stores messages in a list and answers a few fixed phrases, like a tiny bot."""

    def __init__(self) -> None:
        super().__init__()
        self.typing: list[tuple[str, str, bool]] = []

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        self.received.append(message)
        said = message.extra.get("payload", message.text)
        if said == "/boom":
            raise RuntimeError("bot down")
        self.store(message)
        if said == "你好":
            return [
                self.reply(message, "您好，请问需要什么帮助？"),
                self.reply(
                    message,
                    "请选择：",
                    Button("查询保修", "/ask_warranty"),
                    Button("预约报修", "/report_fault"),
                ),
            ]
        if said == "/ask_warranty":
            return [self.reply(message, "空调整机保修 6 年。")]
        if said == "保修多久":
            return [self.reply(message, WARRANTY)]
        if said == "坏答案":
            return [self.reply(message, HOSTILE_ANSWER)]
        return [self.reply(message, f"您说：{message.text}")]

    async def customer_typing(self, *, channel: str, sender_id: str, on: bool) -> None:
        self.typing.append((channel, sender_id, on))


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def sockets() -> VisitorSockets:
    return VisitorSockets()


@pytest.fixture
def client(hub: FakeHub, sockets: VisitorSockets) -> TestClient:
    app = FastAPI()
    app.include_router(build_router(hub, site_keys=frozenset({"demo"}), sockets=sockets))

    @app.post("/test/push/{visitor_id}")
    async def push(visitor_id: str) -> dict[str, int]:
        """What the portal does when an agent answers: store, then push to open widgets."""
        agent = hub.store(
            ChannelMessage(
                channel="web",
                sender_id=visitor_id,
                text="我是客服小李",
                direction="out",
                author="agent",
            )
        )
        return {"delivered": await sockets.push(visitor_id, agent)}

    return TestClient(app)


def ws_url(visitor: str = VISITOR, site_key: str | None = "demo") -> str:
    query = f"visitor_id={visitor}"
    return (
        f"/channels/web/ws?{query}&site_key={site_key}" if site_key else f"/channels/web/ws?{query}"
    )


def turn_frames(ws: Any) -> list[dict[str, Any]]:
    """Every frame of one turn, up to and including typing off."""
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame == {"type": "typing", "on": False}:
            return frames


def test_history_on_connect_is_this_visitors_conversation(hub: FakeHub, client: TestClient) -> None:
    mine = hub.store(ChannelMessage(channel="web", sender_id=VISITOR, text="空调不制冷"))
    hub.reply(mine, "请提供型号", Button("不知道型号", "/no_model"))
    hub.store(ChannelMessage(channel="web", sender_id=OTHER, text="别人的消息"))
    hub.store(ChannelMessage(channel="wechat", sender_id=VISITOR, text="另一个渠道"))

    with client.websocket_connect(ws_url()) as ws:
        frame = ws.receive_json()

    assert frame["type"] == "history"
    assert [(m["direction"], m["text"]) for m in frame["messages"]] == [
        ("in", "空调不制冷"),
        ("out", "请提供型号"),
    ]
    out = frame["messages"][1]
    assert out["id"] == 2 and out["author"] == "bot"
    assert out["buttons"] == [{"title": "不知道型号", "payload": "/no_model"}]
    assert datetime.fromisoformat(out["created_at"]).tzinfo is not None


def test_message_round_trip_with_typing_and_echo(hub: FakeHub, client: TestClient) -> None:
    with client.websocket_connect(ws_url()) as ws:
        assert ws.receive_json() == {"type": "history", "messages": []}
        ws.send_json({"type": "message", "text": " 你好 ", "client_id": "c1"})
        frames = turn_frames(ws)

    assert [f["type"] for f in frames] == ["typing", "message", "message", "message", "typing"]
    assert frames[0] == {"type": "typing", "on": True}
    echo, first, second = frames[1:4]
    assert (echo["direction"], echo["text"], echo["client_id"]) == ("in", "你好", "c1")
    assert (first["direction"], first["author"], first["text"]) == (
        "out",
        "bot",
        "您好，请问需要什么帮助？",
    )
    assert first["id"] is not None and first["client_id"] is None
    assert second["buttons"] == [
        {"title": "查询保修", "payload": "/ask_warranty"},
        {"title": "预约报修", "payload": "/report_fault"},
    ]
    (sent,) = hub.received
    assert sent.channel == "web" and sent.sender_id == VISITOR and sent.direction == "in"
    assert sent.text == "你好" and sent.message_id == "c1" and sent.author == "customer"
    assert sent.extra == {"site_key": "demo"}


def test_quick_reply_payload_goes_to_the_hub_title_is_shown(
    hub: FakeHub, client: TestClient
) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "查询保修", "payload": "/ask_warranty"})
        frames = turn_frames(ws)

    (sent,) = hub.received
    assert sent.text == "查询保修"
    assert sent.extra["payload"] == "/ask_warranty"
    echo, reply = frames[1], frames[2]
    assert echo["text"] == "查询保修" and "payload" not in echo
    assert reply["text"] == "空调整机保修 6 年。"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        (json.dumps({"type": "subscribe"}), "bad_type"),
        (json.dumps({"type": "message"}), "empty_text"),
        (json.dumps({"type": "message", "text": "   \n "}), "empty_text"),
        (json.dumps({"type": "message", "text": "长" * 2001}), "too_long"),
        (json.dumps({"type": "message", "text": "x" * 20000}), "too_long"),
        (json.dumps({"type": "message", "text": 5}), "bad_field"),
        (json.dumps({"type": "message", "text": "hi", "client_id": "<bad id>"}), "bad_field"),
        (json.dumps({"type": "typing"}), "bad_field"),
        (json.dumps({"type": "typing", "on": "yes"}), "bad_field"),
    ],
)
def test_bad_frames_get_an_error_and_the_socket_stays_open(
    frame: str, code: str, hub: FakeHub, client: TestClient
) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_text(frame)
        error = ws.receive_json()
        ws.send_json({"type": "message", "text": "还在吗"})
        frames = turn_frames(ws)

    assert error["type"] == "error" and error["code"] == code
    assert error["message_zh"] and error["message_en"]
    assert [m.text for m in hub.received] == ["还在吗"]
    assert frames[2]["text"] == "您说：还在吗"


def test_typing_frames_go_to_the_hub_and_are_not_answered(hub: FakeHub, client: TestClient) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_json({"type": "typing", "on": True})
        ws.send_json({"type": "typing", "on": False})
        # Nothing comes back for them: the next frame is the answer to this ping.
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert hub.typing == [("web", VISITOR, True), ("web", VISITOR, False)]
    assert hub.received == [] and hub.messages == []


def test_typing_frames_over_the_limit_are_dropped_silently(hub: FakeHub) -> None:
    now = [0.0]
    app = FastAPI()
    app.include_router(build_router(hub, typing_rate_per_min=2, clock=lambda: now[0]))
    with TestClient(app).websocket_connect(ws_url(site_key=None)) as ws:
        ws.receive_json()
        for on in (True, False, True, False):
            ws.send_json({"type": "typing", "on": on})
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        now[0] += 30.0  # one token back
        ws.send_json({"type": "typing", "on": True})
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert [on for _c, _s, on in hub.typing] == [True, False, True]


def test_a_hub_without_typing_support_still_chats() -> None:
    class BareHub(FakeHub):
        customer_typing = None  # type: ignore[assignment]

    bare = BareHub()
    app = FastAPI()
    app.include_router(build_router(bare))
    with TestClient(app).websocket_connect(ws_url(site_key=None)) as ws:
        ws.receive_json()
        ws.send_json({"type": "typing", "on": True})
        ws.send_json({"type": "message", "text": "你好"})
        assert turn_frames(ws)[1]["text"] == "你好"


def test_text_of_exactly_2000_characters_is_accepted(hub: FakeHub, client: TestClient) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "长" * 2000})
        assert turn_frames(ws)[1]["direction"] == "in"


def test_binary_frame_and_ping(client: TestClient) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def test_hub_failure_is_reported_and_the_socket_stays_open(
    hub: FakeHub, client: TestClient
) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "出错", "payload": "/boom", "client_id": "c9"})
        frames = [ws.receive_json() for _ in range(3)]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}

    assert frames[0] == {"type": "typing", "on": True}
    assert frames[1] == {"type": "typing", "on": False}
    assert frames[2]["type"] == "error" and frames[2]["code"] == "hub_failed"
    assert frames[2]["client_id"] == "c9"


@pytest.mark.parametrize(
    "url",
    [
        ws_url(site_key="not-a-customer"),
        ws_url(site_key=None),
        ws_url(visitor="short"),
        ws_url(visitor="v" * 65),
        ws_url(visitor="v0123456789abcdef%3Cscript%3E"),
        "/channels/web/ws?site_key=demo",
    ],
)
def test_unknown_site_key_or_bad_visitor_is_refused_before_accept(
    url: str, hub: FakeHub, client: TestClient
) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url):
        pass
    assert refused.value.code == 1008


def test_without_site_keys_any_site_is_accepted(hub: FakeHub) -> None:
    app = FastAPI()
    app.include_router(build_router(hub))
    with TestClient(app).websocket_connect(ws_url(site_key=None)) as ws:
        assert ws.receive_json()["type"] == "history"


def test_other_tabs_of_the_visitor_see_the_whole_turn(client: TestClient) -> None:
    with (
        client.websocket_connect(ws_url()) as tab1,
        client.websocket_connect(ws_url()) as tab2,
        client.websocket_connect(ws_url(visitor=OTHER)) as stranger,
    ):
        for ws in (tab1, tab2, stranger):
            ws.receive_json()
        tab1.send_json({"type": "message", "text": "两个标签页", "client_id": "c2"})
        seen_by_1 = turn_frames(tab1)
        seen_by_2 = turn_frames(tab2)
        stranger.send_json({"type": "ping"})
        assert stranger.receive_json() == {"type": "pong"}  # nothing of the turn came first

    assert seen_by_1 == seen_by_2
    assert seen_by_2[1]["text"] == "两个标签页" and seen_by_2[1]["client_id"] == "c2"


def test_push_delivers_an_agent_message_to_open_widgets(client: TestClient) -> None:
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        response = client.post(f"/test/push/{VISITOR}")
        frame = ws.receive_json()

    assert response.json() == {"delivered": 1}
    assert (frame["direction"], frame["author"], frame["text"]) == ("out", "agent", "我是客服小李")
    assert frame["html"] is None  # what an agent types is shown as text
    assert client.post(f"/test/push/{VISITOR}").json() == {"delivered": 0}


def test_history_route_catches_up_after_an_id(hub: FakeHub, client: TestClient) -> None:
    first = hub.store(ChannelMessage(channel="web", sender_id=VISITOR, text="第一条"))
    hub.reply(first, "第二条")
    hub.store(ChannelMessage(channel="web", sender_id=OTHER, text="别人的"))

    everything = client.get(
        "/channels/web/history", params={"site_key": "demo", "visitor_id": VISITOR}
    )
    after = client.get(
        "/channels/web/history",
        params={"site_key": "demo", "visitor_id": VISITOR, "after_id": first.id},
    )

    assert everything.status_code == 200
    assert [m["text"] for m in everything.json()["messages"]] == ["第一条", "第二条"]
    assert [m["text"] for m in after.json()["messages"]] == ["第二条"]
    assert everything.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"site_key": "nope", "visitor_id": VISITOR}, 403),
        ({"visitor_id": VISITOR}, 403),
        ({"site_key": "demo", "visitor_id": "short"}, 422),
        ({"site_key": "demo", "visitor_id": VISITOR, "after_id": "-1"}, 422),
    ],
)
def test_history_route_refuses_bad_requests(
    params: dict[str, str], status: int, client: TestClient
) -> None:
    assert client.get("/channels/web/history", params=params).status_code == status


def test_a_bot_answer_comes_with_safe_html_what_the_customer_typed_does_not(
    client: TestClient,
) -> None:
    typed = "**急** <b>洗衣机</b> | 漏水 |"
    with client.websocket_connect(ws_url()) as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "保修多久", "client_id": "c1"})
        answer = turn_frames(ws)[2]
        ws.send_json({"type": "message", "text": typed, "client_id": "c2"})
        echo = turn_frames(ws)[1]
        ws.send_json({"type": "message", "text": "坏答案"})
        hostile = turn_frames(ws)[2]

    assert answer["text"] == WARRANTY  # the Markdown itself, for clients that want it
    assert "<strong>免上门费、工时费和配件费</strong>" in answer["html"]
    assert "<td>空调</td>\n<td>6 年</td>" in answer["html"] and "**" not in answer["html"]
    assert (echo["author"], echo["text"], echo["html"]) == ("customer", typed, None)
    assert "<strong>注意</strong>" in hostile["html"]
    assert "<script" not in hostile["html"] and "<img" not in hostile["html"]
    assert "&lt;script&gt;" in hostile["html"] and 'href="javascript' not in hostile["html"]


def test_history_carries_the_html_of_bot_messages_only(hub: FakeHub, client: TestClient) -> None:
    asked = hub.store(ChannelMessage(channel="web", sender_id=VISITOR, text="**保修**多久"))
    hub.reply(asked, WARRANTY)
    hub.store(
        ChannelMessage(
            channel="web", sender_id=VISITOR, text="**人工**", direction="out", author="agent"
        )
    )
    hub.store(
        ChannelMessage(
            channel="web", sender_id=VISITOR, text="工单 **SR1** 已完工", direction="out",
            author="system",
        )
    )  # fmt: skip

    past = client.get("/channels/web/history", params={"site_key": "demo", "visitor_id": VISITOR})

    html = [(m["author"], m["html"]) for m in past.json()["messages"]]
    assert [author for author, _ in html] == ["customer", "bot", "agent", "system"]
    assert html[0][1] is None and html[2][1] is None
    assert "<table>" in html[1][1]
    assert html[3][1] == "<p>工单 <strong>SR1</strong> 已完工</p>\n"
