"""Request ids, log lines with request and conversation ids, Prometheus metrics and the
readiness/liveness endpoints, through the whole app over a real database."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from portal.config import ROOT, Settings
from portal.conversations.models import Conversation
from portal.database import Database, utcnow
from portal.health.service import code_heads
from portal.main import create_app
from portal.migrate import upgrade
from portal.notifications import service as notifications
from portal.observability.logs import configure_logging
from portal.sla.models import SlaTimer
from tests.app_fixtures import RASA_TOKEN, FakeRasa
from tests.portal import factories as f

VISITOR = "v0123456789abcdef0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def our_handler() -> logging.Handler:
    """The handler the app installed on the root logger."""
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_portal_observability", 0)]
    return handler


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the app's log handler writes, captured (call after the app is built)."""
    buffer = io.StringIO()
    handler = our_handler()
    assert isinstance(handler, logging.StreamHandler)
    old = handler.setStream(buffer)
    yield buffer
    handler.setStream(old)


# ------------------------------------------------------------------ request ids


def test_a_request_id_is_generated_and_echoed(client: TestClient) -> None:
    first = client.get("/livez").headers["x-request-id"]
    second = client.get("/livez").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


def test_the_clients_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/api/v1/tickets", headers={"X-Request-ID": "lb-7f3a.42:x"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "lb-7f3a.42:x"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "a/b;c=d", "<script>", ""])
def test_a_malformed_request_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/livez", headers={"X-Request-ID": bad})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_the_widget_socket_gets_a_request_id_too(client: TestClient) -> None:
    url = f"/channels/web/ws?visitor_id={VISITOR}&site_key=demo"
    with client.websocket_connect(url, headers={"X-Request-ID": "ws-req-1"}) as ws:
        assert ws.receive_json()["type"] == "history"
        assert (b"x-request-id", b"ws-req-1") in (ws.extra_headers or [])


# ------------------------------------------------------------------ structured logs


@pytest.fixture
def json_settings(settings: Settings) -> Settings:
    """The test settings with JSON log lines."""
    return settings.model_copy(update={"log_format": "json"})


@pytest.fixture
def json_client(json_settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The app logging JSON lines."""
    app = create_app(json_settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as test_client:
        yield test_client
    configure_logging(json_settings.model_copy(update={"log_format": "text"}))


def test_json_lines_carry_the_request_and_conversation_ids(
    json_client: TestClient, log_lines: io.StringIO, db: Database
) -> None:
    response = json_client.post(
        "/channels/rest/webhook",
        json={"sender": "cust-42", "message": "洗衣机不转"},
        headers={"X-Request-ID": "trace-001"},
    )
    assert response.status_code == 200, response.text
    with db.session() as s:
        public_id = s.scalar(
            select(Conversation.public_id).where(Conversation.sender_id == "cust-42")
        )
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "portal.access"]
    assert access[-1]["request_id"] == "trace-001"
    assert access[-1]["route"] == "/channels/rest/webhook" and access[-1]["status"] == 200
    assert access[-1]["conversation_id"] == public_id
    # The hub's outbound call to Rasa, logged by httpx inside the turn, carries both ids.
    rasa_calls = [e for e in entries if "/webhooks/rest/webhook" in e["message"]]
    assert rasa_calls and all(
        e["request_id"] == "trace-001" and e["conversation_id"] == public_id for e in rasa_calls
    )


def test_ids_do_not_leak_into_the_next_request(
    json_client: TestClient, log_lines: io.StringIO
) -> None:
    json_client.post("/channels/rest/webhook", json={"sender": "a1", "message": "你好"})
    json_client.get("/livez", headers={"X-Request-ID": "second"})
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (livez,) = [e for e in entries if e.get("path") == "/livez"]
    assert livez["request_id"] == "second" and livez["conversation_id"] is None


def test_text_lines_show_the_ids_in_brackets(client: TestClient, log_lines: io.StringIO) -> None:
    client.get("/livez", headers={"X-Request-ID": "plain-1"})
    (line,) = [x for x in log_lines.getvalue().splitlines() if "GET /livez" in x]
    assert "portal.access [req=plain-1]: GET /livez 200" in line
    with pytest.raises(ValueError):
        json.loads(line)


# ------------------------------------------------------------------ metrics


def test_request_latency_is_labelled_by_route_template(
    client: TestClient, db: Database, settings: Settings
) -> None:
    before = client.get("/metrics").text
    with db.session() as session:  # a desk user: the bot no longer reads tickets (issue 18)
        headers = f.bearer(settings, f.user(session, role="agent"))
    client.get("/api/v1/tickets/987654", headers=headers)
    client.get("/no/such/page/12345")
    client.get("/static/no-such-file-12345.js")
    after = client.get("/metrics").text
    name = "portal_http_request_duration_seconds_count"
    template = {"method": "GET", "route": "/api/v1/tickets/{ref}", "status": "404"}
    assert value(after, name, **template) == value(before, name, **template) + 1
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(after, name, **unmatched) == value(before, name, **unmatched) + 1
    static = {"method": "GET", "route": "/static/{path}", "status": "404"}
    assert value(after, name, **static) == value(before, name, **static) + 1
    # No raw path became a label (the values, such as `_created` timestamps, may hold any
    # digits).
    labels = {label for _, pairs in samples(after) for _, label in pairs}
    assert not [v for v in labels if "12345" in v or "987654" in v]


def test_chat_turns_are_timed_by_outcome(client: TestClient, fake_rasa: FakeRasa) -> None:
    name = "portal_chat_turn_duration_seconds_count"
    before = client.get("/metrics").text
    client.post("/channels/rest/webhook", json={"sender": "t1", "message": "你好"})
    fake_rasa.up = False
    client.post("/channels/rest/webhook", json={"sender": "t1", "message": "在吗"})
    after = client.get("/metrics").text
    assert value(after, name, outcome="ok") == value(before, name, outcome="ok") + 1
    assert value(after, name, outcome="error") == value(before, name, outcome="error") + 1


def test_queue_outbox_and_sla_are_read_from_the_database(client: TestClient, db: Database) -> None:
    now = utcnow()
    with db.session() as s:
        for _ in range(3):
            f.conversation(s, state="waiting", waiting_since=now)
        f.conversation(s, state="bot")
        for n, age in enumerate((30, 600)):
            notifications.enqueue(
                s,
                key=f"obs-{n}",
                channel="sms",
                recipient="13800138000",
                template="ticket_accepted",
                payload={},
                at=now - timedelta(seconds=age),
            )
        ticket = f.ticket(s, customer=f.customer(s))
        for kind, state, fired in (
            ("response", "breached", True),
            ("response", "met", True),  # breached, then met late: still a breach
            ("arrival", "pending", False),
        ):
            s.add(
                SlaTimer(
                    ticket_id=ticket.id,
                    kind=kind,
                    started_at=now,
                    duration_s=60,
                    due_at=now,
                    warn_at=now,
                    state=state,
                    fired_at=now if fired else None,
                )
            )
        # The new ticket may have queued notifications of its own: count what is there.
        by_status = notifications.counts_by_status(s)
    assert by_status.get("pending", 0) >= 2
    text = client.get("/metrics").text
    assert value(text, "portal_metrics_database_up") == 1
    assert value(text, "portal_handoff_queue_depth") == 3
    assert value(text, "portal_outbox_pending", status="pending") == by_status["pending"]
    assert value(text, "portal_outbox_pending", status="sending") == by_status.get("sending", 0)
    assert 600 <= value(text, "portal_outbox_lag_seconds") < 3600
    assert value(text, "portal_sla_breaches_total", kind="response") == 2
    assert value(text, "portal_sla_breaches_total", kind="arrival") == 0
    assert value(text, "portal_sla_breached_open", kind="response") == 1


def test_outbox_lag_is_zero_when_nothing_waits(client: TestClient) -> None:
    text = client.get("/metrics").text
    assert value(text, "portal_outbox_lag_seconds") == 0
    assert value(text, "portal_handoff_queue_depth") == 0


def test_metrics_ask_for_the_token_when_one_is_set(settings: Settings, fake_rasa: FakeRasa) -> None:
    app = create_app(
        settings.model_copy(update={"metrics_token": "scrape-me"}),
        http_transport=httpx.MockTransport(fake_rasa.handler),
    )
    with TestClient(app) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and "message_zh" in refused.json()
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200 and "portal_handoff_queue_depth" in ok.text


WORKER = """
import sys
from portal.observability.metrics import REQUEST_LATENCY
REQUEST_LATENCY.labels("GET", "/api/v1/tickets", "200").observe(float(sys.argv[1]))
"""

SCRAPE = """
from portal.database import Database
from portal.observability.exposition import render
import sys
print(render(Database(sys.argv[1]), multiprocess_dir=sys.argv[2]).decode())
"""


def test_multiprocess_mode_adds_up_every_workers_observations(
    tmp_path: Path, database_url: str
) -> None:
    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "PYTHONPATH": str(ROOT)}
    for seconds in ("0.2", "0.4"):  # two worker processes, each observing one request
        subprocess.run([sys.executable, "-c", WORKER, seconds], env=env, check=True, cwd=ROOT)
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPE, database_url, str(shared)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    labels = {"method": "GET", "route": "/api/v1/tickets", "status": "200"}
    assert value(scraped, "portal_http_request_duration_seconds_count", **labels) == 2
    assert value(scraped, "portal_http_request_duration_seconds_sum", **labels) == pytest.approx(
        0.6
    )
    assert value(scraped, "portal_metrics_database_up") == 1


# ------------------------------------------------------------------ readiness and liveness


def test_ready_when_database_migrations_and_rasa_are_fine(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["reasons"] == []
    assert {k: v["status"] for k, v in response.json()["checks"].items()} == {
        "database": "up",
        "migrations": "up",
        "rasa": "up",
    }


def test_not_ready_without_rasa(client: TestClient, fake_rasa: FakeRasa) -> None:
    fake_rasa.up = False
    response = client.get("/readyz")
    assert response.status_code == 503
    (reason,) = response.json()["reasons"]
    assert reason["check"] == "rasa" and "Rasa" in reason["message_en"]
    assert "机器人" in reason["message_zh"]
    assert client.get("/livez").status_code == 200  # alive all the same


def test_rasa_is_not_checked_when_not_configured(settings: Settings, fake_rasa: FakeRasa) -> None:
    fake_rasa.up = False
    app = create_app(
        settings.model_copy(update={"rasa_url": ""}),
        http_transport=httpx.MockTransport(fake_rasa.handler),
    )
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 200 and "rasa" not in response.json()["checks"]


def _client_for(url: str, tmp_path: Path, fake_rasa: FakeRasa) -> TestClient:
    settings = Settings(_env_file=None, database_url=url, var_dir=tmp_path, rasa_token=RASA_TOKEN)
    return TestClient(create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler)))


def test_not_ready_when_migrations_are_behind(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    with _client_for(url, tmp_path, fake_rasa) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["status"] == "up"
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "down"
    assert migrations["missing"] == sorted(code_heads()) and migrations["unknown"] == ["0002"]
    assert [r["check"] for r in body["reasons"]] == ["migrations"]


def test_not_ready_but_alive_when_the_database_is_gone(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"  # nothing listens on port 9
    with _client_for(url, tmp_path, fake_rasa) as client:
        ready = client.get("/readyz")
        alive = client.get("/livez")
    assert ready.status_code == 503
    assert [r["check"] for r in ready.json()["reasons"]] == ["database"]
    assert "数据库" in ready.json()["reasons"][0]["message_zh"]
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
