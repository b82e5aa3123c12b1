"""Reading the tracker: the latest message, who the customer is, and keys derived from it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.types import DomainDict

from .portal_client import CustomerProfile, PortalClient, PortalError

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
# Intents that leave the question of a form unanswered: the rules answer them, then the
# form asks again (or hands over).
DIGRESSIONS = {"ask_faq", "request_human", "complain"}
_T = TypeVar("_T")


def latest_text(tracker: Tracker) -> str:
    """The customer's latest message; empty for button payloads (/intent{...})."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text


def latest_intent(tracker: Tracker) -> str | None:
    """Name of the latest message's intent."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def entity_values(tracker: Tracker, name: str) -> list[Any]:
    """Values of one entity in the latest message."""
    return [
        e.get("value")
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == name and e.get("value") not in (None, "")
    ]


def has_entity(tracker: Tracker, *names: str) -> bool:
    """True if the latest message has any of these entities."""
    return any(e.get("entity") in names for e in tracker.latest_message.get("entities") or [])


def user_turn(tracker: Tracker) -> int:
    """How many customer messages the tracker holds (this one included)."""
    return sum(1 for e in tracker.events if e.get("event") == "user")


def fresh_answer(tracker: Tracker, form: str, *starters: str) -> bool:
    """True if `form` runs right after a customer message (or right after one of the
    `starters`, the actions that open it), not on its way back from a digression such as
    an FAQ answer, when the latest message was meant for something else."""
    allowed = {"action_listen", "action_extract_slots", form, f"validate_{form}", *starters}
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            return True
        if kind == "action" and event.get("name") not in allowed:
            return False
    return False


def sent_since_last_message(tracker: Tracker, *responses: str) -> bool:
    """True if one of these responses went out after the latest customer message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if (
            event.get("event") == "bot"
            and (event.get("metadata") or {}).get("utter_action") in responses
        ):
            return True
    return False


def reasked_since_last_answer(tracker: Tracker, response: str) -> bool:
    """True if `response` was sent between the previous two customer messages."""
    user_messages_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            user_messages_seen += 1
            if user_messages_seen == 2:
                return False
        elif (
            event.get("event") == "bot"
            and user_messages_seen == 1
            and (event.get("metadata") or {}).get("utter_action") == response
        ):
            return True
    return False


def idempotency_key(tracker: Tracker, form: str) -> str:
    """Key that is the same for every run of one form submission and new for the next one."""
    # The ActiveLoop event that started this form run is unique per submission and does
    # not change when Rasa retries the action with the same tracker.
    anchor = None
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            anchor = event.get("timestamp")
            break
    if anchor is None:  # action run outside the form, e.g. from a test story
        anchor = next(
            (e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "user"),
            None,
        )
    return hashlib.sha256(f"{tracker.sender_id}|{anchor!r}".encode()).hexdigest()


async def customer_profile(tracker: Tracker) -> CustomerProfile | None:
    """The customer bound to this conversation (None if nobody, or the portal is down).

    Remembered on the tracker object, which lives for one action call: a form's validation
    asks several times per message, the portal is asked once."""
    cached = getattr(tracker, "_aftersales_profile", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    try:
        profile = await in_thread(PortalClient.from_env().bound_customer, tracker.sender_id)
    except PortalError as exc:
        logger.warning("could not read the bound customer: %s", exc)
        profile = None
    tracker._aftersales_profile = profile
    return profile


_MISSING = object()


async def in_thread(func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Run a blocking portal call without stalling the action server's other customers."""
    return await asyncio.to_thread(func, *args, **kwargs)


def language_of(tracker: Tracker) -> str:
    """The language replies are in (the `language` slot: zh, or en)."""
    return str(tracker.get_slot("language") or "zh")


def response_text(domain: DomainDict, response: str, /, lang: str = "zh", **params: Any) -> str:
    """A domain response's text filled in, for lines that go inside another response: the
    variation for `lang` (conditioned on the language slot), else the Chinese default."""
    variants = (domain.get("responses") or {}).get(response) or [{}]
    chosen = next(
        (
            v
            for v in variants
            if any(
                c.get("name") == "language" and c.get("value") == lang
                for c in v.get("condition") or []
            )
        ),
        None,
    ) or next((v for v in variants if not v.get("condition")), variants[0])
    return str(chosen.get("text") or "").format(**params)


def slots_reset(*names: str) -> dict[str, None]:
    """{slot: None} for each name."""
    return {name: None for name in names}
