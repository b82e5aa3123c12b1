"""Counting turns the bot could not help with: the fallback ladder.

The first misunderstood turn asks what was meant, the second in a row offers a person,
the third hands the conversation over. Each step says something different, so the
customer never reads the same apology twice in a row."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from .common import user_turn

# Misunderstood turns in a row before the bot offers a person, and before it hands over.
OFFER_AT, HANDOFF_AT = 2, 3


def streak(tracker: Tracker) -> int:
    """How many misunderstood turns in a row this one makes (counting this one)."""
    turn = user_turn(tracker)
    last = tracker.get_slot("last_failed_turn")
    if last is None or int(last) != turn - 1:
        return 1
    return int(tracker.get_slot("failed_streak") or 1) + 1


def failed_turn(tracker: Tracker) -> list[EventType]:
    """Events recording that this turn failed; with action_handoff next on the third in a row."""
    count = streak(tracker)
    events: list[EventType] = [
        SlotSet("last_failed_turn", user_turn(tracker)),
        SlotSet("failed_streak", count),
    ]
    if count >= HANDOFF_AT:
        events.append(FollowupAction("action_handoff"))
    return events


def ladder_response(tracker: Tracker, first: str) -> str | None:
    """The response for this failed turn: `first`, then the offer of a person, then none
    (action_handoff follows and speaks)."""
    count = streak(tracker)
    if count >= HANDOFF_AT:
        return None
    return first if count < OFFER_AT else "utter_default_offer_human"


def hands_over(events: list[EventType]) -> bool:
    """True if these events send the conversation to action_handoff next."""
    return any(e.get("event") == "followup" for e in events)
