"""Reads and writes of WeChat followers, the shared access token and delivery failures."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.wechat.client import REFRESH_MARGIN_S, Fetch, WeChatApi
from portal.config import Settings
from portal.database import Database, utcnow
from portal.errors import NotFound
from portal.wechat.models import (
    WeChatAccessToken,
    WeChatDeliveryFailure,
    WeChatFollower,
    WeChatNonce,
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- followers


def lock_follower(session: Session, *, openid: str) -> WeChatFollower:
    """The follower row of an openid (created on first contact), locked for this transaction.

    The upsert comes first so that it starts the write transaction at once (SQLite), and
    the row lock (PostgreSQL) makes concurrent callbacks of one follower wait for each other
    in every worker: a retry arriving mid-turn then finds the first delivery stored.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(WeChatFollower)
        .values(
            openid=openid,
            subscribed=True,
            bind_state="",
            bind_phone="",
            offered_address="",
            visit_address="",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[WeChatFollower.openid])
    )
    return session.scalars(
        select(WeChatFollower).where(WeChatFollower.openid == openid).with_for_update()
    ).one()


def within_service_window(
    follower: WeChatFollower | None, *, now: datetime, window: timedelta
) -> bool:
    """Whether customer-service messages may still go to this follower."""
    if follower is None or follower.last_contact_at is None:
        return False
    return now - follower.last_contact_at <= window


# ---------------------------------------------------------------- delivery failures


def record_failure(
    session: Session,
    *,
    openid: str,
    reason: str,
    text: str,
    errcode: int | None = None,
    errmsg: str = "",
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> WeChatDeliveryFailure:
    """Keep a message WeChat did not take, for staff to follow up."""
    failure = WeChatDeliveryFailure(
        openid=openid,
        reason=reason,
        text=text,
        errcode=errcode,
        errmsg=errmsg[:1000],
        conversation_id=conversation_id,
        message_id=message_id,
        created_at=utcnow(),
        resolved_by="",
    )
    session.add(failure)
    session.flush()
    return failure


def list_failures(
    session: Session, *, unresolved_only: bool = True, limit: int = 100
) -> list[WeChatDeliveryFailure]:
    """The latest delivery failures, newest first."""
    stmt = select(WeChatDeliveryFailure)
    if unresolved_only:
        stmt = stmt.where(WeChatDeliveryFailure.resolved_at.is_(None))
    return list(session.scalars(stmt.order_by(WeChatDeliveryFailure.id.desc()).limit(limit)))


def resolve_failure(session: Session, *, failure_id: int, actor: str) -> WeChatDeliveryFailure:
    """Mark a failure as followed up."""
    failure = session.get(WeChatDeliveryFailure, failure_id)
    if failure is None:
        raise NotFound("object.wechat_failure")
    if failure.resolved_at is None:
        failure.resolved_at = utcnow()
        failure.resolved_by = actor
        session.flush()
    return failure


# ---------------------------------------------------------------- the shared access token


class TokenUnavailable(RuntimeError):
    """No token could be had within the wait (the refreshing worker is stuck or failing)."""


class DatabaseTokenCache:
    """channels.wechat.TokenCache over one database row per app id, for every worker.

    A caller that finds no usable token tries to claim the row with a conditional UPDATE
    (`lease_until` empty or past, token still unusable); the one whose UPDATE hit the row
    fetches from WeChat and stores the result, everyone else polls until it appears. A
    claim that is never released (the worker died) expires after `lease_s`.
    """

    def __init__(
        self,
        db: Database,
        *,
        lease_s: float = 15.0,
        poll_s: float = 0.05,
        wait_s: float | None = None,
    ) -> None:
        self.db = db
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.wait_s = wait_s if wait_s is not None else 2 * lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]

    def _usable(self, row: WeChatAccessToken | None, *, now: datetime, stale: str | None) -> bool:
        return (
            row is not None
            and bool(row.access_token)
            and row.access_token != stale
            and row.expires_at is not None
            and row.expires_at - timedelta(seconds=REFRESH_MARGIN_S) > now
        )

    def _ensure_row(self, session: Session, app_id: str) -> None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(WeChatAccessToken)
            .values(app_id=app_id, access_token="", lease_holder="", refresh_count=0)
            .on_conflict_do_nothing(index_elements=[WeChatAccessToken.app_id])
        )

    def _read_or_claim(self, app_id: str, stale: str | None) -> tuple[str | None, bool]:
        """(a usable token, or None; whether this caller now holds the refresh claim)."""
        with self.db.session() as session:
            now = utcnow()
            row = session.get(WeChatAccessToken, app_id)
            if row is None:
                self._ensure_row(session, app_id)
                row = session.get(WeChatAccessToken, app_id)
            if self._usable(row, now=now, stale=stale):
                assert row is not None
                return row.access_token, False
            margin = now + timedelta(seconds=REFRESH_MARGIN_S)
            still_unusable = or_(
                WeChatAccessToken.access_token == "",
                WeChatAccessToken.expires_at.is_(None),
                WeChatAccessToken.expires_at <= margin,
            )
            if stale is not None:
                still_unusable = or_(still_unusable, WeChatAccessToken.access_token == stale)
            claimed = cast(
                CursorResult[Any],
                session.execute(
                    update(WeChatAccessToken)
                    .where(
                        WeChatAccessToken.app_id == app_id,
                        or_(
                            WeChatAccessToken.lease_until.is_(None),
                            WeChatAccessToken.lease_until < now,
                        ),
                        still_unusable,
                    )
                    .values(
                        lease_holder=self.holder, lease_until=now + timedelta(seconds=self.lease_s)
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
            return None, claimed.rowcount == 1

    def _store(self, app_id: str, token: str, expires_in: int) -> None:
        with self.db.session() as session:
            now = utcnow()
            session.execute(
                update(WeChatAccessToken)
                .where(WeChatAccessToken.app_id == app_id)
                .values(
                    access_token=token,
                    expires_at=now + timedelta(seconds=expires_in),
                    refreshed_at=now,
                    refresh_count=WeChatAccessToken.refresh_count + 1,
                    lease_holder="",
                    lease_until=None,
                )
                .execution_options(synchronize_session=False)
            )

    def _release(self, app_id: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(WeChatAccessToken)
                .where(
                    WeChatAccessToken.app_id == app_id,
                    WeChatAccessToken.lease_holder == self.holder,
                )
                .values(lease_holder="", lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def token(self, app_id: str, fetch: Fetch, *, stale: str | None = None) -> str:
        """See channels.wechat.TokenCache.token."""
        deadline = time.monotonic() + self.wait_s
        while True:
            token, claimed = self._read_or_claim(app_id, stale)
            if token is not None:
                return token
            if claimed:
                try:
                    token, expires_in = fetch()
                except BaseException:
                    self._release(app_id)  # let the next caller try at once
                    raise
                self._store(app_id, token, expires_in)
                log.info("wechat access token refreshed by %s", self.holder)
                return token
            if time.monotonic() > deadline:
                raise TokenUnavailable(f"no WeChat access token for {app_id} after {self.wait_s}s")
            time.sleep(self.poll_s)


# ---------------------------------------------------------------- the API client


def build_api(settings: Settings, db: Database) -> WeChatApi | None:
    """wechatpy's client with the database-backed token cache, when an app is configured."""
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        return None
    return WeChatApi(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        api_base_url=settings.wechat_api_base_url,
        tokens=DatabaseTokenCache(db, lease_s=settings.wechat_token_lease_s),
        timeout=settings.notify_timeout_s,
    )


# ---------------------------------------------------------------- plaintext-mode nonces


def remember_nonce(
    session: Session, *, nonce: str, timestamp: str, now: datetime, keep: timedelta
) -> bool:
    """True the first time this (nonce, timestamp) comes within `keep`; the expired ones
    are forgotten on the way."""
    session.execute(
        delete(WeChatNonce)
        .where(WeChatNonce.expires_at < now)
        .execution_options(synchronize_session=False)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.scalar(
        insert(WeChatNonce)
        .values(nonce=nonce[:64], timestamp=timestamp[:16], expires_at=now + keep)
        .on_conflict_do_nothing(index_elements=[WeChatNonce.nonce, WeChatNonce.timestamp])
        .returning(WeChatNonce.id)
    )
    return inserted is not None


class DatabaseNonces:
    """channels.wechat.adapter.NonceCheck over the database, shared by every worker."""

    def __init__(self, db: Database, *, keep_s: float) -> None:
        self.db = db
        self.keep = timedelta(seconds=keep_s)

    def _check(self, nonce: str, timestamp: str) -> bool:
        with self.db.session() as session:
            return remember_nonce(
                session, nonce=nonce, timestamp=timestamp, now=utcnow(), keep=self.keep
            )

    async def __call__(self, nonce: str, timestamp: str) -> bool:
        """True the first time this nonce and timestamp come."""
        return await run_in_threadpool(self._check, nonce, timestamp)
