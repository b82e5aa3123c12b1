"""Automatic audit: every flush made on behalf of a staff member records who changed what.

The session dependency puts the caller's actor name in `session.info["audit_actor"]`; a flush
hook then writes one AuditRecord per inserted, updated or deleted row, with the values before
and after. Nothing has to remember to call it, so no staff write can slip past.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, event, insert, inspect, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditRecord
from portal.database import Base, utcnow

ACTOR_KEY = "audit_actor"
REDACTED = frozenset({"password_hash", "code_hash", "totp_secret"})
# Rows that are themselves records of what happened; auditing them again adds nothing.
SKIPPED = frozenset({"audit_log", "ticket_sequences", "idempotency_records", "login_attempts"})
# Figures rebuilt from the tickets (their changes are the tickets' own, audited there) and
# the WeChat token and replay caches: nobody's change, and noise beside every staff write.
DERIVED = frozenset(
    {
        "analytics_columns",
        "analytics_daily",
        "analytics_dirty",
        "analytics_monthly",
        "analytics_state",
        "ticket_stage_facts",
        "wechat_access_tokens",
        "wechat_nonces",
    }
)
SKIPPED |= DERIVED


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    # An engineer's working hours are times of day: a staff-made engineer was unauditable.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _row(obj: Base, *, which: str) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if which == "after":
            value = getattr(obj, key)
        else:
            history = state.attrs[key].history
            value = history.deleted[0] if history.deleted else getattr(obj, key)
        out[key] = "***" if key in REDACTED else _plain(value)
    return out


def _changed(obj: Base) -> bool:
    state = inspect(obj)
    return any(state.attrs[a.key].history.has_changes() for a in state.mapper.column_attrs)


def _entity_id(obj: Base) -> str:
    # After a flush a new row has its primary key but no identity key yet: read the key.
    state = inspect(obj)
    key = state.identity or state.mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key) if key and None not in key else ""


def _after_flush(session: Session, _context: Any) -> None:
    actor = session.info.get(ACTOR_KEY)
    if not actor:
        return
    rows = []
    now = utcnow()
    for kind, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not isinstance(obj, Base) or obj.__tablename__ in SKIPPED:
                continue
            if kind == "update" and not _changed(obj):
                continue
            rows.append(
                {
                    "actor": actor,
                    "action": kind,
                    "entity": obj.__tablename__,
                    "entity_id": _entity_id(obj),
                    "before": None if kind == "insert" else _row(obj, which="before"),
                    "after": None if kind == "delete" else _row(obj, which="after"),
                    "created_at": now,
                }
            )
    if rows:
        session.connection().execute(insert(AuditRecord), rows)


event.listen(Session, "after_flush", _after_flush)


def _filtered(
    stmt: Select[Any],
    *,
    entity: str | None,
    entity_id: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    if entity:
        stmt = stmt.where(AuditRecord.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditRecord.entity_id == entity_id)
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    if since is not None:
        stmt = stmt.where(AuditRecord.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditRecord.created_at < until)
    return stmt


def list_records(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    page_size: int = 50,
    peek: bool = False,
) -> list[AuditRecord]:
    """Audit records, newest first; `since` inclusive, `until` exclusive. With `peek` one
    record past the page comes too: whether there is a next page, without counting them all."""
    stmt = _filtered(
        select(AuditRecord),
        entity=entity,
        entity_id=entity_id,
        actor=actor,
        since=since,
        until=until,
    )
    stmt = (
        stmt.order_by(AuditRecord.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size + (1 if peek else 0))
    )
    return list(session.scalars(stmt).all())
