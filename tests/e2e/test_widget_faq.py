"""A customer asks a product question in the widget; the bot answers from the knowledge base
and records whether the answer helped.

Everything is real: the portal with its FAQ index, Rasa, the action server searching the
portal's /api/v1/kb/search, and Chromium typing into the widget.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from portal.database import Database
from portal.knowledge.models import KbFeedback, KbSearchLog
from portal.stack import Stack
from tests.e2e.test_widget_fault_report import BOT_MESSAGES, _bot_texts, _send, _wait_for_reply

pytestmark = pytest.mark.e2e

QUESTION = "我家滚筒洗衣机显示E21是啥意思"


def test_widget_question_is_answered_from_the_faq(stack: Stack, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(stack.portal_url + "/")
    page.locator("[data-testid=aftersales-launcher]").click()
    page.locator(BOT_MESSAGES).first.wait_for(timeout=60_000)
    _send(page, QUESTION)
    if not any("排水" in text for text in _bot_texts(page)):
        # A middling match comes as suggestions: the customer picks the E21 one.
        choice = page.locator("[data-testid=aftersales-quick-reply]", has_text="E21")
        before = len(_bot_texts(page))
        choice.first.click()
        _wait_for_reply(page, before)
    # The answer comes as two messages, the entry and then the feedback question; the typing
    # dots hide at the first, so the turn is over when the question is there.
    asked = page.locator(BOT_MESSAGES, has_text="是否解决了您的问题")
    asked.first.wait_for(timeout=60_000)
    texts = _bot_texts(page)
    assert any("排水" in text for text in texts), texts
    assert "是否解决了您的问题" in " ".join(texts)
    _send(page, "解决了")
    context.close()

    db = Database(stack.settings.effective_database_url)
    try:
        with db.session() as s:
            searches = s.scalars(select(KbSearchLog).where(KbSearchLog.source == "bot")).all()
            assert any("e21" in row.query for row in searches)
            # The stack is shared with the other e2e tests (the fuzzer's customers give
            # feedback too): this customer's is the one on the E21 entry.
            feedback = [
                f
                for f in s.scalars(select(KbFeedback)).all()
                if f.query.casefold() == QUESTION.casefold()
            ]
            assert [(f.entry_id, f.helpful) for f in feedback] == [("wm-e21", True)]
    finally:
        db.dispose()
