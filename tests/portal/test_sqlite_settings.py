"""The embedded SQLite database's connection settings: what keeps one file usable by the
portal process and the workers at once, and a killed process from losing committed work."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

from sqlalchemy import text

from portal.database import Database


def _pragma(db: Database, name: str) -> object:
    with db.engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()


def test_every_connection_gets_wal_normal_sync_busy_wait_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'portal.db'}")
    try:
        assert _pragma(db, "journal_mode") == "wal"
        assert _pragma(db, "synchronous") == 1  # NORMAL
        assert _pragma(db, "busy_timeout") == 10000
        assert _pragma(db, "foreign_keys") == 1
    finally:
        db.dispose()


def _write_then_die(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('committed')"))
    with db.engine.connect() as conn:
        conn.execute(text("INSERT INTO t (v) VALUES ('not committed')"))
        os.kill(os.getpid(), signal.SIGKILL)  # no commit, no checkpoint, no clean close


def test_a_killed_process_keeps_what_it_committed_and_nothing_else(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v TEXT)"))
        child = multiprocessing.get_context("spawn").Process(target=_write_then_die, args=(url,))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == -9
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT v FROM t")).scalars().all()
        assert rows == ["committed"]
    finally:
        db.dispose()
