"""Declarative base, engine and the per-request session (commit, rollback, close)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; constraint names are stable across databases."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the page reads go on while the hub writes; busy_timeout waits instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process loses no
    # committed transaction (the WAL file is already written), only a power cut can lose the
    # last few. Waiting for the disk at every commit is what made writers queue for the lock.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_savepoint_writes(
    conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    # A savepoint (session.begin_nested) is how a flow catches a lost race on a write. Opened
    # outside a transaction, SQLite would make it a deferred one: its reads pin a snapshot,
    # and the write after them is refused at once ("database is locked") if another
    # connection committed in between; its release would also commit. So it starts the
    # transaction IMMEDIATE first, as the driver does for a plain write.
    if statement.startswith("SAVEPOINT") and not conn.connection.dbapi_connection.in_transaction:
        cursor.execute("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """An engine for the URL; SQLite gets its folder made and sane pragmas."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # The driver opens a transaction at the first write, not at a read, and opens
            # it IMMEDIATE: the write lock is taken (waiting busy_timeout) before anything
            # is written, so a write never meets a snapshot another commit has outdated.
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "isolation_level": "IMMEDIATE",
            },
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_savepoint_writes)
        return engine
    # pre_ping: a pooled connection the server dropped (restart, pg_terminate_backend) is
    # replaced on checkout instead of failing the next request; connect_timeout and
    # pool_timeout keep a request waiting on a dead server short, so it fails with a 503.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
    )


class Database:
    """One engine and its session factory, created by the app factory, never at import."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def get_session(request: Request) -> Iterator[Session]:
    """The request's session; services flush, this commits once the route has returned."""
    db: Database = request.app.state.db
    with db.session() as session:
        yield session


# scope="function": commit before the response is sent, so a 201 means it is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
