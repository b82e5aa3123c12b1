"""One decision everywhere: 试一试, GET /api/v1/kb/search and the library agree, question by
question, because all of them go through knowledge_base.bands.decide (the bot's chat route
calls the same flows.search, and the bot acts on the band the portal returns)."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from knowledge_base import KnowledgeBase
from portal.config import Settings
from portal.database import Database
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.knowledge_portal.conftest import login

QUESTIONS = (
    "空调不制冷怎么办",
    "洗衣机显示E21",
    "热水器",
    "冰箱有异味",
    "你们公司的股票代码是多少",
    "how do I book a repair",
    "保修期多久",
)
OVERALL = re.compile(r'data-testid="kb-ranking" data-band="(\w+)"')


def test_try_page_api_and_library_take_the_same_decision(
    kb_client: TestClient, kb: KnowledgeBase, db: Database, bot_headers: dict[str, str]
) -> None:
    seen = set()
    for question in QUESTIONS:
        api = kb_client.get(
            "/api/v1/kb/search", params={"q": question, "k": 3}, headers=bot_headers
        ).json()
        login(kb_client, db, "knowledge_editor")
        page = kb_client.get("/knowledge/try", params={"q": question})
        match = OVERALL.search(page.text)
        assert match, page.text[:500]
        library = kb.decide(question, k=10)
        assert api["band"] == match.group(1) == library.band.value, question
        if library.answer is not None:
            assert api["results"][0]["id"] == library.answer.id
        seen.add(library.band.value)
        kb_client.cookies.clear()
    assert {"answer", "none"} <= seen


def test_a_lone_suggestion_is_an_answer_everywhere(
    kb: KnowledgeBase,
    kb_settings: Settings,
    fake_rasa: FakeRasa,
    db: Database,
    bot_headers: dict[str, str],
) -> None:
    # Thresholds that leave only the top hit in the suggest band: the decision is a guessed
    # answer, which the bot words as 您问的可能是「…」 and 试一试 explains.
    question = "空调不制冷怎么办"
    top, second = kb.search(question, k=2)
    settings = kb_settings.model_copy(
        update={
            "kb_answer_threshold": 0.999,
            "kb_suggest_threshold": round((top.score + second.score) / 2, 4),
        }
    )
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        api = client.get(
            "/api/v1/kb/search", params={"q": question, "k": 5}, headers=bot_headers
        ).json()
        assert api["band"] == "answer"
        assert [r["band"] for r in api["results"][:2]] == ["suggest", "none"]
        login(client, db, "knowledge_editor")
        page = client.get("/knowledge/try", params={"q": question})
        assert 'data-band="answer"' in page.text and 'data-testid="kb-guess"' in page.text
