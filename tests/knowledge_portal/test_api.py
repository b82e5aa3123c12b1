"""GET /api/v1/kb/search and POST /api/v1/kb/feedback as the bot and customers call them;
the search log, unanswered questions and the figures analytics reads from them."""

from __future__ import annotations

from datetime import timedelta

import httpx
import schemathesis
from fastapi.testclient import TestClient
from sqlalchemy import select

from knowledge_base import KnowledgeBase
from portal.config import Settings
from portal.database import Database, utcnow
from portal.knowledge import flows, service
from portal.knowledge.models import KbFeedback, KbSearchLog, KbUnanswered
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f
from tests.portal.test_schemathesis import EXAMPLES, _run

OFF_TOPIC = "你们公司的股票代码是多少"


def test_search_answers_with_the_bands_the_bot_reads(
    kb_client: TestClient, bot_headers: dict[str, str]
) -> None:
    found = kb_client.get(
        "/api/v1/kb/search", params={"q": "洗衣机显示E21", "k": 3}, headers=bot_headers
    )
    assert found.status_code == 200
    body = found.json()
    assert body["band"] == "answer"
    top, *rest = body["results"]
    assert top["id"] == "wm-e21" and top["band"] == "answer"
    assert {"id", "question", "answer", "score", "band"} <= set(top)
    assert "E21" in top["answer"] and top["score"] > rest[0]["score"]
    assert len(rest) == 2 and all(r["band"] in ("suggest", "none") for r in rest)

    nothing = kb_client.get("/api/v1/kb/search", params={"q": OFF_TOPIC}, headers=bot_headers)
    assert nothing.json()["band"] == "none"
    assert all(r["band"] == "none" for r in nothing.json()["results"])


def test_product_narrows_only_by_a_model_code_the_faq_knows(
    kb_client: TestClient, kb: KnowledgeBase, bot_headers: dict[str, str]
) -> None:
    def ids(product: str) -> list[str]:
        params = {"q": "显示E1是什么故障", "k": 10, "product": product}
        response = kb_client.get("/api/v1/kb/search", params=params, headers=bot_headers)
        return [r["id"] for r in response.json()["results"]]

    def products(entry_id: str) -> tuple[str, ...]:
        entry = kb.get(entry_id)
        assert entry is not None
        return entry.products

    everything = ids("")
    assert any(p and "WM-100" not in p for p in map(products, everything))
    washers = ids("wm-100")  # a model code, in any case: other products' entries drop out
    assert any("WM-100" in products(i) for i in washers)
    assert all(not products(i) or "WM-100" in products(i) for i in washers)
    # The bot's product slot may hold a kind of appliance: that must not hide entries.
    assert ids("洗衣机") == everything


def test_searches_are_logged_for_the_bot_and_customers_not_staff(
    kb_client: TestClient, db: Database, settings: Settings, bot_headers: dict[str, str]
) -> None:
    with db.session() as session:
        customer = f.customer(session)
        agent = f.user(session, role="agent")
        as_customer = f.bearer(settings, customer)
        as_agent = f.bearer(settings, agent)
    for headers in (bot_headers, as_customer, as_agent):
        params = {"q": "洗衣机显示 E21"}
        response = kb_client.get("/api/v1/kb/search", params=params, headers=headers)
        assert response.status_code == 200
    with db.session() as session:
        rows = session.scalars(select(KbSearchLog).order_by(KbSearchLog.id)).all()
        assert [(r.source, r.query, r.top_entry_id) for r in rows] == [
            ("bot", "洗衣机显示e21", "wm-e21"),
            ("customer", "洗衣机显示e21", "wm-e21"),
        ]
        assert rows[0].band == "answer" and rows[0].top_score is not None


def test_unanswered_questions_are_normalised_counted_and_ranked(
    kb_client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    asked = [
        OFF_TOPIC + "？",
        OFF_TOPIC.replace("公司", "公司  "),
        "  " + OFF_TOPIC + "?",
        "今天天气怎么样",
        "我的手机13800138000能不能帮我订一张去北京的机票",
        "洗衣机显示E21",  # answered: not on the list
    ]
    for question in asked:
        response = kb_client.get("/api/v1/kb/search", params={"q": question}, headers=bot_headers)
        assert response.status_code == 200
    with db.session() as session:
        rows, total = service.list_unanswered(session)
        assert total == 3
        assert (rows[0].query, rows[0].count) == (OFF_TOPIC, 3)
        # A phone number is not kept.
        assert {(r.query, r.count) for r in rows[1:]} == {
            ("今天天气怎么样", 1),
            ("我的手机#能不能帮我订一张去北京的机票", 1),
        }
        now = utcnow()
        window = {"since": now - timedelta(hours=1), "until": now + timedelta(hours=1)}
        top = service.top_unanswered(session, **window, limit=2)
        assert [(t.query, t.count) for t in top][0] == (OFF_TOPIC, 3) and len(top) == 2
        assert top[0].last_seen.tzinfo is not None
        rate = service.answer_rate(session, **window)
        assert (rate.searches, rate.answered, rate.suggested, rate.unanswered) == (6, 1, 0, 5)
        assert rate.rate == 1 / 6 and rate.coverage == 1 / 6
        assert service.answer_rate(session, **window, source="customer").searches == 0
        earlier = service.answer_rate(
            session, since=now - timedelta(days=2), until=now - timedelta(days=1)
        )
        assert earlier.searches == 0 and earlier.rate is None


def test_a_resolved_question_that_still_finds_nothing_comes_back(
    kb_client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    kb_client.get("/api/v1/kb/search", params={"q": OFF_TOPIC}, headers=bot_headers)
    with db.session() as session:
        [row], _ = service.list_unanswered(session)
        service.close_unanswered(session, row=row, status="resolved", actor="user:1")
    with db.session() as session:
        assert service.list_unanswered(session)[1] == 0
    kb_client.get("/api/v1/kb/search", params={"q": OFF_TOPIC}, headers=bot_headers)
    with db.session() as session:
        [row], _ = service.list_unanswered(session)
        assert (row.status, row.count) == ("open", 2)
        service.close_unanswered(session, row=row, status="dismissed", actor="user:1")
    kb_client.get("/api/v1/kb/search", params={"q": OFF_TOPIC}, headers=bot_headers)
    with db.session() as session:
        row = session.scalars(select(KbUnanswered)).one()
        assert (row.status, row.count) == ("dismissed", 3)  # dismissed stays dismissed


def test_feedback_is_counted_per_entry(
    kb_client: TestClient, db: Database, settings: Settings, bot_headers: dict[str, str]
) -> None:
    def send(entry_id: str, helpful: bool, headers: dict[str, str]) -> TestClient:
        body = {
            "entry_id": entry_id,
            "helpful": helpful,
            "query": "洗衣机E21",
            "conversation_id": "web-abc",
        }
        return kb_client.post("/api/v1/kb/feedback", json=body, headers=headers)

    assert send("wm-e21", True, bot_headers).status_code == 201
    assert send("wm-e21", False, bot_headers).json() == {
        "entry_id": "wm-e21",
        "helpful": 1,
        "not_helpful": 1,
    }
    with db.session() as session:
        customer_headers = f.bearer(settings, f.customer(session))
        agent_headers = f.bearer(settings, f.user(session, role="agent"))
    last = send("wm-e21", True, customer_headers)
    assert last.status_code == 201 and last.json()["helpful"] == 2
    assert send("no-such-entry", True, bot_headers).status_code == 404
    assert send("wm-e21", True, agent_headers).status_code == 403  # staff do not vote
    assert (
        kb_client.post(
            "/api/v1/kb/feedback", json={"entry_id": "wm-e21"}, headers=bot_headers
        ).status_code
        == 422
    )
    with db.session() as session:
        assert service.feedback_counts(session) == {"wm-e21": service.FeedbackCount(2, 1)}
        sources = sorted(r.source for r in session.scalars(select(KbFeedback)))
        assert sources == ["bot", "bot", "customer"]


def test_auth_and_no_knowledge_base(
    kb_client: TestClient, client: TestClient, bot_headers: dict[str, str]
) -> None:
    assert kb_client.get("/api/v1/kb/search", params={"q": "E21"}).status_code == 401
    assert (
        kb_client.get("/api/v1/kb/search", params={"q": ""}, headers=bot_headers).status_code == 422
    )
    # Without a knowledge base the bot gets the 404 it reads as "no FAQ here".
    absent = client.get("/api/v1/kb/search", params={"q": "E21"}, headers=bot_headers)
    assert absent.status_code == 404 and absent.json()["message_zh"] == "知识库未加载"
    body = {"entry_id": "wm-e21", "helpful": True}
    assert client.post("/api/v1/kb/feedback", json=body, headers=bot_headers).status_code == 404


def test_control_characters_are_not_stored(
    kb_client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    # PostgreSQL refuses NUL in text: the question and ids are cleaned before they are logged.
    asked = kb_client.get(
        "/api/v1/kb/search", params={"q": "股票\x00代码\t是多少"}, headers=bot_headers
    )
    assert asked.status_code == 200
    body = {"entry_id": "wm-e21", "helpful": True, "query": "E\x0021", "conversation_id": "c\x001"}
    assert kb_client.post("/api/v1/kb/feedback", json=body, headers=bot_headers).status_code == 201
    with db.session() as session:
        assert session.scalars(select(KbSearchLog.query)).one() == "股票代码是多少"
        feedback = session.scalars(select(KbFeedback)).one()
        assert (feedback.query, feedback.conversation_id) == ("e 21", "c1")


def test_fuzzed_requests_get_no_server_errors(
    kb_settings: Settings, fake_rasa: FakeRasa, bot_headers: dict[str, str]
) -> None:
    # The portal-wide schema test runs without a knowledge base; here the two routes run
    # against a loaded one (given to the app, as schemathesis starts no lifespan).
    app = create_app(
        kb_settings,
        http_transport=httpx.MockTransport(fake_rasa.handler),
        kb=flows.load(kb_settings),
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    ours = [op for op in operations if op.path.startswith("/api/v1/kb/")]
    assert sorted(op.path for op in ours) == ["/api/v1/kb/feedback", "/api/v1/kb/search"]
    try:
        for operation in ours:
            for mode in EXAMPLES:
                _run(operation, mode, bot_headers)
    finally:
        app.state.db.dispose()
