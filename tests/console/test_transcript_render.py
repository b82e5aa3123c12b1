"""The console's transcript shows bot and system messages (FAQ answers are Markdown) as the
help centre renders them, and what people typed as plain text, whatever it holds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.conversations.support import TrackingRasa, add_agent, detail, open_chat, say, token


def test_bot_markdown_is_html_and_customer_text_is_not(
    hc: TestClient, db: Database, rasa: TrackingRasa
) -> None:
    add_agent(db, "lu")
    headers = token(hc, "lu")
    conversation = open_chat(hc, db, "render-1", "你好")
    rasa.plan(
        [{"text": "保修期从**发票日期**起算：\n\n| 产品 | 整机 |\n| --- | --- |\n| 空调 | 6 年 |"}]
    )
    say(hc, "render-1", "<b>保修</b> **多久**")
    messages = detail(hc, headers, conversation)["messages"]
    typed = next(m for m in messages if m["text"] == "<b>保修</b> **多久**")
    assert typed["html"] is None
    answer = next(m for m in messages if m["text"].startswith("保修期从"))
    assert "<strong>发票日期</strong>" in answer["html"] and "<table>" in answer["html"]
    assert "<script" not in answer["html"]
