"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable or in CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import NoParts
from portal.migrate import upgrade
from portal.models import Base

pytest_plugins = ["tests.app_fixtures", "tests.e2e_fixtures", "tests.demo_fixtures"]

# Apps built in tests load no FAQ index unless a test asks (tests/knowledge_portal does):
# building one per app would cost every test a model load for nothing it checks.
os.environ.setdefault("KB_ENABLED", "false")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# Files that start real servers, seed the full demo or fuzz the whole API run first: under
# pytest-xdist (`make test`) the long ones then overlap the many short ones instead of
# running last, one worker busy and the other idle.
LONG_FIRST = (
    "tests/scale/",
    "tests/portal/test_schemathesis.py",
    "tests/portal/test_demo_data.py",  # seeds the shared demo (tests/demo_fixtures.py) early
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first (the e2e marker or LONG_FIRST), each group in its own order."""
    items.sort(
        key=lambda i: 0 if i.get_closest_marker("e2e") or i.nodeid.startswith(LONG_FIRST) else 1
    )


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


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database for the whole session."""
    path: Path = tmp_path_factory.mktemp("db") / "portal.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_database_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this session's own, dropped at its end."""
    gen = _postgres_database()
    url = next(gen)
    upgrade(url)
    yield url
    gen.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test runs on both kinds. Both databases live for the whole session, so tests of
    either kind may come in any order (pytest-xdist hands out whole files) without a new
    database and migration each time the kind changes."""
    url: str = request.getfixturevalue(f"{request.param}_database_url")
    return url


def _truncate(db: Database) -> None:
    with db.engine.begin() as conn:
        # The ledger's triggers refuse deletes (migration 0007c): suspended for this
        # transaction only, to empty the test database.
        restore: list[str] = []
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, sql in triggers:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
                restore.append(sql)
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        for sql in restore:
            conn.execute(text(sql))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The session database, emptied after each test; wired like the app's, so a ticket event
    applied in a test reaches the same lifecycle subscribers. Its parts planner suggests
    nothing, so tickets a factory walks through dispatch hold no parts unless the test asks
    (an app built by `create_app`, or `wiring.wire(..., planner=...)`, uses the stock's)."""
    database = wiring.wire(Database(database_url), Settings(), planner=NoParts())
    try:
        yield database
    finally:
        _truncate(database)
        database.dispose()
