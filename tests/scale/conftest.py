"""Fixtures for running several portal workers: one PostgreSQL database and one Redis
(TEST_POSTGRES_URL, TEST_REDIS_URL), shared by two app instances or by real processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.main import create_app
from portal.migrate import upgrade
from portal.stack import ensure_database
from tests.app_fixtures import BOT_TOKEN
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    _postgres_database,
    _truncate,
    unavailable,
)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (TEST_REDIS_URL), reachable."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable("Redis at " + REDIS_URL, type(exc).__name__)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database of its own, for the session."""
    gen = _postgres_database()
    url = next(gen)
    upgrade(url)
    yield url
    gen.close()


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    """The PostgreSQL database, emptied after each test."""
    database = wiring.wire(Database(pg_url), Settings(), planner=NoParts())  # as the db fixture
    try:
        yield database
    finally:
        _truncate(database)
        database.dispose()


def drop_database(name: str) -> None:
    """Drop a PostgreSQL database, ending the connections still open on it first."""
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        engine.dispose()


def unique_database_name(prefix: str) -> str:
    """A database name of this run's own, so parallel or aborted runs never share one."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own for the block (its URL), dropped afterwards."""
    name = unique_database_name(prefix)
    try:
        url = ensure_database(POSTGRES_ADMIN_URL, name)
    except Exception as exc:  # any connection failure means the server is not there
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, type(exc).__name__)
    try:
        yield url
    finally:
        drop_database(name)


def scaled_settings(db_url: str, redis_url: str, prefix: str, var: Path, **extra: Any) -> Settings:
    """Settings of one worker of a scaled portal."""
    values: dict[str, Any] = {
        "database_url": db_url,
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "var_dir": var,
        "bot_service_token": BOT_TOKEN,
        "rasa_token": "test-rasa-token",
        "secret_key": "test-secret",
        "handoff_tick_s": 0.05,
        "handoff_heartbeat_timeout_s": 30.0,
        # Load from one address; the REST limits are tested in tests/channels.
        "rest_rate_sender_per_min": 0,
        "rest_rate_key_per_min": 0,
        "rest_rate_ip_per_min": 0,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


@pytest.fixture
def make_worker(
    pg: Database, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """Start an app instance on the shared database and Redis: `make_worker(handler)`."""
    clients: list[TestClient] = []

    def make(handler: Callable[[httpx.Request], Any], **extra: Any) -> TestClient:
        url = extra.pop("redis_url", redis_url)
        settings = scaled_settings(pg.url, url, redis_prefix, tmp_path, **extra)
        app = create_app(settings, http_transport=httpx.MockTransport(handler))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
