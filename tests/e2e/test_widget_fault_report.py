"""A customer reports a fault through the widget; the ticket reaches the staff list.

Everything is real: the portal, Rasa with a model trained from bot/, the action server
filing the ticket over the portal API, and Chromium typing into the widget.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from portal.database import Database
from portal.stack import Stack
from portal.tickets.models import Ticket

pytestmark = pytest.mark.e2e

PHONE = "13912345678"
FAULT = "滚筒不转了，显示E21"
ADDRESS = "上海市浦东新区张江路88号3栋1201室"
NUMBER = re.compile(r"SR\d{8}-\d{4}")


BOT_MESSAGES = '[data-testid=aftersales-message][data-direction="out"]'


def _bot_texts(page: Any) -> list[str]:
    # Locators pierce the widget's shadow root; document.querySelectorAll would not.
    return page.locator(BOT_MESSAGES).all_inner_texts()


def _wait_for_reply(page: Any, before: int) -> None:
    """Wait until the bot has said more than `before` messages and the turn is over."""
    page.locator(BOT_MESSAGES).nth(before).wait_for(timeout=60_000)
    page.locator("[data-testid=aftersales-typing]").wait_for(state="hidden", timeout=60_000)


def _send(page: Any, text: str) -> None:
    before = len(_bot_texts(page))
    page.locator("[data-testid=aftersales-input]").fill(text)
    page.locator("[data-testid=aftersales-send]").click()
    _wait_for_reply(page, before)


def _answer_until_ticket(page: Any) -> str:
    """Answer whatever the bot asks for, the way a customer would, until a number appears."""
    for _ in range(8):
        last = _bot_texts(page)[-1]
        found = NUMBER.search(" ".join(_bot_texts(page)))
        if found:
            return found.group(0)
        if "手机" in last or "电话" in last:
            _send(page, PHONE)
        elif "产品" in last or "电器" in last:
            quick = page.locator("[data-testid=aftersales-quick-reply]", has_text="洗衣机")
            before = len(_bot_texts(page))
            quick.last.click()
            _wait_for_reply(page, before)
        elif "什么时候开始" in last:
            _send(page, "昨天")
        elif "故障" in last or "问题" in last or "情况" in last or "描述" in last:
            _send(page, FAULT)
        elif "确认" in last or "对吗" in last or "是否" in last:
            _send(page, "对的")
        elif "地址" in last:
            _send(page, ADDRESS)
        elif "时间" in last:
            _send(page, "明天下午")
        else:
            raise AssertionError(f"unexpected bot question: {last}")
    raise AssertionError(f"no ticket number after the conversation: {_bot_texts(page)}")


def test_widget_conversation_files_a_ticket(stack: Stack, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(stack.portal_url + "/")
    page.locator("[data-testid=aftersales-launcher]").click()
    # The bot speaks first: its greeting is the opened chat's history.
    page.locator(BOT_MESSAGES).first.wait_for(timeout=60_000)
    assert "您好" in _bot_texts(page)[0]
    _send(page, "你好")
    assert len(_bot_texts(page)) >= 2, "the bot greets back"
    _send(page, "我的洗衣机坏了")
    number = _answer_until_ticket(page)

    db = Database(stack.settings.effective_database_url)
    try:
        with db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            assert ticket.product == "洗衣机"
            assert ticket.phone == PHONE
            # What dispatch needs is asked for: where and when.
            assert "张江路88号" in ticket.address
            assert re.fullmatch(
                r"\d{4}-\d{2}-\d{2} 13:00-18:00", str(ticket.details.get("preferred_time"))
            )
            assert ticket.channel == "web"
            assert ticket.status == "new"
            assert ticket.conversation_id
            assert [e.action for e in ticket.events] == ["create"]
            assert session.scalar(select(Ticket.id).where(Ticket.phone == PHONE).offset(1)) is None
    finally:
        db.dispose()

    # The conversation survives a reload.
    page.reload()
    if not page.locator("[data-testid=aftersales-input]").is_visible():
        page.locator("[data-testid=aftersales-launcher]").click()
    # The bot's reply (the ticket's notice to the widget names the number too).
    page.locator(BOT_MESSAGES + "[data-author=bot]", has_text=number).wait_for(timeout=15_000)

    staff = browser.new_context(locale="zh-CN").new_page()
    staff.goto(stack.portal_url + "/tickets")
    staff.fill("input[name=username]", "agent")
    staff.fill("input[name=password]", "agent123")
    staff.click("button[type=submit]")
    row = staff.locator(f'[data-testid=ticket-row][data-number="{number}"]')
    row.wait_for(timeout=15_000)
    assert "洗衣机" in row.inner_text() and PHONE in row.inner_text()
    context.close()
