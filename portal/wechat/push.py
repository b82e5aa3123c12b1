"""Everything the portal sends a follower outside a passive reply goes through the outbox.

Every message stored for a WeChat conversation (the bot's replies, the desk's own, the hub's
notices, an agent's words) gets an outbox row (`REPLY`) in the very transaction that stores
it: a session hook (`install`) adds it at flush. So nothing said to a follower exists only in
memory: a portal killed after storing it still sends it when it, or another worker, is back.

- A message stored during a WeChat turn (`in_turn`) may still go back in the callback's
  response (被动回复): its row waits `hold` seconds. The adapter reports the replies that did
  (`answered`: the rows are marked sent, by "passive") or that missed the window
  (`release`: due now). A portal killed in between lets the hold run out, and the row is
  sent as a customer-service message.
- Any other message (an agent's reply, the hub's notices) is due at once; the hub's sender
  callback (`WeChatPush.send`) only wakes the loop.
- A turn mark (`TURN`, written by the desk with the follower's lock) is cleared when the
  hub's turn is over; one still open `wechat_turn_recover_s` later belongs to a turn a crash
  cut short: the loop reruns the turn on the stored message (`WeChatDesk.run_turn` with
  `resume`) unless its replies are stored already, and their rows take them out.

`WeChatOutbox` is that loop, in the portal process (the turn needs the hub), claiming only
these two kinds of rows with the outbox's own leases and retries. Rows go out through
`WeChatPush.send_now`: customer-service messages (客服消息), only within 48 hours of the
customer's last contact and while they follow the account; every refusal or API error is
kept as a delivery failure and announced to the desk's agents instead of being dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, UOWTransaction
from starlette.concurrency import run_in_threadpool
from wechatpy.exceptions import WeChatClientException

from channels.base import ChannelMessage
from channels.wechat import WeChatApi
from channels.wechat.wire import CHANNEL, reply_text
from portal.config import Settings
from portal.conversations import service as conversations
from portal.conversations.models import Conversation, Message
from portal.database import Database, utcnow
from portal.i18n import Term
from portal.notifications import flows as notify
from portal.notifications import service as outbox_service
from portal.notifications.delivery import Outbox
from portal.notifications.loop import OutboxLoop
from portal.notifications.models import Notification
from portal.notifications.senders import DeliveryError, Outgoing, Sender
from portal.notifications.service import users_with_role
from portal.security import Role
from portal.wechat import service
from portal.wechat.models import WeChatFollower
from portal.wechat.service import TokenUnavailable
from portal.workers.loop import worker_name

log = logging.getLogger(__name__)

REPLY = "wechat_reply"  # outbox channel: one stored message to a follower
TURN = "wechat_turn"  # outbox channel: a hub turn under way on a follower's message
PASSIVE = "passive"  # who "delivered" a reply that went back in the callback's response
# How long the thread delivering a batch waits for a recovered turn on the event loop.
TURN_TIMEOUT_S = 120.0

REASON_KEYS = {
    "api_error": "wechat.failure.api_error",
    "unreachable": "wechat.failure.unreachable",
    "window_closed": "wechat.failure.window_closed",
    "unsubscribed": "wechat.failure.unsubscribed",
    "not_configured": "wechat.failure.not_configured",
}

# The WeChat id of the message whose turn is running in this context ("" outside a turn).
_TURN: ContextVar[str] = ContextVar("wechat_turn", default="")


class NotDelivered(Exception):
    """WeChat did not take a message; a WeChatDeliveryFailure row says why."""


@contextlib.contextmanager
def in_turn(message_id: str) -> Iterator[None]:
    """Messages stored inside this block may go back passively: their rows are held."""
    token = _TURN.set(message_id or "-")
    try:
        yield
    finally:
        _TURN.reset(token)


def reply_key(message_id: int) -> str:
    """The outbox key of a stored message's delivery."""
    return f"wechat:reply:{message_id}"


def turn_key(message_id: str) -> str:
    """The outbox key of the turn mark of a follower's message."""
    return f"wechat:turn:{message_id}"


# ---------------------------------------------------------------- rows, in the same transaction


def install(db: Database, *, hold: timedelta) -> None:
    """Give every outbound message of a WeChat conversation stored through `db` its outbox
    row, in the transaction that stores it (once per database, whatever calls it)."""
    if db.__dict__.get("_wechat_outbox_installed"):
        return
    db.__dict__["_wechat_outbox_installed"] = True

    def after_flush(session: Session, _context: UOWTransaction) -> None:
        outbound = [
            m for m in session.new if isinstance(m, Message) and m.direction == "out" and m.id
        ]
        if not outbound:
            return
        connection = session.connection()
        owners = dict(
            connection.execute(
                select(Conversation.id, Conversation.sender_id).where(
                    Conversation.id.in_({m.conversation_id for m in outbound}),
                    Conversation.channel == CHANNEL,
                )
            ).all()
        )
        turn = _TURN.get()
        now = utcnow()
        rows = [
            {
                "idempotency_key": reply_key(m.id),
                "channel": REPLY,
                "recipient": owners[m.conversation_id],
                "template": REPLY,
                "payload": {"message_id": m.id, "turn": turn},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now + hold if turn else now,
                "last_error": "",
                "created_at": now,
                "claimed_by": "",
            }
            for m in outbound
            if m.conversation_id in owners
        ]
        if rows:
            connection.execute(insert(Notification), rows)

    event.listen(db.sessionmaker, "after_flush", after_flush)


def _reply_ids(replies: Sequence[ChannelMessage]) -> list[str]:
    return [reply_key(r.id) for r in replies if r.id is not None]


def answered(session: Session, *, replies: Sequence[ChannelMessage], now: datetime) -> None:
    """These replies went back in the callback's response: nothing more to send."""
    session.execute(
        update(Notification)
        .where(
            Notification.idempotency_key.in_(_reply_ids(replies)),
            Notification.status == "pending",
        )
        .values(status="sent", sent_at=now, claimed_by=PASSIVE, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, *, replies: Sequence[ChannelMessage], now: datetime) -> None:
    """These replies missed the passive window: send them now."""
    session.execute(
        update(Notification)
        .where(
            Notification.idempotency_key.in_(_reply_ids(replies)),
            Notification.status == "pending",
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )


def _serialise(message: ChannelMessage) -> dict[str, Any]:
    return {
        "sender_id": message.sender_id,
        "text": message.text,
        "image_url": message.image_url,
        "message_id": message.message_id,
        "extra": {k: v for k, v in message.extra.items() if k != "resume"},
    }


def _deserialise(payload: dict[str, Any]) -> ChannelMessage:
    return ChannelMessage(
        channel=CHANNEL,
        sender_id=str(payload["sender_id"]),
        text=str(payload.get("text") or ""),
        image_url=payload.get("image_url"),
        message_id=payload.get("message_id"),
        extra={str(k): str(v) for k, v in (payload.get("extra") or {}).items()},
    )


def mark_turn(
    session: Session, *, message: ChannelMessage, now: datetime, recover_after: timedelta
) -> tuple[ChannelMessage, bool]:
    """Mark the turn about to run on `message` (with the follower's lock held): the message
    to hand to the hub, and whether this delivery owns the turn (and clears the mark when the
    turn is over). A retry finding the mark of a turn that a crash cut short (open and due)
    takes it over: the message then asks the hub to resume. A retry finding it open but not
    due owns nothing: the first delivery may still be working on it."""
    key = turn_key(message.message_id or "")
    mark = session.scalars(select(Notification).where(Notification.idempotency_key == key)).first()
    if mark is None:
        mark = outbox_service.enqueue(
            session,
            key=key,
            channel=TURN,
            recipient=message.sender_id,
            template=TURN,
            payload=_serialise(message),
            at=now,
        )
        mark.next_attempt_at = now + recover_after
        return message, True
    if mark.status == "pending" and mark.next_attempt_at <= now:
        log.warning("wechat retry of %s resumes a turn left unfinished", message.message_id)
        mark.next_attempt_at = now + recover_after
        return replace(message, extra={**message.extra, "resume": "1"}), True
    return message, False  # under way, or done: the hub drops the repeat


def clear_turn(session: Session, *, message_id: str, now: datetime) -> None:
    """The hub's turn on this message is over (its replies are stored)."""
    session.execute(
        update(Notification)
        .where(Notification.idempotency_key == turn_key(message_id), Notification.status != "sent")
        .values(status="sent", sent_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- sending


class WeChatPush:
    """Customer-service messages (客服消息) to followers, with the rules WeChat enforces
    checked first and every failure kept for staff."""

    def __init__(
        self,
        *,
        db: Database,
        api: WeChatApi | None,
        window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.api = api
        self.window = window
        self.clock = clock
        self.wake: Callable[[], None] = lambda: None  # set by the loop that sends

    async def answered(self, replies: list[ChannelMessage]) -> None:
        """The adapter's report of replies that went back passively."""
        await run_in_threadpool(self._write, answered, replies)

    async def deliver_later(self, replies: list[ChannelMessage]) -> None:
        """The adapter's hand-over of replies that missed the passive window."""
        await run_in_threadpool(self._write, release, replies)
        self.wake()

    def _write(
        self,
        change: Callable[..., None],
        replies: list[ChannelMessage],
    ) -> None:
        with self.db.session() as session:
            change(session, replies=replies, now=utcnow())

    async def send(self, message: ChannelMessage) -> None:
        """The hub's sender for a stored message (an agent's reply, a notice): its outbox
        row was written with it, so this only tells the loop to look now."""
        self.wake()

    async def typing(self, openid: str, on: bool) -> None:
        """The agent's typing, shown in the follower's chat: `register_typing`'s callable."""
        await run_in_threadpool(self.typing_now, openid, on)

    def typing_now(self, openid: str, on: bool) -> bool:
        """Tell WeChat the agent is (or stopped) typing; True when WeChat took it.

        Only where a message could go too (configured, following, within the window). A
        refusal is logged, not kept for staff: it is a hint, and no words are lost.
        """
        if self.api is None:
            return False
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if follower is None or not follower.subscribed:
                return False
            if not service.within_service_window(follower, now=self.clock(), window=self.window):
                return False
        try:
            self.api.typing(openid, on)
        except (WeChatClientException, requests.RequestException, TokenUnavailable) as exc:
            log.info("wechat typing state for %s not taken: %s", openid, exc)
            return False
        return True

    def send_now(self, messages: Sequence[ChannelMessage]) -> bool:
        """Send to one follower; True when WeChat took it, else a failure is stored."""
        if not messages:
            return True
        openid = messages[0].sender_id
        text = reply_text(messages)
        if not text:
            return True
        with self.db.session() as session:
            follower = session.scalars(
                select(WeChatFollower).where(WeChatFollower.openid == openid)
            ).first()
            if self.api is None:
                reason = "not_configured"
            elif follower is not None and not follower.subscribed:
                reason = "unsubscribed"
            elif not service.within_service_window(follower, now=self.clock(), window=self.window):
                reason = "window_closed"
            else:
                reason = ""
        if reason:
            self._fail(messages, reason=reason, text=text)
            return False
        assert self.api is not None
        try:
            self.api.send(list(messages))
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                self._fail(messages, reason="unreachable", text=text, errmsg=f"HTTP {status}")
            else:
                self._fail(
                    messages,
                    reason="api_error",
                    text=text,
                    errcode=exc.errcode,
                    errmsg=str(exc.errmsg or ""),
                )
            return False
        except (requests.RequestException, TokenUnavailable, ValueError) as exc:
            self._fail(messages, reason="unreachable", text=text, errmsg=type(exc).__name__)
            return False
        return True

    def _fail(
        self,
        messages: Sequence[ChannelMessage],
        *,
        reason: str,
        text: str,
        errcode: int | None = None,
        errmsg: str = "",
    ) -> None:
        openid = messages[0].sender_id
        log.warning("wechat message to %s not delivered: %s %s %s", openid, reason, errcode, errmsg)
        with self.db.session() as session:
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=openid
            )
            failure = service.record_failure(
                session,
                openid=openid,
                reason=reason,
                text=text,
                errcode=errcode,
                errmsg=errmsg,
                conversation_id=conversation.id if conversation else None,
                message_id=messages[0].id,
            )
            said = Term.key(REASON_KEYS[reason])
            detail = f" {errcode}" if errcode is not None else ""
            agents = users_with_role(session, role=Role.AGENT) + users_with_role(
                session, role=Role.ADMIN
            )
            notify.notify_staff(
                session,
                user_ids=agents,
                template="wechat_send_failed",
                key=f"wechat:failure:{failure.id}",
                params={
                    "reason": Term(said.zh + detail, said.en + detail),
                    "text": text[:60],
                    "openid": openid,
                    "failure_id": failure.id,
                },
                ticket_id=None,
                at=failure.created_at,
            )


# ---------------------------------------------------------------- the loop


class Turns(Protocol):
    """What reruns a turn: the desk (portal.wechat.desk.WeChatDesk)."""

    async def run_turn(
        self, message: ChannelMessage, *, owner: bool = True
    ) -> list[ChannelMessage]: ...


@dataclass
class ReplySender:
    """Sends one stored message as a customer-service message (a refusal is final and kept
    for staff by `WeChatPush`)."""

    db: Database
    push: WeChatPush

    def send(self, message: Outgoing) -> None:
        """Deliver once."""
        with self.db.session() as session:
            stored = session.get(Message, int(message.payload["message_id"]))
            if stored is None:
                raise DeliveryError("wechat: the message is gone", retry=False)
            conversation = session.get_one(Conversation, stored.conversation_id)
            outgoing = conversations.to_channel_message(stored, conversation)
        if not self.push.send_now([outgoing]):
            raise DeliveryError("wechat: not delivered (kept for staff)", retry=False)


@dataclass
class TurnRecovery:
    """Finishes a turn a crash cut short: its stored replies go out through their own rows;
    if there are none, the turn is run again on the stored message."""

    db: Database
    run: Callable[[Coroutine[Any, Any, list[ChannelMessage]]], list[ChannelMessage]]
    turns: Turns

    def _answered(self, message: ChannelMessage) -> bool:
        """Whether the turn on this message already has its answer stored (or needs none:
        a person has the chat)."""
        with self.db.session() as session:
            conversation = conversations.find_conversation(
                session, channel=CHANNEL, sender_id=message.sender_id
            )
            if conversation is None:
                return False
            inbound = session.scalars(
                select(Message.id).where(
                    Message.conversation_id == conversation.id,
                    Message.direction == "in",
                    Message.channel_message_id == message.message_id,
                )
            ).first()
            if inbound is None:
                return False
            if conversation.state != "bot":
                return True
            later = session.scalars(
                select(Message.id).where(
                    Message.conversation_id == conversation.id,
                    Message.direction == "out",
                    Message.id > inbound,
                )
            ).first()
            return later is not None

    def send(self, message: Outgoing) -> None:
        """Rerun the turn when its answer was never stored; mark it over."""
        inbound = _deserialise(message.payload)
        if self._answered(inbound):
            log.info("wechat turn on %s had its answer stored already", inbound.message_id)
        else:
            log.warning("wechat turn on %s was cut short: running it again", inbound.message_id)
            resumed = replace(inbound, extra={**inbound.extra, "resume": "1"})
            replies = self.run(self.turns.run_turn(resumed))
            with self.db.session() as session:
                release(session, replies=replies, now=utcnow())
        with self.db.session() as session:
            clear_turn(session, message_id=inbound.message_id or "", now=utcnow())


class WeChatOutbox(OutboxLoop):
    """The portal's WeChat outbox loop: started and stopped with the app (see module doc)."""

    def __init__(self, *, db: Database, push: WeChatPush, turns: Turns, settings: Settings) -> None:
        senders: dict[str, Sender] = {
            REPLY: ReplySender(db=db, push=push),
            TURN: TurnRecovery(db=db, run=self._run, turns=turns),
        }
        super().__init__(
            outbox=Outbox.from_settings(
                db, settings, worker=worker_name("portal-wechat"), senders=senders
            ),
            poll_s=settings.outbox_poll_s,
            label="wechat outbox",
            task_name="wechat-outbox",
        )
        push.wake = self.wake

    def _run(self, work: Coroutine[Any, Any, list[ChannelMessage]]) -> list[ChannelMessage]:
        """From the delivering thread: run a turn on the app's event loop."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=TURN_TIMEOUT_S)
