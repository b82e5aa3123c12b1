"""Request and response shapes of staff members' in-portal notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class NotificationRead(BaseModel):
    """One in-portal notification, in Chinese and English."""

    id: int
    template: str
    text: str
    text_en: str
    ticket_id: int | None
    ticket_number: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    """A page of the caller's notifications, and how many are unread in all."""

    items: list[NotificationRead]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAll(BaseModel):
    """How many notifications were marked read."""

    updated: int
