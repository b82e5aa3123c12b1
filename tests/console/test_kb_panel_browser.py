"""FAQ answers as people see them, in headless Chromium against the whole portal with its real
knowledge base and Rasa faked at the HTTP boundary: the bot's answer in the widget, and the
agent console's knowledge-base panel (bold words and tables rendered, markup an editor put in
an answer shown as text, the answer inserted into the composer as plain text)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from knowledge_base import load_dir
from knowledge_base.render import to_text
from portal.config import ROOT, Settings
from portal.database import Database
from portal.main import create_app
from portal.migrate import upgrade
from tests.console import flow
from tests.conversations.support import BOT, PASSWORD, TrackingRasa, add_agent
from tests.e2e_fixtures import serve
from tests.page_support import broken_images_reported

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")
ASKED = "**保修期**"  # what the customer types to get the warranty answer, marks included
FAQ = {e.id: e for e in load_dir(ROOT / "knowledge_base" / "faq").entries}
WARRANTY = FAQ["warranty-period-overview"]
# Appended to the portal's copy of the FAQ: what a careless or hostile editor could save.
HOSTILE = """
- id: demo-hostile-answer
  question: 演示用的恶意答案是什么？
  answer: |
    **注意** <script>window.__xss=1</script>
    - <img src=x onerror="window.__xss=2">
    - [点我](javascript:window.__xss=3)
"""


class FaqRasa(TrackingRasa):
    """Answers a question marked with the FAQ's Markdown, as the bot's FAQ action does."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The warranty answer for a message starting with ASKED; the rest as TrackingRasa."""
        if request.url.path == "/webhooks/rest/webhook":
            body = json.loads(request.content)
            if str(body["message"]).startswith(ASKED):
                self.received.append(body)
                reply = {"recipient_id": body["sender"], "text": WARRANTY.answer}
                return httpx.Response(200, json=[reply])
        return super().handler(request)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with the real FAQ (plus one hostile entry) and a fake Rasa."""
    var = tmp_path_factory.mktemp("kb-panel")
    faq = Path(shutil.copytree(ROOT / "knowledge_base" / "faq", var / "faq"))
    with (faq / "warranty" / "policy.yaml").open("a", encoding="utf-8") as fh:
        fh.write(HOSTILE)
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = Database(url)
    add_agent(db, "wang", max_chats=3)
    db.dispose()
    rasa = FaqRasa()
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        secret_key="kb-panel-e2e",
        bot_service_token=BOT["Authorization"].removeprefix("Bearer "),
        rasa_token="test-rasa-token",
        kb_enabled=True,
        kb_dir=faq,
        kb_cache_dir=str(var / "kb-cache"),
        kb_reload_s=0.0,
    )
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler))
    with serve(app) as base:
        yield {"url": base, "db": url, "rasa": rasa}


def customer_asks(portal: dict[str, Any], browser: Any, width: int, text: str) -> Any:
    """A customer on the demo page at this width who has sent `text`."""
    customer = flow.open_widget(browser, portal["url"])
    customer.set_viewport_size({"width": width, "height": 844 if width < 500 else 800})
    flow.customer_says(customer, text)
    return customer


@pytest.mark.parametrize("width", [390, 1280])
def test_the_bot_s_faq_answer_renders_in_the_widget(
    portal: dict[str, Any], browser: Any, width: int
) -> None:
    typed = f"{ASKED} <b>多久</b> {width}"
    customer = customer_asks(portal, browser, width, typed)
    flow.wait_widget(customer, "bot", "保修期从购买发票")
    answer = flow.widget_messages(customer, "bot").last
    assert answer.locator("strong").all_inner_texts() == [
        "购买发票（或电子凭证）日期",
        "免上门费、工时费和配件费",
    ]
    assert answer.locator("table tbody tr").count() == 6
    assert "**" not in answer.inner_text()
    # What the customer typed stays exactly that: no bold, no tags.
    said = flow.widget_messages(customer, "customer").last
    assert said.inner_text() == typed
    assert said.locator("b, strong").count() == 0
    answer.locator("table").scroll_into_view_if_needed()
    SHOTS.mkdir(exist_ok=True)
    customer.screenshot(path=SHOTS / f"portal_widget_faq_answer_{width}.png")


@pytest.mark.parametrize("width", [1280, 390])
def test_faq_answers_render_in_the_kb_panel(
    portal: dict[str, Any], browser: Any, width: int
) -> None:
    base = portal["url"]
    customer = customer_asks(portal, browser, width, f"你好 {width}")
    flow.wait_widget(customer, "bot", f"收到：你好 {width}")
    agent = flow.open_console(browser, base, "wang", PASSWORD)
    agent.set_viewport_size({"width": width, "height": 900})
    conversation = flow.latest_web_conversation(portal["db"])
    item = agent.locator(f'[data-testid=live-item][data-id="{conversation}"]')
    item.wait_for(timeout=flow.TIMEOUT)
    item.locator("[data-testid=live-pickup]").click()
    agent.locator('[data-testid=chat-state][data-state="agent"]').wait_for(timeout=flow.TIMEOUT)

    panel = agent.locator("[data-testid=kb-panel]")
    panel.locator("summary").click()
    agent.locator("[data-testid=kb-query]").fill("保修期多久")
    agent.locator("[data-testid=kb-query]").press("Enter")
    hit = agent.locator("[data-testid=kb-result]").filter(has_text=WARRANTY.question)
    hit.wait_for(timeout=flow.TIMEOUT)
    shown = hit.locator("[data-testid=kb-answer]")
    assert shown.locator("strong").all_inner_texts() == [
        "购买发票（或电子凭证）日期",
        "免上门费、工时费和配件费",
    ]
    assert shown.locator("th").all_inner_texts() == ["产品", "整机", "主要部件"]
    assert shown.locator("tbody tr").nth(1).locator("td").all_inner_texts() == [
        "空调",
        "6 年",
        "压缩机 10 年",
    ]
    assert "**" not in shown.inner_text() and "---" not in shown.inner_text()
    box, answer_box = panel.bounding_box(), shown.bounding_box()
    assert box is not None and answer_box is not None
    assert answer_box["x"] + answer_box["width"] <= box["x"] + box["width"]
    shown.scroll_into_view_if_needed()
    agent.screenshot(path=SHOTS / f"console_kb_panel_{width}.png")

    # Inserted, the answer is plain text: the customer's channel may show no HTML.
    hit.locator("[data-testid=kb-insert]").click()
    assert agent.locator("[data-testid=composer]").input_value() == to_text(WARRANTY.answer)

    agent.locator("[data-testid=kb-query]").fill("演示用的恶意答案")
    agent.locator("[data-testid=kb-query]").press("Enter")
    bad = agent.locator("[data-testid=kb-result]").filter(has_text="演示用的恶意答案是什么")
    bad.wait_for(timeout=flow.TIMEOUT)
    bad_answer = bad.locator("[data-testid=kb-answer]")
    assert bad_answer.locator("strong").all_inner_texts() == ["注意"]
    assert "<script>window.__xss=1</script>" in bad_answer.inner_text()
    assert bad_answer.locator("script, img, a").count() == 0
    broken_images_reported(agent)  # the answer's <img src=x onerror>, had it been made, has fired
    assert agent.evaluate("window.__xss") is None
    flow.only_local_requests(agent, base)
