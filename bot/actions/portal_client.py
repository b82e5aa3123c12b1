"""The one client through which bot actions reach the portal's HTTP API."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import requests

logger = logging.getLogger(__name__)

DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"


class PortalError(Exception):
    """The portal could not be reached or did not accept the request."""


class PortalUnavailable(PortalError):
    """The portal is down, timed out or answered with a server error."""


@dataclass
class FieldError:
    """One field the portal refused, with its Chinese and English messages."""

    field: str
    message_zh: str
    message_en: str = ""


class PortalRejected(PortalError):
    """The portal refused the request as invalid (HTTP 422)."""

    def __init__(self, message: str, errors: list[FieldError]) -> None:
        super().__init__(message)
        self.errors = errors


class PortalConflict(PortalError):
    """The idempotency key was already used for a different request (HTTP 409)."""


@dataclass(frozen=True)
class Ticket:
    """The part of the portal's ticket representation the bot uses."""

    id: int
    number: str
    status: str
    status_label: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class PortalClient:
    """Wraps the portal's service API: authentication, timeouts, retries, errors."""

    def __init__(
        self,
        base_url: str = DEFAULT_PORTAL_URL,
        token: str = "",
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = 1,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.session = session or requests.Session()

    @classmethod
    def from_env(cls) -> PortalClient:
        """Build a client from PORTAL_URL and PORTAL_SERVICE_TOKEN."""
        return cls(
            base_url=os.environ.get("PORTAL_URL", DEFAULT_PORTAL_URL),
            token=os.environ.get("PORTAL_SERVICE_TOKEN", ""),
        )

    def create_repair_ticket(
        self,
        *,
        product: str,
        fault_description: str,
        phone: str,
        channel: str,
        conversation_id: str,
        idempotency_key: str,
    ) -> Ticket:
        """File a repair ticket; replaying the same idempotency key returns the same ticket."""
        body = {
            "type": "repair",
            "product": product,
            "fault_description": fault_description,
            "phone": phone,
            "channel": channel,
            "conversation_id": conversation_id,
        }
        data = self._post("/api/v1/tickets", body, idempotency_key=idempotency_key)
        try:
            return Ticket(
                id=int(data["id"]),
                number=str(data["number"]),
                status=str(data.get("status", "")),
                status_label=str(data.get("status_label", "")),
                raw=data,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PortalError(f"portal returned a ticket without id/number: {data!r}") from exc

    def _post(self, path: str, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.base_url + path
        # Retrying is safe only because the idempotency key makes the portal
        # return the ticket it already created instead of a second one.
        for attempt in range(self.retries + 1):
            try:
                response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                error: PortalError = PortalUnavailable(f"cannot reach the portal at {url}: {exc}")
            else:
                if response.status_code < 500:
                    return self._parse(response)
                error = PortalUnavailable(f"portal answered {response.status_code} for {url}")
            if attempt < self.retries:
                logger.warning("%s; retrying", error)
                time.sleep(0.5 * (attempt + 1))
        raise error

    @staticmethod
    def _parse(response: requests.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        status = response.status_code
        if status in (200, 201):
            return data
        message = str(data.get("message") or f"HTTP {status}")
        if status == 422:
            errors = [
                FieldError(
                    field=str(item.get("field", "")),
                    message_zh=str(item.get("message_zh") or item.get("message") or ""),
                    message_en=str(item.get("message_en") or ""),
                )
                for item in data.get("errors") or []
                if isinstance(item, dict)
            ]
            raise PortalRejected(message, errors)
        if status == 409:
            raise PortalConflict(message)
        raise PortalError(f"portal refused the request ({status}): {message}")
