"""The embedded SQLite database's connection settings: what keeps one file usable by the
portal process and the workers at once, and a killed process from losing committed work."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
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


def _other_writer(path: Path) -> bool:
    """Whether another connection, not waiting, could write and commit just now."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO t (v) VALUES ('other')")
        other.commit()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_a_savepoint_that_reads_then_writes_is_not_refused_by_a_writer_between(
    tmp_path: Path,
) -> None:
    # Seen in CI: a ticket filed while another connection committed got a 503 at once, as
    # SQLite refuses to turn a read snapshot into a write once the file moved on. A savepoint
    # (begin_nested, how the ticket flows catch a lost race) now takes the write lock first.
    path = tmp_path / "portal.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v TEXT)"))
        with db.session() as session:
            with session.begin_nested():
                session.execute(text("SELECT count(*) FROM t")).scalar()
                other_wrote = _other_writer(path)  # refused: this savepoint holds the lock
                session.execute(text("INSERT INTO t (v) VALUES ('mine')"))
            # The savepoint's release is not a commit: the lock holds until the session ends.
            assert not _other_writer(path)
        assert not other_wrote
        assert _other_writer(path)  # and once it ends, others write again
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT v FROM t ORDER BY rowid")).scalars().all() == [
                "mine",
                "other",
            ]
    finally:
        db.dispose()


def test_reads_outside_a_write_do_not_hold_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "portal.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v TEXT)"))
        with db.session() as session:
            session.execute(text("SELECT count(*) FROM t")).scalar()
            assert _other_writer(path)  # a page that only reads never blocks a writer
    finally:
        db.dispose()
