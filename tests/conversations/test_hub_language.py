"""The hub's own messages are in the language of the page the chat is on from the first
message: a widget on an English page (lang=en) gets the hub's apology when the bot is down,
the queue and off-duty notices, the wait acknowledgement, the agent joining, transfers, the
end of the chat and its rating in English, even before the customer has written anything
English ("hi", "ok", a score). Then, as the bot does, what the customer writes decides: a
Chinese message or an English sentence, never a bare word or a model code."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from channels.base import ChannelMessage
from portal.conversations.phrases import written_language
from portal.database import Database
from portal.i18n import Lang, t
from tests.conversations.support import (
    TrackingRasa,
    add_agent,
    capture,
    go_online,
    hand_off,
    public_id,
    token,
    wait_for,
)
from tests.conversations.test_chat_rating import completed_ticket, rating, wait_for_invitation

VISITOR = "v_hub_language_0123456789abcdef"
AGENT_BUTTON = {"zh": "转人工", "en": "Talk to an agent"}


def widget(client: TestClient, lang: str = "en") -> WebSocketTestSession:
    """The visitor's widget on a page in `lang`."""
    return client.websocket_connect(
        f"/channels/web/ws?site_key=demo&visitor_id={VISITOR}&lang={lang}"
    )


def send(ws: WebSocketTestSession, text: str) -> list[dict[str, Any]]:
    """One customer message through an open widget; the replies of its turn."""
    client_id = f"c{time.monotonic_ns()}"  # a repeated id is a retry, answered once
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    replies = []
    while (frame := ws.receive_json()) != {"type": "typing", "on": False}:
        if frame["type"] == "message" and frame["direction"] == "out":
            replies.append(frame)
    return replies


def turn(client: TestClient, text: str, lang: str = "en") -> list[dict[str, Any]]:
    """One customer message from the widget opened on a page in `lang`."""
    with widget(client, lang) as ws:
        assert ws.receive_json()["type"] == "history"
        return send(ws, text)


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies]


def said(pushed: list[ChannelMessage]) -> str:
    """The last message the hub pushed to the customer outside a turn."""
    assert pushed, "nothing was pushed"
    assert pushed[-1].author == "system"
    return pushed[-1].text


def conversation_of(db: Database) -> str:
    return public_id(db, VISITOR, channel="web")


def accept(client: TestClient, headers: dict[str, str], conversation: str) -> None:
    url = f"/api/v1/console/conversations/{conversation}/accept"
    assert client.post(url, headers=headers).status_code == 204


def console(client: TestClient, headers: dict[str, str], conversation: str, action: str) -> None:
    url = f"/api/v1/console/conversations/{conversation}/{action}"
    response = client.post(url, headers=headers)
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("mode", ["error", "timeout", "empty", "loop", "down"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_hubs_apology_is_in_the_pages_language_from_the_first_message(
    hc: TestClient, rasa: TrackingRasa, mode: str, lang: Lang
) -> None:
    if mode == "down":
        rasa.up = False  # no greeting either: the page's language is all the hub knows
    else:
        rasa.plan(mode)
    (reply,) = turn(hc, "hi", lang)
    unreachable = mode in ("error", "timeout", "down")
    sorry = t("hub.fallback.unavailable" if unreachable else "hub.fallback.sorry", lang)
    status = t("hub.fallback.queue_free", lang)
    assert reply["text"] == t("hub.fallback", lang, sorry=sorry, status=status)
    assert [b["title"] for b in reply["buttons"]] == [AGENT_BUTTON[lang]]


def test_queue_agent_transfer_and_rating_notices_are_english_on_an_english_page(
    hc: TestClient, db: Database
) -> None:
    pushed = capture(hc, "web")
    add_agent(db, "desk")
    other_id = add_agent(db, "other")
    add_agent(db, "cool", languages=["zh", "en"], team="aircon")
    desk, other, cool = token(hc, "desk"), token(hc, "other"), token(hc, "cool")
    for headers in (desk, other, cool):
        go_online(hc, headers)
    turn(hc, "hi")
    conversation = conversation_of(db)

    hand_off(hc, conversation)  # the bot's call
    assert said(pushed) == t("hub.handoff.queued", "en", position=1)
    assert texts(turn(hc, "ok")) == [t("hub.waiting_ack", "en")]

    accept(hc, desk, conversation)
    assert said(pushed) == t("hub.agent_joined", "en", agent="坐席desk")
    moved = hc.post(
        f"/api/v1/console/conversations/{conversation}/transfer",
        json={"to_agent_id": other_id},
        headers=desk,
    )
    assert moved.status_code == 204, moved.text
    assert said(pushed) == t("hub.transferred", "en", agent="坐席other")
    moved = hc.post(
        f"/api/v1/console/conversations/{conversation}/transfer",
        json={"to_team": "aircon"},
        headers=other,
    )
    assert moved.status_code == 204, moved.text
    assert said(pushed) == t("hub.transferring", "en")

    accept(hc, cool, conversation)
    console(hc, cool, conversation, "end")
    ended, question = pushed[-2:]
    assert ended.text == t("hub.ended", "en")
    assert question.text == t("hub.csat.ask", "en")
    assert [b.title for b in question.buttons] == ["5", "4", "3", "2", "1"]
    assert texts(turn(hc, "5")) == [t("hub.csat.thanks", "en")]


def test_closing_and_rating_the_closed_chat_are_english_on_an_english_page(
    hc: TestClient, db: Database
) -> None:
    pushed = capture(hc, "web")
    add_agent(db, "desk")
    desk = token(hc, "desk")
    go_online(hc, desk)
    # The widget stays open: a widget opened after the close starts the next conversation.
    with widget(hc) as ws:
        assert ws.receive_json()["type"] == "history"
        send(ws, "hi")
        conversation = conversation_of(db)
        hand_off(hc, conversation)
        accept(hc, desk, conversation)
        console(hc, desk, conversation, "close")
        closed, question = pushed[-2:]
        assert closed.text == t("hub.closed", "en")
        assert question.text == t("hub.csat.ask", "en")
        assert texts(send(ws, "4")) == [t("hub.csat.thanks", "en")]


def test_leaving_the_queue_is_english_on_an_english_page(hc: TestClient, db: Database) -> None:
    turn(hc, "hi")
    hand_off(hc, conversation_of(db))
    assert texts(turn(hc, "cancel")) == [t("hub.left_queue", "en")]


def test_a_chat_given_back_to_the_queue_is_told_in_english(
    make_client: Callable[..., TestClient], db: Database
) -> None:
    client = make_client(handoff_heartbeat_timeout_s=0.3, handoff_grace_s=0.2)
    pushed = capture(client, "web")
    add_agent(db, "quiet")
    headers = token(client, "quiet")
    go_online(client, headers)
    turn(client, "hi")
    conversation = conversation_of(db)
    hand_off(client, conversation)
    accept(client, headers, conversation)
    # Nothing more from the agent: after the grace period the chat goes back to the queue.
    wait_for(lambda: said(pushed) == t("hub.requeued", "en"), what="the requeue notice")


def _other_day() -> int:
    """An ISO weekday that is neither today nor tomorrow in Shanghai (no midnight flake)."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=3)).isoweekday()


def test_off_duty_notices_are_english_on_an_english_page(
    make_client: Callable[..., TestClient], db: Database, rasa: TrackingRasa
) -> None:
    client = make_client(handoff_schedule=f"{_other_day()} 09:00-18:00")
    hours = client.app.state.hub.schedule.describe("en")  # type: ignore[attr-defined]
    pushed = capture(client, "web")
    turn(client, "hi")
    hand_off(client, conversation_of(db))
    assert said(pushed) == t("hub.handoff.off_duty", "en", hours=hours)
    assert [b.title for b in pushed[-1].buttons] == [t("hub.handoff.leave_ticket", "en")]
    rasa.plan("error")
    (reply,) = turn(client, "ok")
    status = t("hub.fallback.off_duty", "en", hours=hours)
    sorry = t("hub.fallback.unavailable", "en")
    assert reply["text"] == t("hub.fallback", "en", sorry=sorry, status=status)
    assert [b["title"] for b in reply["buttons"]] == [
        t("hub.fallback.human", "en"),
        t("hub.handoff.leave_ticket", "en"),
    ]


def test_a_ticket_rated_in_the_chat_is_thanked_in_english_on_an_english_page(
    make_client: Callable[..., TestClient], db: Database
) -> None:
    portal = make_client(outbox_poll_s=0.05)
    turn(portal, "hi")
    conversation = conversation_of(db)
    number = completed_ticket(db, conversation)
    wait_for_invitation(db, conversation, number)
    (thanks,) = turn(portal, "5")
    assert thanks["text"] == t("hub.rating.thanks", "en", number=number, score=5)
    assert rating(db, number) == ("evaluated", 5)


@pytest.mark.parametrize(
    ("lang", "text", "told"),
    [
        ("en", "你好", "zh"),  # Chinese on an English page: Chinese from then on
        ("zh", "my washer is broken", "en"),  # an English sentence on a Chinese page
        ("zh", "KFR-35GW", "zh"),  # a model code says nothing of the language
        ("en", "E21", "en"),  # nor does a fault code
    ],
)
def test_then_what_the_customer_writes_decides(
    hc: TestClient, db: Database, lang: str, text: str, told: Lang
) -> None:
    pushed = capture(hc, "web")
    turn(hc, text, lang)
    hand_off(hc, conversation_of(db))
    assert said(pushed) == t("hub.handoff.queued", told, position=1)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("你好", "zh"),
        ("E21是什么意思", "zh"),
        ("my washer is broken", "en"),
        ("what does E21 mean", "en"),
        ("hi", None),
        ("ok", None),
        ("E21", None),
        ("KFR-35GW", None),
        ("SR20261123-0007", None),
        ("a@b.com", None),
        ("5", None),
    ],
)
def test_what_says_a_language(text: str, lang: str | None) -> None:
    assert written_language(text) == lang
