"""Rasa, as the hub speaks to it: the REST channel for turns, the tracker events API for
pausing and resuming the bot around a takeover and for ending a turn Rasa left open."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from portal.observability.metrics import chat_turn_timer

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


class BotTimeout(BotUnavailable):
    """Rasa did not answer in time (it may still be working on the turn)."""


class RasaClient:
    """Rasa's REST channel, spoken to with the conversation's public id as sender."""

    def __init__(
        self, *, base_url: str, http: httpx.AsyncClient, timeout_s: float, token: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.timeout_s = timeout_s
        self.token = token

    async def send(
        self, *, sender: str, text: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One customer message in, the bot's replies out."""
        with chat_turn_timer():  # the hub -> Rasa round trip, in the turn-latency histogram
            try:
                response = await self.http.post(
                    f"{self.base_url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text, "metadata": metadata},
                    timeout=self.timeout_s,
                )
                response.raise_for_status()
                body = response.json()
            except httpx.TimeoutException as exc:
                raise BotTimeout(str(exc) or type(exc).__name__) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise BotUnavailable(str(exc)) from exc
        if not isinstance(body, list):
            raise BotUnavailable(f"unexpected reply: {body!r}")
        return [item for item in body if isinstance(item, dict)]

    async def append_event(self, *, sender: str, event: str) -> bool:
        """Append "pause" or "resume" to the sender's tracker; False when Rasa refused.

        Resuming also ends any form the customer left for a person (转人工 in the middle
        of a fault report): back with the bot, their next message starts afresh instead of
        being read as the answer to a question asked before the chat with the agent."""
        now = time.time()
        if event != "resume":
            return await self._append(sender, {"event": event, "timestamp": now}, event)
        body: list[dict[str, Any]] = [
            {"event": "resume", "timestamp": now},
            {"event": "active_loop", "name": None, "timestamp": now},
            {"event": "slot", "name": "requested_slot", "value": None, "timestamp": now},
        ]
        return await self._append(sender, body, event)

    async def listen(self, *, sender: str) -> bool:
        """End the turn Rasa left open (its circuit breaker stops a turn without the
        action_listen that ends it, and every later message then gets no reply)."""
        body = {"event": "action", "name": "action_listen", "timestamp": time.time()}
        return await self._append(sender, body, "action_listen")

    async def _append(
        self, sender: str, body: dict[str, Any] | list[dict[str, Any]], what: str
    ) -> bool:
        try:
            response = await self.http.post(
                f"{self.base_url}/conversations/{sender}/tracker/events",
                params={"token": self.token} if self.token else None,
                json=body,
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            log.warning("could not append %s for %s: %s", what, sender, exc)
            return False
        if response.status_code >= 400:
            log.warning("Rasa refused %s for %s: %s", what, sender, response.status_code)
            return False
        return True
