"""One seeded demo database per kind for the whole run, copied for each test that reads it.

Seeding the demo (600 tickets with their chats, parts and settlement) takes minutes; three test
files check what it made. The first of them to ask seeds it once, under a lock shared by the
pytest-xdist workers; every test then gets its own copy (a file copy for SQLite, a
`CREATE DATABASE … TEMPLATE` for PostgreSQL), so a test may change its copy freely.
"""

from __future__ import annotations

import atexit
import shutil
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from filelock import FileLock
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import wiring
from portal.config import Settings
from portal.database import Database
from portal.demo.seed import seed
from portal.dispatch.parts import NoParts
from portal.migrate import upgrade
from tests.conftest import POSTGRES_ADMIN_URL, unavailable

# The demo's clock and size, as the tests that read it state their expectations.
DEMO_NOW = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
DEMO_TICKETS = 600


def _wired(url: str) -> Database:
    return wiring.wire(Database(url), Settings(), planner=NoParts())  # as the db fixture


def _seed_into(url: str) -> None:
    upgrade(url)
    database = _wired(url)
    try:
        with database.session() as session:
            seed(session, tickets=DEMO_TICKETS, now=DEMO_NOW, progress=False)
    finally:
        database.dispose()


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the parent of the workers' own)."""
    base = factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


def _sqlite_copy(shared: Path, into: Path) -> str:
    seeded = shared / "demo-seeded.db"
    with FileLock(str(shared / "demo-seeded.db.lock")):
        if not seeded.exists():
            building = shared / f"demo-building-{uuid.uuid4().hex[:8]}.db"
            _seed_into(f"sqlite:///{building}")
            building.rename(seeded)
    copy = into / "demo.db"
    shutil.copyfile(seeded, copy)
    return f"sqlite:///{copy}"


def _postgres_copy(shared: Path) -> Generator[str, None, None]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means the server is not there
        admin.dispose()
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, type(exc).__name__)
    name_file = shared / "demo-template.name"
    with FileLock(str(shared / "demo-template.lock")):
        template = name_file.read_text().strip() if name_file.exists() else ""
        with admin.connect() as conn:
            there = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}
            ).first()
        if there is None:  # first asked, or dropped by the worker that made it
            template = f"aftersales_demo_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{template}"'))
            url = make_url(POSTGRES_ADMIN_URL).set(database=template)
            _seed_into(url.render_as_string(hide_password=False))
            name_file.write_text(template)
            atexit.register(_drop, template)  # the worker that made it drops it at its end
        copy = f"aftersales_test_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=copy).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def _drop(template: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_db(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A database holding the seeded demo (DEMO_TICKETS at DEMO_NOW), this test's own copy."""
    shared = _shared_dir(tmp_path_factory)
    if request.param == "sqlite":
        database = _wired(_sqlite_copy(shared, tmp_path))
        try:
            yield database
        finally:
            database.dispose()
        return
    copies = _postgres_copy(shared)
    database = _wired(next(copies))
    try:
        yield database
    finally:
        database.dispose()
        copies.close()
