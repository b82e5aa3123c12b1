"""The conversation hub: stores every message and runs the bot's turn through Rasa."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from channels.base import ChannelMessage
from portal.conversations import service
from portal.database import Database
from portal.i18n import t

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    """Rasa's REST channel, spoken to with the conversation's public id as sender."""

    def __init__(self, *, base_url: str, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout_s = timeout_s

    async def send(
        self, *, sender: str, text: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One customer message in, the bot's replies out."""
        try:
            response = await self.http.post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=self.timeout_s,
            )
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(str(exc)) from exc
        if not isinstance(body, list):
            raise BotUnavailable(f"unexpected reply: {body!r}")
        return [item for item in body if isinstance(item, dict)]


def _buttons(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        return []
    return [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in raw
        if isinstance(b, dict)
    ]


class ConversationHub:
    """Implements channels.base.Hub over the portal's database and Rasa."""

    def __init__(self, *, db: Database, rasa: RasaClient) -> None:
        self.db = db
        self.rasa = rasa
        # One turn at a time per conversation, so replies keep the customer's order.
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        """Store the customer's message, ask the bot, store and return its replies."""
        async with self._locks[(message.channel, message.sender_id)]:
            stored = await run_in_threadpool(self._store_inbound, message)
            if stored is None:
                return []  # a retry of a message already handled
            public_id = stored
            bot_text = message.extra.get("payload") or message.text
            try:
                replies = await self.rasa.send(
                    sender=public_id, text=bot_text, metadata={"channel": message.channel}
                )
                author = "bot"
            except BotUnavailable as exc:
                log.warning("bot unavailable for %s: %s", public_id, exc)
                replies = [{"text": t("hub.bot_unavailable")}]
                author = "system"
            return await run_in_threadpool(self._store_replies, message, replies, author)

    def _store_inbound(self, message: ChannelMessage) -> str | None:
        with self.db.session() as session:
            conversation = service.get_or_open(
                session, channel=message.channel, sender_id=message.sender_id
            )
            stored = service.add_message(
                session,
                conversation=conversation,
                direction="in",
                author="customer",
                text=message.text,
                image_url=message.image_url,
                channel_message_id=message.message_id,
            )
            return None if stored is None else conversation.public_id

    def _store_replies(
        self, message: ChannelMessage, replies: list[dict[str, Any]], author: str
    ) -> list[ChannelMessage]:
        out = []
        with self.db.session() as session:
            conversation = service.get_or_open(
                session, channel=message.channel, sender_id=message.sender_id
            )
            for reply in replies:
                text = str(reply.get("text") or "")
                image = reply.get("image")
                buttons = _buttons(reply.get("buttons"))
                if not text and not image and not buttons:
                    continue
                stored = service.add_message(
                    session,
                    conversation=conversation,
                    direction="out",
                    author=author,
                    text=text,
                    buttons=buttons,
                    image_url=str(image) if image else None,
                )
                assert stored is not None  # outbound messages carry no channel id
                out.append(service.to_channel_message(stored, conversation))
        return out

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """Every stored message of the customer's current conversation."""
        return await run_in_threadpool(self._history, channel, sender_id, after_id)

    def _history(self, channel: str, sender_id: str, after_id: int | None) -> list[ChannelMessage]:
        with self.db.session() as session:
            conversation = service.find_conversation(session, channel=channel, sender_id=sender_id)
            if conversation is None:
                return []
            return [
                service.to_channel_message(m, conversation)
                for m in service.list_messages(
                    session, conversation_id=conversation.id, after_id=after_id
                )
            ]
