"""The audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from portal.audit import service
from portal.database import SessionDep
from portal.security import Principal, require_roles

router = APIRouter(prefix="/audit", tags=["audit"])

Admin = Annotated[Principal, require_roles("admin")]


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


@router.get("", response_model=list[AuditRead])
def audit_log(
    session: SessionDep,
    _p: Admin,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AuditRead]:
    """Who changed what and when, newest first."""
    rows = service.list_records(
        session, entity=entity, entity_id=entity_id, actor=actor, page=page, page_size=page_size
    )
    return [
        AuditRead(
            id=r.id,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            before=r.before,
            after=r.after,
            created_at=r.created_at,
        )
        for r in rows
    ]
