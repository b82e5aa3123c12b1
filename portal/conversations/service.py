"""Reads and writes of conversations, their messages, notes, events and agent profiles.

A conversation's state changes only through `change_state`, which checks the move and
records an event with actor and time. Keyword-only; flush, never commit.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import Button, ChannelMessage
from portal.accounts.models import User
from portal.conversations import policies
from portal.conversations.models import (
    AgentProfile,
    Conversation,
    ConversationAttachment,
    ConversationEvent,
    ConversationNote,
    Message,
)
from portal.customers.models import ChannelIdentity, Customer
from portal.database import utcnow
from portal.errors import Conflict, Invalid, NotFound
from portal.i18n import Term
from portal.tickets.models import Ticket
from portal.tickets.service import sniff

# Which moves each step may make: kind -> (from states, to state).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "handoff": (frozenset({"bot"}), "waiting"),
    "accept": (frozenset({"waiting"}), "agent"),
    "pickup": (frozenset({"bot", "waiting"}), "agent"),
    "transfer_agent": (frozenset({"agent"}), "agent"),
    "transfer_team": (frozenset({"agent"}), "waiting"),
    "requeue": (frozenset({"agent"}), "waiting"),
    "end": (frozenset({"agent", "waiting"}), "bot"),
    "close": (frozenset({"bot", "waiting", "agent"}), "closed"),
}
# Stored roles of the staff who chat with customers in the console.
CHAT_ROLES = tuple(sorted(role.value for role in policies.CHATTERS))


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


# A closed chat's rating question stays open this long: a customer who reloads the page
# before answering still sees it, and their bare score rates that chat.
RATING_OPEN_FOR = timedelta(days=1)


def awaiting_rating(session: Session, *, channel: str, sender_id: str) -> Conversation | None:
    """The customer's last conversation when an agent closed it with its rating question
    unanswered (less than RATING_OPEN_FOR ago) and no newer conversation has begun."""
    if find_conversation(session, channel=channel, sender_id=sender_id) is not None:
        return None
    last = session.scalars(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.sender_id == sender_id)
        .order_by(Conversation.id.desc())
    ).first()
    if last is None or not last.csat_pending:
        return None
    if last.last_message_at < utcnow() - RATING_OPEN_FOR:
        return None
    return last


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
    agent_id: int | None = None,
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
        agent_id=agent_id,
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


def attachment_url(attachment: ConversationAttachment) -> str:
    """Where staff read a stored chat attachment (the console API, staff only)."""
    return f"/api/v1/console/attachments/{attachment.id}"


def find_attachment(
    session: Session, *, conversation: Conversation, channel_message_id: str | None
) -> ConversationAttachment | None:
    """The attachment already kept for this channel message, if any (a retry's)."""
    if channel_message_id is None:
        return None
    return session.scalars(
        select(ConversationAttachment).where(
            ConversationAttachment.conversation_id == conversation.id,
            ConversationAttachment.channel_message_id == channel_message_id,
        )
    ).first()


def store_attachment(
    session: Session,
    *,
    conversation: Conversation,
    channel_message_id: str | None,
    data: bytes,
    root: Path,
    max_bytes: int,
    source_url: str = "",
    media_id: str = "",
) -> ConversationAttachment:
    """Check size and type as ticket uploads do (images only), write the file under `root`,
    record it on the conversation."""
    if not data:
        raise Invalid("error.file_empty", field="file")
    if len(data) > max_bytes:
        raise Invalid("error.file_too_large", field="file", mb=max_bytes // (1024 * 1024))
    kind = sniff(data)
    if kind is None or not kind[0].startswith("image/"):
        raise Invalid("error.chat_image_type", field="file")
    content_type, ext = kind
    now = utcnow()
    key = f"chat/{now:%Y/%m}/{uuid.uuid4().hex}{ext}"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(ext + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    attachment = ConversationAttachment(
        conversation_id=conversation.id,
        channel_message_id=channel_message_id,
        source_url=source_url[:500],
        media_id=media_id[:128],
        status="stored",
        error="",
        content_type=content_type,
        size=len(data),
        storage_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment


def failed_attachment(
    session: Session,
    *,
    conversation: Conversation,
    channel_message_id: str | None,
    error: str,
    source_url: str = "",
    media_id: str = "",
) -> ConversationAttachment:
    """Record a file the customer sent that could not be kept, and why."""
    attachment = ConversationAttachment(
        conversation_id=conversation.id,
        channel_message_id=channel_message_id,
        source_url=source_url[:500],
        media_id=media_id[:128],
        status="failed",
        error=error[:1000],
        content_type="",
        size=0,
        storage_key=None,
        sha256="",
        created_at=utcnow(),
    )
    session.add(attachment)
    session.flush()
    return attachment


def get_attachment(session: Session, *, attachment_id: int) -> ConversationAttachment:
    """A stored chat attachment (a failed one has no file to read)."""
    attachment = session.get(ConversationAttachment, attachment_id)
    if attachment is None or attachment.status != "stored" or not attachment.storage_key:
        raise NotFound("object.attachment")
    return attachment


def list_messages(
    session: Session, *, conversation_id: int, after_id: int | None = None
) -> list[Message]:
    """Messages of a conversation, oldest first."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        stmt = stmt.where(Message.id > after_id)
    return list(session.scalars(stmt.order_by(Message.id)).all())


def messages_before(
    session: Session, *, conversation_id: int, before_id: int | None = None, limit: int = 20
) -> list[Message]:
    """The latest messages of a conversation (before `before_id`, if given), newest first."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if before_id is not None:
        stmt = stmt.where(Message.id < before_id)
    return list(session.scalars(stmt.order_by(Message.id.desc()).limit(limit)).all())


def last_outbound(session: Session, *, conversation_id: int) -> Message | None:
    """The last message the customer was sent (by the bot, an agent or the hub)."""
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(1)
    ).first()


def said_since(
    session: Session, *, conversation_id: int, texts: Iterable[str], since: datetime
) -> bool:
    """Whether one of these system messages was sent in the conversation since `since`."""
    return (
        session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "out",
                Message.author == "system",
                Message.text.in_(list(texts)),
                Message.created_at >= since,
            )
            .limit(1)
        )
        is not None
    )


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


# ---------------------------------------------------------------- state and events


def record_event(
    session: Session,
    *,
    conversation: Conversation,
    kind: str,
    actor: str,
    payload: dict[str, Any] | None = None,
    from_state: str | None = None,
) -> ConversationEvent:
    """Append one event to the conversation's log."""
    event = ConversationEvent(
        conversation_id=conversation.id,
        kind=kind,
        from_state=from_state if from_state is not None else conversation.state,
        to_state=conversation.state,
        actor=actor,
        payload=payload or {},
        created_at=utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def state_conflict(state: str) -> Conflict:
    """The refusal of a step the conversation's current state does not allow."""
    return Conflict("error.conversation_state", state=Term.key(f"conversation.state.{state}"))


def change_state(
    session: Session,
    *,
    conversation: Conversation,
    kind: str,
    actor: str,
    agent_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> ConversationEvent:
    """Move the conversation by one handoff step, or raise Conflict; records the event.

    The move is a compare-and-set on the stored state, so two agents accepting the same
    conversation at once (even in two workers) cannot both win.
    """
    sources, target = TRANSITIONS[kind]
    current = conversation.state
    if current not in sources:
        raise state_conflict(current)
    now = utcnow()
    values: dict[str, Any] = {"state": target}
    if target == "agent":
        values.update(agent_id=agent_id, accepted_at=now, waiting_since=None)
    elif target == "waiting":
        values.update(agent_id=None, accepted_at=None)
        if current != "waiting":
            values["waiting_since"] = now
            values["escalated"] = False
    else:
        values.update(agent_id=None, waiting_since=None, queue_front=False, escalated=False)
    if target != "waiting":
        values["queue_front"] = False
    guard = [Conversation.id == conversation.id, Conversation.state == current]
    if current == "agent" and conversation.agent_id is not None:
        guard.append(Conversation.agent_id == conversation.agent_id)
    done = session.execute(  # type: ignore[attr-defined]  # rowcount of an UPDATE
        update(Conversation)
        .where(*guard)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        session.refresh(conversation)
        raise state_conflict(conversation.state)
    session.refresh(conversation)
    return record_event(
        session,
        conversation=conversation,
        kind=kind,
        actor=actor,
        payload={**(payload or {}), **({"agent_id": agent_id} if agent_id else {})},
        from_state=current,
    )


def list_events(session: Session, *, conversation_id: int) -> list[ConversationEvent]:
    """A conversation's event log, oldest first."""
    return list(
        session.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.id)
        ).all()
    )


# ---------------------------------------------------------------- queue and chats


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A waiting conversation with what ordering and routing need."""

    conversation: Conversation
    vip: bool


def queue(session: Session) -> list[QueueEntry]:
    """Waiting conversations in service order: put-back first, then VIP, then longest wait."""
    rows = session.execute(
        select(Conversation, Customer.tier)
        .outerjoin(Customer, Customer.id == Conversation.customer_id)
        .where(Conversation.state == "waiting")
    ).all()
    entries = [QueueEntry(conversation=c, vip=tier == "vip") for c, tier in rows]
    entries.sort(
        key=lambda e: (
            not e.conversation.queue_front,
            not e.vip,
            e.conversation.waiting_since or e.conversation.created_at,
            e.conversation.id,
        )
    )
    return entries


def waiting_count(session: Session) -> int:
    """How many conversations wait for an agent now."""
    return int(
        session.scalar(
            select(func.count()).select_from(Conversation).where(Conversation.state == "waiting")
        )
        or 0
    )


def active_counts(session: Session) -> dict[int, int]:
    """How many chats each agent owns now."""
    rows = session.execute(
        select(Conversation.agent_id, func.count())
        .where(Conversation.state == "agent", Conversation.agent_id.is_not(None))
        .group_by(Conversation.agent_id)
    ).all()
    return {int(agent_id): int(count) for agent_id, count in rows if agent_id is not None}


def chats_of(session: Session, *, agent_id: int) -> list[Conversation]:
    """The conversations an agent owns now, oldest accept first."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.state == "agent", Conversation.agent_id == agent_id)
            .order_by(Conversation.accepted_at, Conversation.id)
        ).all()
    )


def agent_chats(session: Session) -> list[Conversation]:
    """Every conversation an agent owns now (for supervisors)."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.state == "agent")
            .order_by(Conversation.accepted_at, Conversation.id)
        ).all()
    )


def live_bot_conversations(
    session: Session, *, since: datetime, limit: int = 50
) -> list[Conversation]:
    """Conversations with the bot that had a message since `since`, most recent first."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.state == "bot", Conversation.last_message_at >= since)
            .order_by(Conversation.last_message_at.desc())
            .limit(limit)
        ).all()
    )


def last_messages(
    session: Session, *, conversation_ids: Iterable[int], skip_authors: Iterable[str] = ()
) -> dict[int, Message]:
    """The newest message of each conversation (for previews), not counting messages by
    `skip_authors`."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    newest = select(func.max(Message.id)).where(Message.conversation_id.in_(ids))
    skipped = list(skip_authors)
    if skipped:
        newest = newest.where(Message.author.not_in(skipped))
    newest = newest.group_by(Message.conversation_id)
    rows = session.scalars(select(Message).where(Message.id.in_(newest))).all()
    return {m.conversation_id: m for m in rows}


# ---------------------------------------------------------------- notes


def add_note(
    session: Session, *, conversation: Conversation, author_id: int | None, body: str, kind: str
) -> ConversationNote:
    """Store a staff-only note on the conversation."""
    note = ConversationNote(
        conversation_id=conversation.id,
        author_id=author_id,
        kind=kind,
        body=body,
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    return note


def list_notes(session: Session, *, conversation_id: int) -> list[ConversationNote]:
    """A conversation's staff notes, oldest first."""
    return list(
        session.scalars(
            select(ConversationNote)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        ).all()
    )


# ---------------------------------------------------------------- agents


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A staff member who can chat, with their profile (or the defaults)."""

    user_id: int
    username: str
    display_name: str
    role: str
    max_chats: int
    product_lines: tuple[str, ...]
    languages: tuple[str, ...]
    team: str
    is_supervisor: bool

    @property
    def supervisor(self) -> bool:
        """Admins supervise by their role, others by the flag."""
        return policies.supervises(self.role, flagged=self.is_supervisor)


def _info(user: User, profile: AgentProfile | None, default_max: int) -> AgentInfo:
    return AgentInfo(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        max_chats=profile.max_chats if profile else default_max,
        product_lines=tuple(profile.product_lines) if profile else (),
        languages=tuple(profile.languages) if profile else ("zh",),
        team=profile.team if profile else "",
        is_supervisor=bool(profile and profile.is_supervisor),
    )


def list_agents(session: Session, *, default_max: int) -> list[AgentInfo]:
    """Every active staff member who can chat, by id."""
    rows = session.execute(
        select(User, AgentProfile)
        .outerjoin(AgentProfile, AgentProfile.user_id == User.id)
        .where(User.role.in_(CHAT_ROLES), User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    return [_info(user, profile, default_max) for user, profile in rows]


def get_agent(session: Session, *, user_id: int, default_max: int) -> AgentInfo:
    """One staff member who can chat."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or not policies.chats(user.role):
        raise NotFound("object.agent")
    return _info(user, session.get(AgentProfile, user_id), default_max)


def save_profile(
    session: Session,
    *,
    user_id: int,
    max_chats: int,
    product_lines: list[str],
    languages: list[str],
    team: str,
    is_supervisor: bool,
) -> AgentProfile:
    """Create or replace an agent's chat profile."""
    profile = session.get(AgentProfile, user_id)
    if profile is None:
        profile = AgentProfile(user_id=user_id)
        session.add(profile)
    profile.max_chats = max_chats
    profile.product_lines = product_lines
    profile.languages = languages
    profile.team = team
    profile.is_supervisor = is_supervisor
    profile.updated_at = utcnow()
    session.flush()
    return profile


# ---------------------------------------------------------------- the customer behind it


def resolve_customer(session: Session, *, conversation: Conversation) -> Customer | None:
    """The customer this conversation is with, when known; remembered on the conversation.

    Known from the conversation itself, a bound channel identity, or a ticket filed in it.
    """
    customer_id = conversation.customer_id
    if customer_id is None:
        customer_id = session.scalar(
            select(ChannelIdentity.customer_id).where(
                ChannelIdentity.channel == conversation.channel,
                ChannelIdentity.external_id == conversation.sender_id,
            )
        )
    if customer_id is None:
        customer_id = session.scalar(
            select(Ticket.customer_id)
            .where(Ticket.conversation_id == conversation.public_id)
            .order_by(Ticket.id.desc())
            .limit(1)
        )
    if customer_id is None:
        return None
    if conversation.customer_id != customer_id:
        conversation.customer_id = customer_id
        session.flush()
    return session.get(Customer, customer_id)


def past_conversations(
    session: Session, *, conversation: Conversation, limit: int = 20
) -> list[Conversation]:
    """The same customer's other conversations (by customer, or the same channel identity)."""
    same: list[ColumnElement[bool]] = [
        (Conversation.channel == conversation.channel)
        & (Conversation.sender_id == conversation.sender_id)
    ]
    if conversation.customer_id is not None:
        same.append(Conversation.customer_id == conversation.customer_id)
    return list(
        session.scalars(
            select(Conversation)
            .where(or_(*same), Conversation.id != conversation.id)
            .order_by(Conversation.last_message_at.desc())
            .limit(limit)
        ).all()
    )
