"""The audit log, for admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from portal.audit import service
from portal.audit.policies import Auditor
from portal.database import SessionDep
from portal.privacy.masking import mask_phones_in

router = APIRouter(prefix="/audit", tags=["audit"])

Admin = Auditor


class AuditRead(BaseModel):
    """One audited write."""

    id: int
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime


def masked(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record's values as staff read them: who changed what needs no customer's full
    number (portal.privacy.masking); the audit page shows them the same way."""
    if values is None:
        return None
    return {k: mask_phones_in(v) if isinstance(v, str) else v for k, v in values.items()}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("", response_model=list[AuditRead])
def audit_log(
    session: SessionDep,
    _p: Admin,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AuditRead]:
    """Who changed what and when, newest first (`since` inclusive, `until` exclusive; a
    time without a zone is UTC)."""
    rows = service.list_records(
        session,
        entity=entity,
        entity_id=entity_id,
        actor=actor,
        since=_utc(since),
        until=_utc(until),
        page=page,
        page_size=page_size,
    )
    return [
        AuditRead(
            id=r.id,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            before=masked(r.before),
            after=masked(r.after),
            created_at=r.created_at,
        )
        for r in rows
    ]
