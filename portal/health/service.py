"""The checks behind /healthz and /readyz: database, migrations, HTTP dependencies."""

from __future__ import annotations

from functools import lru_cache

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text

from portal.database import Database
from portal.migrate import alembic_config


def database_ok(db: Database) -> dict[str, object]:
    """`up` when the database answers a query; `down` with the driver's reason otherwise."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "up"}
    except Exception as exc:  # any driver error means down; the reason is reported
        return {"status": "down", "error": str(exc)[:200]}


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The migration heads this code ships (read once: the files do not change at run time)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def migrations_ok(db: Database) -> dict[str, object]:
    """`up` when the database is at every head of the code's migrations."""
    try:
        with db.engine.connect() as conn:
            # Read directly: alembic's MigrationContext logs two lines per probe.
            current = frozenset(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:  # no version table, or no database: not migrated
        return {"status": "down", "error": str(exc)[:200]}
    expected = code_heads()
    if current == expected:
        return {"status": "up"}
    return {
        "status": "down",
        "error": "not at head",
        "missing": sorted(expected - current),
        "unknown": sorted(current - expected),
    }


async def http_ok(
    http: httpx.AsyncClient, url: str, timeout: float, headers: dict[str, str] | None = None
) -> dict[str, object]:
    """`up` when `url` answers 200 within `timeout`."""
    try:
        response = await http.get(url, timeout=timeout, headers=headers)
    except httpx.HTTPError as exc:
        return {"status": "down", "error": type(exc).__name__}
    if response.status_code != 200:
        return {"status": "down", "error": f"HTTP {response.status_code}"}
    return {"status": "up"}
