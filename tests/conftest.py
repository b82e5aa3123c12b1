"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable or in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.database import Database
from portal.migrate import upgrade
from portal.models import Base

pytest_plugins = ["tests.app_fixtures", "tests.e2e_fixtures"]

# Apps built in tests load no FAQ index unless a test asks (tests/knowledge_portal does):
# building one per app would cost every test a model load for nothing it checks.
os.environ.setdefault("KB_ENABLED", "false")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unavailable(what: str, reason: str) -> None:
    """Fail in CI (the service must be there), skip with a clear message elsewhere."""
    message = f"{what} is not reachable ({reason}); CI=true makes this a failure"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _postgres_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"aftersales_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any connection failure means the server is not there
        admin.dispose()
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, type(exc).__name__)
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A migrated, empty database of each kind, for the whole session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "portal.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    gen = _postgres_database()
    url = next(gen)
    upgrade(url)
    yield url
    gen.close()


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The session database, emptied after each test."""
    database = Database(database_url)
    try:
        yield database
    finally:
        _truncate(database)
        database.dispose()
