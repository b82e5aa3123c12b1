"""A database with data in every table upgrades from the oldest revision to head.

A migration that only works on empty tables (a NOT NULL column without a default, a unique
index over duplicates, a data step that assumes rows exist) passes the schema tests and fails
the first real company that upgrades. Here every table of the oldest schema, and again of a
middle one, gets rows before the upgrade, and they are all still there after it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    Time,
    create_engine,
    func,
    select,
)
from sqlalchemy.sql.schema import Column

from portal.migrate import alembic_config, upgrade
from tests.conftest import IN_CI, _postgres_database

ROWS = 3  # per table: enough for a unique index over a new column to notice duplicates
# Tables whose CHECK wants exactly one of two references: the columns left empty.
ONE_OF = {"maintenance_plans": ("model_id",)}


def revisions() -> list[str]:
    """Every revision, oldest first, along the one line of history."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not IN_CI:
        pytest.skip("PostgreSQL runs under CI=true")
    gen = _postgres_database()
    yield next(gen)
    gen.close()


def value(column: Column[Any], n: int, parents: dict[str, list[Any]]) -> Any:
    """A plausible value for the column in row n (foreign keys point at real parent rows)."""
    for key in column.foreign_keys:
        ids = parents.get(key.column.table.name)
        if ids:
            return ids[n % len(ids)]
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return n % 2 == 0
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 1 + n, 9, 0, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 1, 1 + n)
    if isinstance(kind, Time):
        return time(8 + n, 30)
    if isinstance(kind, Numeric):
        return Decimal(n + 1)
    if isinstance(kind, Integer):
        return n + 1
    if isinstance(kind, JSON):
        return []
    if isinstance(kind, String | Text):
        text = f"{column.name[:6]}{n}{uuid.uuid4().hex[:8]}"
        length = getattr(kind, "length", None)
        return text[-length:] if length else text
    try:  # anything else (REAL, BIGINT as reflected …) by its Python type
        python = kind.python_type
    except NotImplementedError:
        return None
    return python(n + 1) if python in (int, float, Decimal) else None


def populate(url: str) -> dict[str, int]:
    """ROWS rows in every table (parents first); the count per table."""
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    parents: dict[str, list[Any]] = {}
    counts: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            for table in meta.sorted_tables:
                if table.name == "alembic_version":
                    continue
                for n in range(ROWS):
                    row = {
                        c.name: value(c, n, parents)
                        for c in table.columns
                        if not (c.primary_key and isinstance(c.type, Integer) and c.autoincrement)
                    }
                    for column in ONE_OF.get(table.name, ()):
                        row[column] = None  # a CHECK allows one of the two, not both
                    conn.execute(table.insert().values(**row))
                key = next(iter(table.primary_key.columns), None)
                if key is not None:
                    parents[table.name] = list(conn.scalars(select(key)))
                counts[table.name] = ROWS
    finally:
        engine.dispose()
    return counts


def counts_now(url: str, tables: dict[str, int]) -> dict[str, int]:
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    try:
        with engine.connect() as conn:
            return {
                name: conn.scalar(select(func.count()).select_from(meta.tables[name])) or 0
                for name in tables
                if name in meta.tables
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", ["oldest", "middle"])
def test_a_populated_database_upgrades_to_head_and_keeps_its_rows(
    empty_url: str, start: str
) -> None:
    history = revisions()
    first = history[0] if start == "oldest" else history[len(history) // 2]
    upgrade(empty_url, first)
    before = populate(empty_url)
    assert before, "the starting schema has tables"
    upgrade(empty_url)  # to head
    after = counts_now(empty_url, before)
    # A table may be dropped or renamed by a later revision; none may lose rows on the way.
    assert {name: n for name, n in after.items() if n < before[name]} == {}


def test_every_revision_is_on_the_line() -> None:
    # revisions() walks one line; merges keep it one (test_migrations checks the single head).
    assert len(revisions()) == len(set(revisions())) >= 20
    assert list(itertools.islice(revisions(), 1)) == ["0001"]
