"""The one client through which bot actions reach the portal's HTTP API.

Every call goes to the bot's own routes, `/api/v1/bot/conversations/{conversation}/...`,
and names the conversation (Rasa's sender id) the bot acts for: the portal answers for the
customer that chat has proven to be, and nothing else. The bot never names a customer.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)

DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"


class PortalError(Exception):
    """The portal could not be reached or did not accept the request."""


class PortalUnavailable(PortalError):
    """The portal is down, timed out or answered with a server error."""


class PortalNotFound(PortalError):
    """HTTP 404: no such thing, not the caller's, or (KB, handoff) no such endpoint yet."""


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


class PortalThrottled(PortalError):
    """HTTP 429: asked too often (a one-time code less than a minute after the last)."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message_zh = message_zh or message


class PortalProofRequired(PortalError):
    """HTTP 403: number + phone is not proof enough for anything, progress included: the
    ticket's check code, or a chat bound by a one-time code, is needed."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message_zh = message_zh or message


class PortalConflict(PortalError):
    """HTTP 409: the ticket's state forbids it now, or an idempotency key was reused."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message_zh = message_zh or message


@dataclass(frozen=True)
class Ticket:
    """The part of the portal's ticket representation the bot uses after filing."""

    id: int
    number: str
    status: str
    status_label: str
    # The customer's proof, with number and phone, that the ticket is theirs: told in the chat.
    check_code: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class TicketView:
    """A customer's ticket as the bot's routes describe it (GET/POST /api/v1/bot/...)."""

    number: str
    type_label: str
    product: str
    status: str
    status_label: str
    engineer_name: str = ""
    engineer_phone: str = ""
    eta_text: str = ""
    eta_text_en: str = ""
    preferred_time: str = ""
    # The visit in the portal's one sentence, the same the customer's web page says.
    visit_text: str = ""
    visit_text_en: str = ""
    next_step: str = ""
    can_urge: bool = False
    can_cancel: bool = False
    can_reschedule: bool = False
    can_evaluate: bool = False
    # How the portal took the ticket to be the customer's: "conversation" (the chat is bound
    # to them or filed it) or "check_code"; "" when it was not (see withheld).
    proven_by: str = ""

    @property
    def fully_proven(self) -> bool:
        """Whether the portal described the ticket: the chat or its check code proved it."""
        return self.proven_by in ("conversation", "check_code")

    @classmethod
    def withheld(cls, number: str) -> TicketView:
        """A ticket the portal would not describe without its check code (403, the same for
        every number and phone): only the number the customer typed, nothing to say."""
        return cls(number=number, type_label="", product="", status="", status_label="")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TicketView:
        """Build from the portal's JSON, ignoring fields the bot does not use."""
        known = cls.__dataclass_fields__
        return cls(**{k: v if v is not None else "" for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Address:
    """A saved address of the bound customer."""

    id: int
    label: str
    text: str
    is_default: bool = False


@dataclass(frozen=True)
class Unit:
    """An installed unit (asset) of the bound customer."""

    serial_number: str
    product: str
    model_code: str = ""
    model_name: str = ""


@dataclass(frozen=True)
class CustomerProfile:
    """The customer a conversation's channel identity is bound to."""

    name: str
    phone: str
    addresses: tuple[Address, ...] = ()
    units: tuple[Unit, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CustomerProfile:
        """Build from GET /api/v1/bot/conversations/{conversation}/customer."""
        return cls(
            name=str(data.get("name") or ""),
            phone=str(data.get("phone") or ""),
            addresses=tuple(
                Address(
                    int(a["id"]),
                    str(a.get("label") or ""),
                    str(a["text"]),
                    bool(a.get("is_default")),
                )
                for a in data.get("addresses") or []
            ),
            units=tuple(
                Unit(
                    str(u["serial_number"]),
                    str(u["product"]),
                    str(u.get("model_code") or ""),
                    str(u.get("model_name") or ""),
                )
                for u in data.get("assets") or []
            ),
        )


@dataclass(frozen=True)
class HandoffOutcome:
    """What the hub did with a handoff (its 202 body): queued for an agent, or off duty."""

    state: str
    queued: bool
    on_duty: bool
    position: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HandoffOutcome:
        """Build from the hub's answer; state is empty when the body does not say."""
        position = data.get("position")
        return cls(
            state=str(data.get("state") or ""),
            queued=bool(data.get("queued", True)),
            on_duty=bool(data.get("on_duty", True)),
            position=int(position) if isinstance(position, int) else None,
        )


@dataclass(frozen=True)
class KbHit:
    """One knowledge-base entry found for a question."""

    id: str
    question: str
    answer: str
    score: float
    band: str


@dataclass(frozen=True)
class KbResult:
    """The answer of GET .../kb/search: the overall band and the hits, best first."""

    band: str
    hits: tuple[KbHit, ...]


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

    # ------------------------------------------------------------ tickets

    def create_repair_ticket(
        self,
        *,
        product: str,
        fault_description: str,
        phone: str,
        conversation_id: str,
        idempotency_key: str,
        **extra: str,
    ) -> Ticket:
        """File a repair ticket; replaying the same idempotency key returns the same ticket."""
        body = {
            "type": "repair",
            "product": product,
            "fault_description": fault_description,
            "phone": phone,
            **{k: v for k, v in extra.items() if v},
        }
        return self.create_ticket(
            body, idempotency_key=idempotency_key, conversation_id=conversation_id
        )

    def create_ticket(
        self, body: dict[str, Any], *, idempotency_key: str, conversation_id: str
    ) -> Ticket:
        """File a ticket from the conversation, with an idempotency key (safe to retry). The
        portal takes the channel and the chat from the conversation itself."""
        fields = {k: v for k, v in body.items() if k not in _NAMED_BY_THE_ROUTE}
        data = self._request(
            "POST",
            self._chat(conversation_id, "/tickets"),
            fields,
            idempotency_key=idempotency_key,
        )
        try:
            return Ticket(
                id=int(data["id"]),
                number=str(data["number"]),
                status=str(data.get("status", "")),
                status_label=str(data.get("status_label", "")),
                check_code=str(data.get("check_code") or ""),
                raw=data,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PortalError(f"portal returned a ticket without id/number: {data!r}") from exc

    def bound_customer(self, conversation_id: str) -> CustomerProfile | None:
        """The customer bound to the conversation's channel identity, or None."""
        try:
            data = self._request("GET", self._chat(conversation_id, "/customer"))
        except PortalNotFound:
            return None
        return CustomerProfile.from_json(data)

    def customer_tickets(
        self, conversation_id: str, scope: str = "open"
    ) -> list[TicketView] | None:
        """The bound customer's tickets (open / to_rate / all), or None if nobody is bound."""
        try:
            data = self._request(
                "GET",
                self._chat(conversation_id, "/tickets"),
                params={"scope": scope},
            )
        except PortalNotFound:
            return None
        return [TicketView.from_json(item) for item in data.get("items") or []]

    def lookup_ticket(
        self, number: str, *, phone: str, conversation_id: str, check_code: str = ""
    ) -> TicketView | None:
        """The ticket if the conversation, or the phone and check code, prove it is the
        customer's; without the code a withheld view (nothing said); else None."""
        body = {
            "number": number,
            "phone": phone,
            **({"check_code": check_code} if check_code else {}),
        }
        try:
            data = self._request("POST", self._chat(conversation_id, "/tickets/lookup"), body)
        except PortalNotFound:
            return None
        except PortalProofRequired:
            return TicketView.withheld(number)
        return TicketView.from_json(data)

    def ticket_action(
        self,
        number: str,
        action: str,
        *,
        phone: str,
        conversation_id: str,
        check_code: str = "",
        **extra: Any,
    ) -> TicketView:
        """Urge, cancel, reschedule or evaluate; PortalConflict carries the portal's reason,
        PortalProofRequired says number + phone without the check code is not enough."""
        body = {"action": action, "phone": phone, **extra}
        if check_code:
            body["check_code"] = check_code
        # Not retried: an urge or a cancel must not be sent twice.
        data = self._request(
            "POST",
            self._chat(conversation_id, f"/tickets/{_seg(number)}/actions"),
            body,
            retry=False,
        )
        return TicketView.from_json(data)

    def request_bind_code(self, conversation_id: str, *, phone: str) -> int:
        """Text a one-time code to the phone, to bind this conversation; seconds it is valid.

        PortalThrottled if a code went to that phone less than a minute ago (or a cap)."""
        data = self._request(
            "POST",
            self._chat(conversation_id, "/code"),
            {"phone": phone},
            retry=False,  # a retry would be refused as too soon, or text a second code
        )
        return int(data.get("expires_in") or 0)

    def verify_bind_code(
        self, conversation_id: str, *, phone: str, code: str
    ) -> CustomerProfile | None:
        """Bind the conversation to the phone's customer if the code is right; None if it is
        wrong, used or expired (each miss counts; five burn the code)."""
        try:
            data = self._request(
                "POST",
                self._chat(conversation_id, "/verify"),
                {"phone": phone, "code": code},
                retry=False,
            )
        except PortalRejected:
            return None
        return CustomerProfile.from_json(data)

    def sla_promise(self, *, conversation_id: str, ticket_type: str = "repair") -> str | None:
        """The response-time promise in words (for the chat's customer), if the portal
        publishes one."""
        try:
            data = self._request(
                "GET",
                self._chat(conversation_id, "/sla/promise"),
                params={"type": ticket_type},
                retry=False,
            )
        except PortalError:
            return None
        for key in ("text_zh", "promise_zh", "text"):
            if data.get(key):
                return str(data[key])
        minutes = data.get("response_minutes")
        return (
            f"{int(minutes)} 分钟内响应"
            if isinstance(minutes, (int, float)) and minutes > 0
            else None
        )

    # ------------------------------------------------------------ knowledge base, handoff

    def parse_intake(
        self, text: str, *, conversation_id: str, now: str | None = None
    ) -> dict[str, Any]:
        """What the portal reads in a customer's words: a visit window (or why there is
        none), an address, a phone (POST .../intake/parse)."""
        body: dict[str, Any] = {"text": text[:2000]}
        if now:
            body["now"] = now
        return self._request("POST", self._chat(conversation_id, "/intake/parse"), body)

    def kb_search(
        self, query: str, *, conversation_id: str, k: int = 5, product: str = ""
    ) -> KbResult | None:
        """Search the FAQ for the chat's customer; None when the portal has no knowledge
        base (404)."""
        params: dict[str, Any] = {"q": query, "k": k}
        if product:
            params["product"] = product
        try:
            data = self._request("GET", self._chat(conversation_id, "/kb/search"), params=params)
        except PortalNotFound:
            return None
        hits = tuple(
            KbHit(
                id=str(r.get("id")),
                question=str(r.get("question") or ""),
                answer=str(r.get("answer") or ""),
                score=float(r.get("score") or 0.0),
                band=str(r.get("band") or "none"),
            )
            for r in data.get("results") or []
            if isinstance(r, dict) and r.get("id") is not None
        )
        return KbResult(band=str(data.get("band") or "none"), hits=hits)

    def kb_feedback(
        self, *, entry_id: str, helpful: bool, query: str, conversation_id: str
    ) -> None:
        """Record whether an answer helped."""
        body = {"entry_id": entry_id, "helpful": helpful, "query": query}
        self._request("POST", self._chat(conversation_id, "/kb/feedback"), body, retry=False)

    def handoff(
        self, conversation_id: str, *, reason: str, summary: str, product_line: str = ""
    ) -> HandoffOutcome:
        """Ask the hub to pass the conversation to a human agent (202): queued, or (off duty)
        left with the bot. The product, when known, lets agents with that skill get it first."""
        body = {"reason": reason, "summary": summary}
        if product_line:
            body["product_line"] = product_line
        data = self._request("POST", self._chat(conversation_id, "/handoff"), body, retry=False)
        return HandoffOutcome.from_json(data)

    @staticmethod
    def _chat(conversation_id: str, path: str) -> str:
        """The bot route `path` of one conversation."""
        if not conversation_id:
            raise PortalError("a bot call must name the conversation it acts for")
        return f"/api/v1/bot/conversations/{_seg(conversation_id)}{path}"

    # ------------------------------------------------------------ transport

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
        idempotency_key: str = "",
        retry: bool = True,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.base_url + path
        attempts = self.retries + 1 if retry else 1
        # Retrying is safe for reads, and for ticket creation only because the idempotency
        # key makes the portal return the ticket it already created instead of a second one.
        for attempt in range(attempts):
            try:
                response = self.session.request(
                    method, url, json=body, params=params, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                error: PortalError = PortalUnavailable(f"cannot reach the portal at {url}: {exc}")
            else:
                if response.status_code < 500:
                    return self._parse(response)
                error = PortalUnavailable(f"portal answered {response.status_code} for {url}")
            if attempt < attempts - 1:
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
        if 200 <= status < 300:
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
            raise PortalConflict(message, str(data.get("message_zh") or ""))
        if status == 404:
            raise PortalNotFound(message)
        if status == 403:
            raise PortalProofRequired(message, str(data.get("message_zh") or ""))
        if status == 429:
            raise PortalThrottled(message, str(data.get("message_zh") or ""))
        raise PortalError(f"portal refused the request ({status}): {message}")


# The portal takes these from the conversation itself; the bot's route refuses them.
_NAMED_BY_THE_ROUTE = frozenset({"channel", "conversation_id", "customer_id"})


def _seg(value: str) -> str:
    """A value made safe to put in a URL path segment."""
    return quote(value, safe="")
