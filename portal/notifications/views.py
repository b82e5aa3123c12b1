"""Staff members' own in-portal notifications: list, mark read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from portal.database import SessionDep
from portal.errors import Forbidden
from portal.notifications import service
from portal.notifications.flows import render
from portal.notifications.models import Notification
from portal.notifications.policies import Recipient
from portal.notifications.schemas import NotificationPage, NotificationRead, ReadAll
from portal.security import Principal

router = APIRouter(prefix="/notifications", tags=["notifications"])


def _staff_user(principal: Principal) -> int:
    """In-portal notifications are for staff with an account."""
    if principal.kind != "staff" or principal.user_id is None:
        raise Forbidden("error.forbidden")
    return principal.user_id


def to_read(notification: Notification) -> NotificationRead:
    """The API shape of a notification."""
    text, text_en = render(notification.template, notification.payload)
    number = notification.payload.get("number")
    return NotificationRead(
        id=notification.id,
        template=notification.template,
        text=text,
        text_en=text_en,
        ticket_id=notification.ticket_id,
        ticket_number=str(number) if number else None,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


@router.get("/mine", response_model=NotificationPage)
def mine(
    session: SessionDep,
    principal: Recipient,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotificationPage:
    """The caller's notifications, newest first (only unread ones with unread=true)."""
    rows, total, unread_count = service.list_mine(
        session,
        user_id=_staff_user(principal),
        unread_only=unread,
        page=page,
        page_size=page_size,
    )
    return NotificationPage(
        items=[to_read(n) for n in rows],
        total=total,
        unread=unread_count,
        page=page,
        page_size=page_size,
    )


@router.post("/{notification_id}/read", response_model=NotificationRead)
def mark_read(
    notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: Recipient,
) -> NotificationRead:
    """Mark one of the caller's notifications read."""
    return to_read(
        service.mark_read(session, user_id=_staff_user(principal), notification_id=notification_id)
    )


@router.post("/read-all", response_model=ReadAll)
def mark_all_read(session: SessionDep, principal: Recipient) -> ReadAll:
    """Mark every notification of the caller read."""
    return ReadAll(updated=service.mark_all_read(session, user_id=_staff_user(principal)))
