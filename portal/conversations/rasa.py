"""Rasa, as the hub speaks to it: the REST channel for turns, the tracker events API for
pausing and resuming the bot around a takeover."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from portal.observability.metrics import chat_turn_timer

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer, or answered with an error."""


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
            except (httpx.HTTPError, ValueError) as exc:
                raise BotUnavailable(str(exc)) from exc
        if not isinstance(body, list):
            raise BotUnavailable(f"unexpected reply: {body!r}")
        return [item for item in body if isinstance(item, dict)]

    async def append_event(self, *, sender: str, event: str) -> bool:
        """Append "pause" or "resume" to the sender's tracker; False when Rasa refused."""
        try:
            response = await self.http.post(
                f"{self.base_url}/conversations/{sender}/tracker/events",
                params={"token": self.token} if self.token else None,
                json={"event": event, "timestamp": time.time()},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as exc:
            log.warning("could not %s the bot for %s: %s", event, sender, exc)
            return False
        if response.status_code >= 400:
            log.warning("Rasa refused %s for %s: %s", event, sender, response.status_code)
            return False
        return True
