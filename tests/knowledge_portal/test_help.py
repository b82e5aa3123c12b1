"""The customers' help centre (/my/help) over the loaded knowledge base: categories, search
(logged like the bot's), entry pages with the Markdown answer rendered safely, feedback."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from knowledge_base import KnowledgeBase
from portal.database import Database
from portal.knowledge import service
from portal.knowledge.models import KbFeedback, KbSearchLog
from tests.knowledge_portal.conftest import TOKEN

UNSAFE = """
- id: fee-unsafe-demo
  question: 上门检测要收费吗？
  answer: |
    市区 **50 元/次**：
    - 保修期内免费
    - <script>alert(1)</script><img src=x onerror=alert(2)>
    [点这里](javascript:alert(3))
"""


def test_categories_and_search_are_served_and_searches_logged(
    kb_client: TestClient, db: Database
) -> None:
    page = kb_client.get("/my/help")
    assert page.status_code == 200 and 'data-testid="help-coming-soon"' not in page.text
    assert 'data-category="fault_codes"' in page.text and "故障代码" in page.text
    assert 'data-category="warranty"' in page.text and "保修政策" in page.text
    fees = kb_client.get("/my/help", params={"category": "fees"}).text
    assert 'data-id="fee-invoice"' in fees and 'data-id="wm-e21"' not in fees
    found = kb_client.get("/my/help", params={"q": "洗衣机显示E21"}).text
    assert 'data-id="wm-e21"' in found and 'href="/my/help/wm-e21"' in found
    none = kb_client.get("/my/help", params={"q": "你们公司的股票代码是多少"}).text
    assert 'data-testid="help-empty"' in none
    with db.session() as session:
        logged = [(r.source, r.band) for r in session.scalars(select(KbSearchLog))]
        assert logged == [("help", "answer"), ("help", "none")]
        assert service.list_unanswered(session)[1] == 1


def test_an_entry_page_renders_markdown_safely(
    kb_client: TestClient, kb: KnowledgeBase, faq_dir: Path
) -> None:
    with (faq_dir / "fees" / "standards.yaml").open("a", encoding="utf-8") as fh:
        fh.write(UNSAFE)
    assert kb.check_for_changes()
    page = kb_client.get("/my/help/fee-unsafe-demo")
    assert page.status_code == 200
    assert "<strong>50 元/次</strong>" in page.text and "<li>保修期内免费</li>" in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "<img" not in page.text.split('data-testid="faq-answer"')[1].split("</div>")[0]
    assert 'href="javascript:' not in page.text
    assert 'data-testid="faq-related"' in page.text
    assert kb_client.get("/my/help/no-such-entry").status_code == 404
    assert kb_client.get("/my/help/..%2F..%2Fetc").status_code == 404


def test_feedback_from_the_help_centre_counts_once_per_visitor(
    kb_client: TestClient, db: Database
) -> None:
    page = kb_client.get("/my/help/wm-e21").text
    token = TOKEN.search(page)
    assert token and 'data-testid="faq-feedback"' in page
    data = {"csrf_token": token.group(1), "helpful": "yes"}
    first = kb_client.post("/my/help/wm-e21/feedback", data=data)
    assert first.status_code == 200 and "感谢您的反馈" in first.text
    assert 'data-testid="faq-feedback"' not in first.text
    kb_client.post("/my/help/wm-e21/feedback", data={**data, "helpful": "no"})
    assert kb_client.post("/my/help/wm-e21/feedback", data={"helpful": "yes"}).status_code == 403
    with db.session() as session:
        rows = session.scalars(select(KbFeedback)).all()
        assert [(r.entry_id, r.helpful, r.source) for r in rows] == [("wm-e21", True, "help")]
    assert kb_client.post("/my/help/no-such/feedback", data=data).status_code == 404
