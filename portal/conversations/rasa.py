"""Rasa, as the hub speaks to it: the REST channel for turns, the tracker events API for
pausing and resuming the bot around a takeover and for ending a turn Rasa left open."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from portal.observability.metrics import chat_turn_timer

log = logging.getLogger(__name__)


# Rasa 3.6 reads its --auth-token only from a `?token=` query string, which every access log
# and httpx's request log then carry. So the Rasa server runs with a JWT secret instead
# (scripts/rasa_run.py hands it RASA_TOKEN from the environment), and the portal proves it
# holds the token with a short-lived HS256 JWT in the Authorization header; `role: admin` is
# what Rasa's server asks of a caller of its conversation and status endpoints.
JWT_LIFETIME_S = 300


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rasa_jwt(secret: str, *, now: float | None = None) -> str:
    """A JWT (HS256) for Rasa's HTTP API, signed with the shared RASA_TOKEN."""
    issued = int(now if now is not None else time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"user": {"username": "portal", "role": "admin"}, "iat": issued}
    claims["exp"] = issued + JWT_LIFETIME_S
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64(signature.digest())}"


def rasa_auth_headers(secret: str) -> dict[str, str]:
    """The Authorization header for Rasa's HTTP API; none when no token is configured."""
    return {"Authorization": f"Bearer {rasa_jwt(secret)}"} if secret else {}


def verify_rasa_jwt(header: str | None, secret: str) -> bool:
    """Whether an Authorization header carries a current JWT signed with `secret` (for fakes)."""
    if not header or not header.startswith("Bearer ") or header.count(".") != 2:
        return False
    head, payload, signature = header.removeprefix("Bearer ").split(".")
    expected = hmac.new(secret.encode(), f"{head}.{payload}".encode(), hashlib.sha256)
    if not hmac.compare_digest(_b64(expected.digest()), signature):
        return False
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return bool(claims.get("exp", 0) >= time.time())


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
                headers=rasa_auth_headers(self.token),
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
