"""The console and the widget in headless Chromium against the whole portal, with Rasa faked
at the HTTP boundary: handoff from the bot, the chat both ways, a ticket, the end, the bot."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from portal.config import Settings
from portal.conversations import service
from portal.conversations.flows import SESSION_START
from portal.database import Database
from portal.main import create_app
from portal.migrate import upgrade
from tests.console import flow
from tests.conversations.support import BOT, PASSWORD, TrackingRasa, add_agent
from tests.e2e_fixtures import serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with a fake Rasa, an agent and a supervisor."""
    var = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = Database(url)
    add_agent(db, "wang", max_chats=3)
    add_agent(db, "boss", role="admin")
    db.dispose()
    rasa = TrackingRasa()
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        secret_key="console-e2e",
        bot_service_token=BOT["Authorization"].removeprefix("Bearer "),
        rasa_token="test-rasa-token",
        handoff_tick_s=0.2,
    )
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler))
    with serve(app) as base:
        yield {"url": base, "db": url, "rasa": rasa, "uploads": settings.uploads_path}


@pytest.mark.parametrize("via", ["queue", "live"])
def test_handoff_round_trip_in_the_browser(portal: dict[str, Any], browser: Any, via: str) -> None:
    base, rasa = portal["url"], portal["rasa"]
    agent = flow.open_console(browser, base, "wang", PASSWORD)
    boss = flow.open_console(browser, base, "boss", PASSWORD)
    customer = flow.open_widget(browser, base)
    flow.customer_says(customer, f"你好 {via}")
    flow.wait_widget(customer, "bot", f"收到：你好 {via}")
    conversation = flow.latest_web_conversation(portal["db"])
    if via == "queue":
        # What the bot's handoff action does, over the same API.
        answer = httpx.post(
            f"{base}/api/v1/conversations/{conversation}/handoff",
            json={"reason": "request", "summary": "客户洗衣机漏水，要求人工"},
            headers=BOT,
        )
        assert answer.status_code == 202, answer.text
        flow.wait_widget(customer, "system", "正在为您转接人工客服")
        item = agent.locator(f'[data-testid=queue-item][data-id="{conversation}"]')
        item.locator("[data-testid=offered]").wait_for(timeout=10_000)
        item.click()
        agent.locator("[data-testid=summary-text]").filter(has_text="客户洗衣机漏水").wait_for()

    outcome = flow.round_trip(
        customer=customer,
        agent=agent,
        conversation=conversation,
        via=via,
        mark=lambda _name: list(rasa.texts_from(conversation)),
    )
    # Rasa greeted the opened chat, heard the customer once, and nothing during the takeover.
    assert outcome.marks["taken"] == outcome.marks["ended"] == [SESSION_START, f"你好 {via}"]

    # The supervisor saw the agent's load while the chat ran (and sees it free now).
    row = boss.locator("[data-testid=agent-row]").filter(has_text="坐席wang")
    row.locator("[data-testid=agent-load]").filter(has_text="0/3").wait_for(timeout=10_000)

    flow.customer_says(customer, "我还想问一下保修")
    flow.wait_widget(customer, "bot", "收到：我还想问一下保修")
    assert rasa.texts_from(conversation)[-1] == "我还想问一下保修"
    flow.only_local_requests(agent, base)
    flow.only_local_requests(boss, base)


def _png_1x1() -> bytes:
    """The smallest real PNG: one opaque pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_photo_the_customer_sent_shows_in_the_console(
    portal: dict[str, Any], browser: Any
) -> None:
    # A WeChat follower's photo as the WeChat desk keeps it: in our storage, on the message.
    db = Database(portal["db"])
    try:
        with db.session() as session:
            conversation = service.get_or_open(
                session, channel="wechat", sender_id="oPhotoFollower0000000000000"
            )
            kept = service.store_attachment(
                session,
                conversation=conversation,
                channel_message_id="24900000000000777",
                data=_png_1x1(),
                root=portal["uploads"],
                max_bytes=1024 * 1024,
            )
            service.add_message(
                session,
                conversation=conversation,
                direction="in",
                author="customer",
                text="",
                image_url=service.attachment_url(kept),
                channel_message_id="24900000000000777",
            )
            public, kept_id = conversation.public_id, kept.id
    finally:
        db.dispose()
    agent = flow.open_console(browser, portal["url"], "wang", PASSWORD)
    agent.locator(f'[data-testid=live-item][data-id="{public}"]').click()
    image = agent.locator("[data-testid=msg-image] img")
    image.wait_for(timeout=flow.TIMEOUT)
    # Loaded from the portal with the agent's session: a decoded pixel, not a broken icon.
    agent.wait_for_function(
        "img => img.complete && img.naturalWidth === 1", arg=image.element_handle()
    )
    assert image.get_attribute("src") == f"/api/v1/console/attachments/{kept_id}"
    flow.only_local_requests(agent, portal["url"])


def test_a_takeover_shows_what_the_customer_asked_and_drafts_the_ticket(
    portal: dict[str, Any], browser: Any
) -> None:
    """Issue 19: after 接管 the summary read （无摘要） and the ticket form was empty; a
    second click on 接入 showed a red 操作失败 for a chat the agent had just taken."""
    base = portal["url"]
    agent = flow.open_console(browser, base, "wang", PASSWORD)
    agent.set_viewport_size({"width": 1280, "height": 900})
    customer = flow.open_widget(browser, base)
    flow.customer_says(customer, "燃气灶打不着火")
    flow.wait_widget(customer, "bot", "收到：燃气灶打不着火")
    conversation = flow.latest_web_conversation(portal["db"])
    item = agent.locator(f'[data-testid=live-item][data-id="{conversation}"]')
    item.wait_for(timeout=10_000)
    item.locator("[data-testid=live-pickup]").click()
    agent.locator('[data-testid=chat-state][data-state="agent"]').wait_for(timeout=10_000)
    agent.locator("[data-testid=summary-text]").filter(has_text="燃气灶打不着火").wait_for()
    agent.locator("[data-testid=ticket-panel] > summary").click()
    assert agent.locator("[data-testid=ticket-product]").input_value() == "燃气灶"
    assert agent.locator("[data-testid=ticket-fault]").input_value() == "燃气灶打不着火"

    other = flow.open_widget(browser, base)
    flow.customer_says(other, "你好 第二位")
    flow.wait_widget(other, "bot", "收到：你好 第二位")
    waiting = flow.latest_web_conversation(portal["db"])
    answer = httpx.post(
        f"{base}/api/v1/conversations/{waiting}/handoff",
        json={"reason": "request", "summary": "客户要求人工"},
        headers=BOT,
    )
    assert answer.status_code == 202, answer.text
    queued = agent.locator(f'[data-testid=queue-item][data-id="{waiting}"]')
    queued.wait_for(timeout=10_000)
    accept = queued.locator("[data-testid=queue-accept]")
    accept.dblclick()
    agent.locator(f'[data-testid=chat-item][data-id="{waiting}"]').wait_for(timeout=10_000)
    agent.locator("[data-testid=chat-state][data-state=agent]").wait_for()
    assert agent.locator("[data-testid=chat-error]").is_hidden()
    flow.only_local_requests(agent, base)
