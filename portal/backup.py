"""Backups of the embedded database (`python -m portal backup` / `restore`).

SQLite's online backup API copies a consistent snapshot while the portal keeps running and
writing. PostgreSQL deployments use pg_dump / pg_restore instead (docs/operations.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from portal.errors import Invalid


def sqlite_path(database_url: str) -> Path:
    """The file behind a SQLite URL; other databases are refused with what to use instead."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise Invalid("backup.not_sqlite")
    return Path(url.database)


def backup(database_url: str, target: Path) -> Path:
    """Copy the live database to `target` (a new file), consistent while writers run."""
    source = sqlite_path(database_url)
    if not source.exists():
        raise Invalid("backup.no_database", path=str(source))
    if target.exists():
        raise Invalid("backup.target_exists", path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    copy.close()
    live.close()
    return target


def restore(database_url: str, source: Path) -> Path:
    """Replace the live database's contents with a backup made by `backup`.

    The backup is checked first (a SQLite file that passes its integrity check and carries a
    migration version), so a wrong file never overwrites the data. Stop the portal first:
    open connections would keep reading what they had cached.
    """
    target = sqlite_path(database_url)
    if not source.is_file():
        raise Invalid("backup.no_file", path=str(source))
    candidate = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        healthy = candidate.execute("PRAGMA integrity_check").fetchone()
        versions = candidate.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise Invalid("backup.not_a_backup", path=str(source), reason=str(exc)) from exc
    finally:
        candidate.close()
    if healthy != ("ok",) or not versions:
        raise Invalid("backup.not_a_backup", path=str(source), reason=str(healthy))
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as saved, sqlite3.connect(target) as live:
        saved.backup(live)
    saved.close()
    live.close()
    return target
