"""Counting turns the bot could not help with: the second in a row goes to a person."""
from __future__ import annotations

from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from .common import user_turn


def failed_turn(tracker: Tracker) -> List[EventType]:
    """Events recording that this turn failed; with action_handoff next if the last one did."""
    turn = user_turn(tracker)
    last = tracker.get_slot("last_failed_turn")
    events: List[EventType] = [SlotSet("last_failed_turn", turn)]
    if last is not None and int(last) == turn - 1:
        events.append(FollowupAction("action_handoff"))
    return events
