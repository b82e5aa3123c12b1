"""The console's layout in Chromium at the desks' widths (1280, 1440, 1920): with long
previews, long names and many conversations, nothing of the left column lies over the
transcript, the composer or the error bar; a long transcript opens at its newest message.

SCREENSHOT_DIR=docs/screens writes console-<width>.png there."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from portal.config import Settings
from portal.conversations import service
from portal.customers.models import ChannelIdentity, Customer
from portal.database import Database
from portal.main import create_app
from portal.migrate import upgrade
from tests.console import flow
from tests.conversations.support import BOT, PASSWORD, TrackingRasa, add_agent
from tests.e2e_fixtures import serve

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 1440, 1920)
# What the testers had: previews with no break in them, and long ones in Chinese.
LONG_PREVIEW = "洗衣机显示E21排水超时" * 12
UNBROKEN = "X" * 160
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff" * 2
TRANSCRIPT_MESSAGES = 120


def _customer(session: Any, sender: str, name: str, phone: str) -> int:
    customer = Customer(name=name, phone=phone, tier="vip" if phone.endswith("1") else "normal")
    session.add(customer)
    session.flush()
    session.add(ChannelIdentity(channel="web", external_id=sender, customer_id=customer.id))
    return customer.id


def _fill(db: Database, boss: int) -> str:
    """Many conversations in every list, and one long chat the supervisor holds."""
    with db.session() as session:
        for i in range(14):
            sender = f"layout-wait-{i}"
            name = LONG_NAME if i % 2 else f"排队客户{i}"
            customer = _customer(session, sender, name, f"1390000{i:04d}")
            chat = service.get_or_open(session, channel="web", sender_id=sender)
            chat.customer_id = customer
            text = UNBROKEN if i % 3 == 0 else LONG_PREVIEW
            service.add_message(
                session, conversation=chat, direction="in", author="customer", text=text
            )
            chat.handoff_reason = "request"
            chat.handoff_summary = text
            service.change_state(session, conversation=chat, kind="handoff", actor="test")
        for i in range(20):
            chat = service.get_or_open(session, channel="web", sender_id=f"layout-bot-{i}")
            service.add_message(
                session, conversation=chat, direction="in", author="customer", text=UNBROKEN
            )
        held = ""
        for i in range(4):
            sender = f"layout-mine-{i}"
            customer = _customer(session, sender, LONG_NAME, f"1380000{i:04d}")
            chat = service.get_or_open(session, channel="web", sender_id=sender)
            chat.customer_id = customer
            count = TRANSCRIPT_MESSAGES if i == 0 else 3
            for n in range(count):
                service.add_message(
                    session,
                    conversation=chat,
                    direction="in" if n % 2 == 0 else "out",
                    author="customer" if n % 2 == 0 else "agent",
                    text=f"第{n}条消息 {LONG_PREVIEW if n % 5 == 0 else ''}",
                    agent_id=None if n % 2 == 0 else boss,
                )
            service.add_message(
                session,
                conversation=chat,
                direction="in",
                author="customer",
                text=f"最新的一条消息{i}",
            )
            service.change_state(session, conversation=chat, kind="handoff", actor="test")
            service.change_state(
                session, conversation=chat, kind="accept", actor=f"user:{boss}", agent_id=boss
            )
            if i == 0:
                held = chat.public_id
    return held


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal with a crowded queue, a busy bot and a supervisor holding long chats."""
    var = tmp_path_factory.mktemp("console-layout")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = Database(url)
    boss = add_agent(db, "boss", role="admin", max_chats=6)
    for n in range(6):
        add_agent(db, f"layout-agent-{n}", max_chats=3)
    held = _fill(db, boss)
    db.dispose()
    rasa = TrackingRasa()
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        secret_key="console-layout",
        bot_service_token=BOT["Authorization"].removeprefix("Bearer "),
        rasa_token="test-rasa-token",
        handoff_tick_s=0.2,
        handoff_live_window_s=86400,
    )
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler))
    with serve(app) as base:
        yield {"url": base, "held": held, "boss": boss}


# Which element of the page is drawn at each point of a target, sampled on a grid: none may
# belong to the left column.
COVERED = """([target, step]) => {
  const box = document.querySelector(target).getBoundingClientRect();
  const left = document.querySelector('.console-left');
  const hits = [];
  for (let x = box.left + 1; x < box.right - 1; x += step) {
    for (let y = box.top + 1; y < box.bottom - 1; y += step) {
      const at = document.elementFromPoint(x, y);
      if (at && left.contains(at)) hits.push([Math.round(x), Math.round(y), at.className]);
    }
  }
  return {hits: hits.slice(0, 5), width: box.width, height: box.height};
}"""

RECT = (
    "(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); "
    "return [r.left, r.top, r.right, r.bottom]; }"
)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_left_column_never_lies_over_the_conversation(
    portal: dict[str, Any], browser: Any, width: int
) -> None:
    page = flow.open_console(browser, portal["url"], "boss", PASSWORD)
    page.set_viewport_size({"width": width, "height": 1000})
    page.locator("[data-testid=queue-item]").nth(13).wait_for(timeout=flow.TIMEOUT)
    page.locator("[data-testid=live-item]").nth(19).wait_for(timeout=flow.TIMEOUT)
    page.locator("[data-testid=agent-row]").nth(6).wait_for(timeout=flow.TIMEOUT)
    # The supervision view says who holds which offers: here the supervisor himself, the only
    # agent online, with as many as his free room allows (6 chats, 4 held).
    offers = page.locator(
        f'[data-testid=agent-row][data-id="{portal["boss"]}"] [data-testid=agent-offers] a'
    )
    offers.nth(1).wait_for(timeout=flow.TIMEOUT)
    assert offers.count() == 2
    assert page.locator("[data-testid=queue-item] [data-testid=offered]").count() == 2
    page.locator(f'[data-testid=chat-item][data-id="{portal["held"]}"]').click()
    page.locator("[data-testid=composer-form]").wait_for(state="visible")
    # The error bar, as a failed action shows it.
    page.evaluate(
        """() => { const bar = document.querySelector('[data-testid=chat-error]');
        bar.textContent = '操作失败：网络错误'; bar.hidden = false; }"""
    )
    aside = page.evaluate(RECT, ".console-left")
    main = page.evaluate(RECT, ".console-main")
    assert aside[2] <= main[0], f"left column {aside} reaches into the conversation {main}"
    assert aside[2] - aside[0] <= 320, "the left column keeps its width"
    for target in (
        "[data-testid=transcript]",
        "[data-testid=composer-form]",
        "[data-testid=chat-error]",
        ".chat-head",
    ):
        seen = page.evaluate(COVERED, [target, 8])
        assert seen["width"] > 100 and seen["height"] > 10, (target, seen)
        assert seen["hits"] == [], f"{width}px: the left column covers {target}: {seen['hits']}"
    # A long customer name leaves the chat's actions in view, inside the conversation card.
    for action in ("handback", "close-chat"):
        box = page.evaluate(RECT, f"[data-testid={action}]")
        assert main[0] <= box[0] and box[2] <= main[2], (width, action, box, main)
    # Every card of the left column stays inside the column.
    cards = page.evaluate(
        """() => [...document.querySelectorAll('.console-left > .card')].map(
        c => c.getBoundingClientRect().right)"""
    )
    assert cards and max(cards) <= aside[2] + 0.5
    page.evaluate("() => { document.querySelector('[data-testid=chat-error]').hidden = true; }")
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"console-{width}.png"))
    page.context.close()


def test_a_long_transcript_opens_at_the_newest_message(
    portal: dict[str, Any], browser: Any
) -> None:
    page = flow.open_console(browser, portal["url"], "boss", PASSWORD)
    page.locator(f'[data-testid=chat-item][data-id="{portal["held"]}"]').click()
    newest = page.locator("[data-testid=msg]").filter(has_text="最新的一条消息0")
    newest.wait_for()
    transcript = page.locator("[data-testid=transcript]")
    metrics = transcript.evaluate(
        "box => ({top: box.scrollTop, height: box.scrollHeight, view: box.clientHeight})"
    )
    assert metrics["height"] > 3 * metrics["view"], metrics
    assert metrics["top"] + metrics["view"] >= metrics["height"] - 2, metrics
    assert newest.is_visible()
    shown = newest.evaluate(
        """(row) => { const r = row.getBoundingClientRect();
        const box = row.closest('[data-testid=transcript]').getBoundingClientRect();
        return r.top >= box.top - 1 && r.bottom <= box.bottom + 1; }"""
    )
    assert shown, "the newest message is within the transcript's view"
    # Scrolled back to older messages, the agent's own new one brings them to the newest.
    transcript.evaluate("box => { box.scrollTop = 0; }")
    page.locator("[data-testid=composer]").fill("我先看一下之前的记录")
    page.locator("[data-testid=send]").click()
    mine = page.locator('[data-testid=msg][data-author="agent"]').filter(has_text="之前的记录")
    mine.wait_for()
    at = transcript.evaluate("box => box.scrollHeight - box.scrollTop - box.clientHeight")
    assert at < 2
    # Its time is Beijing time, as every staff page says, though the browser is in London.
    beijing = datetime.now(ZoneInfo("Asia/Shanghai"))
    around = {(beijing + timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)}
    assert any(hhmm in mine.inner_text() for hhmm in around), (mine.inner_text(), around)
    # Opening another chat and coming back opens at the newest again.
    page.locator("[data-testid=chat-item]").nth(1).click()
    page.locator(f'[data-testid=chat-item][data-id="{portal["held"]}"]').click()
    mine.wait_for()
    at = transcript.evaluate("box => box.scrollHeight - box.scrollTop - box.clientHeight")
    assert at < 2
    page.context.close()


def test_a_reply_over_the_limit_is_flagged_before_sending_and_kept(
    portal: dict[str, Any], browser: Any
) -> None:
    """A tester pasted a 3000-character reply: the composer silently kept 2000 of it."""
    page = flow.open_console(browser, portal["url"], "boss", PASSWORD)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.locator(f'[data-testid=chat-item][data-id="{portal["held"]}"]').click()
    box = page.locator("[data-testid=composer]")
    box.wait_for(state="visible")
    text = ("请按以下步骤排查：断电重启，清理过滤网，检查排水管。" * 120)[:3000]
    box.focus()
    page.keyboard.insert_text(text)
    assert len(box.input_value()) == 3000  # nothing lost
    count = page.locator("[data-testid=composer-count]")
    count.wait_for(state="visible")
    assert "超出" in count.inner_text() and "1000" in count.inner_text()
    assert page.locator("[data-testid=send]").is_disabled()
    box.press("Enter")  # Enter does not send it either, nor empty the box
    assert len(box.input_value()) == 3000
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=str(Path(shots) / "console-too-long-1440.png"))
    # Cut to the limit, it can go.
    box.fill(text[:2000])
    assert not page.locator("[data-testid=send]").is_disabled()
    assert page.locator("[data-testid=composer-count]").get_attribute("data-over") == "false"
