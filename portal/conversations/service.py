"""Reads and writes of conversations and their messages."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import Button, ChannelMessage
from portal.conversations.models import Conversation, Message
from portal.database import utcnow
from portal.errors import NotFound


def find_conversation(session: Session, *, channel: str, sender_id: str) -> Conversation | None:
    """The customer's current (not closed) conversation on that channel."""
    return session.scalars(
        select(Conversation)
        .where(
            Conversation.channel == channel,
            Conversation.sender_id == sender_id,
            Conversation.state != "closed",
        )
        .order_by(Conversation.id.desc())
    ).first()


def get_or_open(session: Session, *, channel: str, sender_id: str) -> Conversation:
    """The current conversation, opened on first contact."""
    conversation = find_conversation(session, channel=channel, sender_id=sender_id)
    if conversation is None:
        conversation = Conversation(
            public_id=uuid.uuid4().hex, channel=channel, sender_id=sender_id, state="bot"
        )
        session.add(conversation)
        session.flush()
    return conversation


def get_by_public_id(session: Session, *, public_id: str) -> Conversation:
    """A conversation by the id the bot and the API use."""
    conversation = session.scalars(
        select(Conversation).where(Conversation.public_id == public_id)
    ).first()
    if conversation is None:
        raise NotFound("object.conversation")
    return conversation


def add_message(
    session: Session,
    *,
    conversation: Conversation,
    direction: str,
    author: str,
    text: str,
    buttons: list[dict[str, Any]] | None = None,
    image_url: str | None = None,
    channel_message_id: str | None = None,
) -> Message | None:
    """Store one message; None when the channel already delivered this message id."""
    message = Message(
        conversation_id=conversation.id,
        direction=direction,
        author=author,
        text=text,
        buttons=buttons or [],
        image_url=image_url,
        channel_message_id=channel_message_id,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        return None
    conversation.last_message_at = message.created_at
    return message


def list_messages(
    session: Session, *, conversation_id: int, after_id: int | None = None
) -> list[Message]:
    """Messages of a conversation, oldest first."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return list(session.scalars(stmt.order_by(Message.id)).all())


def to_channel_message(message: Message, conversation: Conversation) -> ChannelMessage:
    """A stored message in the shape channels speak."""
    return ChannelMessage(
        channel=conversation.channel,
        sender_id=conversation.sender_id,
        text=message.text,
        direction="in" if message.direction == "in" else "out",
        buttons=tuple(Button(title=b["title"], payload=b["payload"]) for b in message.buttons),
        image_url=message.image_url,
        message_id=message.channel_message_id,
        author=message.author,
        id=message.id,
        created_at=message.created_at,
    )
