"""Conversation JSON routes for staff and the bot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from portal.conversations import service
from portal.database import SessionDep
from portal.security import Principal, require_roles

router = APIRouter(prefix="/conversations", tags=["conversations"])

CanRead = Annotated[Principal, require_roles("bot", "agent", "dispatcher")]


class MessageRead(BaseModel):
    """One stored message."""

    id: int
    direction: str
    author: str
    text: str
    buttons: list[dict[str, str]]
    created_at: str


class ConversationRead(BaseModel):
    """A conversation with its transcript."""

    public_id: str
    channel: str
    state: str
    messages: list[MessageRead]


@router.get("/{public_id}", response_model=ConversationRead)
def get_conversation(public_id: str, session: SessionDep, _p: CanRead) -> ConversationRead:
    """One conversation and its full transcript."""
    conversation = service.get_by_public_id(session, public_id=public_id)
    messages = service.list_messages(session, conversation_id=conversation.id)
    return ConversationRead(
        public_id=conversation.public_id,
        channel=conversation.channel,
        state=conversation.state,
        messages=[
            MessageRead(
                id=m.id,
                direction=m.direction,
                author=m.author,
                text=m.text,
                buttons=m.buttons,
                created_at=m.created_at.isoformat(),
            )
            for m in messages
        ],
    )
