"""Running an action the way the action server does, and reading what it did."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def run(action: Action, tracker: Tracker, domain: dict) -> tuple[list[dict], list[dict]]:
    """Run an action; return (bot messages, events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def slots_set(events: list[dict]) -> dict[str, Any]:
    """The slots the events set (the last value wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def rendered(message: dict, domain: dict, slots: dict | None = None) -> str:
    """The text the customer sees: the domain response filled with slots and the message's
    values."""
    if not message.get("response"):
        return str(message.get("text") or "")
    template = domain["responses"][message["response"]][0]["text"]
    values = {**(slots or {}), **{k: v for k, v in message.items() if k != "response"}}
    return template.format_map(values)


def responses(messages: list[dict]) -> list[str | None]:
    """The response names of the messages, in order."""
    return [m.get("response") for m in messages]
