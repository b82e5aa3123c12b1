"""A visitor opens the chat on an English page: the bot's greeting, the first thing they
read, is English, and so is the answer to a bare "ok" before they have written a sentence;
as a tester saw it, on the real stack (portal, Rasa, the action server) and Chromium.

Seen failing before the fix: the widget never told the portal the page's language, so the
bot greeted in Chinese and answered in Chinese until the visitor wrote an English sentence.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.stack import Stack
from tests.e2e.test_widget_fault_report import BOT_MESSAGES, _bot_texts, _send

pytestmark = pytest.mark.e2e

CHINESE = re.compile(r"[\u3400-\u9fff]")


def test_a_chat_opened_on_an_english_page_is_greeted_in_english(stack: Stack, browser: Any) -> None:
    # The customers' help centre switched to English: its widget tag says data-lang="en".
    # (A page Playwright makes up under the portal's address cannot open the socket:
    # Chromium's local-network checks block it, so the test uses a page the portal serves.)
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(stack.portal_url + "/lang/en?next=/my/help")
    assert page.locator("html").get_attribute("lang", timeout=30_000) == "en"
    launcher = page.locator("[data-testid=aftersales-launcher]")
    launcher.wait_for(state="attached", timeout=30_000)
    launcher.click()
    page.locator(BOT_MESSAGES).first.wait_for(timeout=60_000)
    greeting = _bot_texts(page)
    assert "after-sales assistant" in " ".join(greeting), greeting
    assert not CHINESE.search(" ".join(greeting)), greeting
    # A bare word says nothing about the language: the page's English still holds.
    _send(page, "ok")
    texts = _bot_texts(page)[len(greeting) :]
    assert texts and not CHINESE.search(" ".join(texts)), texts
    context.close()
