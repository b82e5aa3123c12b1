"""Off duty: a handoff gets a clear notice and a button to leave a ticket; the bot stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from channels.base import ChannelMessage
from portal.database import Database
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    detail,
    go_online,
    hand_off,
    open_chat,
    queue,
    say,
    token,
)


def _other_day() -> int:
    """An ISO weekday that is neither today nor tomorrow in Shanghai (no midnight flake)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai"))
    return (today + timedelta(days=3)).isoweekday()


def test_off_duty_handoff_offers_a_ticket_and_keeps_the_bot(
    make_client: Callable[..., TestClient], db: Database, rasa: TrackingRasa
) -> None:
    day = _other_day()
    client = make_client(handoff_schedule=f"{day} 09:00-18:00")
    pushed: list[ChannelMessage] = []

    async def send(message: ChannelMessage) -> None:
        pushed.append(message)

    client.app.state.hub.register_sender("rest", send)  # type: ignore[attr-defined]
    add_agent(db, "night")
    headers = token(client, "night")
    go_online(client, headers)
    conversation = open_chat(client, db, "late-1")

    result = hand_off(client, conversation)
    assert result["queued"] is False and result["on_duty"] is False
    assert result["state"] == "bot"
    assert queue(client, headers) == []
    (notice,) = pushed
    names = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    assert notice.author == "system"
    assert "现在不是人工客服服务时间" in notice.text
    assert f"{names[day - 1]} 09:00-18:00" in notice.text
    assert [(b.title, b.payload) for b in notice.buttons] == [("留下工单", "/report_fault")]

    # The bot goes on answering; the ticket button's payload goes to it.
    client.post("/channels/rest/webhook", json={"sender": "late-1", "message": "留下工单"})
    assert say(client, "late-1", "好的")[0]["text"] == "收到：好的"
    assert rasa.texts_from(conversation) == ["你好", "留下工单", "好的"]
    shown = detail(client, headers, conversation)
    assert shown["state"] == "bot"
    assert [e["kind"] for e in shown["events"]] == ["handoff_off_duty"]
    assert rasa.tracker_events == []


def test_on_duty_schedule_queues(make_client: Callable[..., TestClient], db: Database) -> None:
    client = make_client(handoff_schedule="1-7 00:00-24:00")
    add_agent(db, "day")
    conversation = open_chat(client, db, "day-1")
    assert hand_off(client, conversation)["queued"] is True
