"""Sessions, greetings and messages the bot did not understand."""
from __future__ import annotations

from typing import Any, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import customer_profile, latest_intent
from .failures import failed_turn

# What a new session (after an hour of silence) remembers: the customer's number, so they
# are not asked again, and the channel metadata Rasa set for this session. Half-filled
# forms and proven tickets are forgotten on purpose.
CARRIED_OVER = ("phone", "session_started_metadata")


class ActionSessionStart(Action):
    """Starts a session, keeping only CARRIED_OVER slots."""

    def name(self) -> Text:
        """Rasa's session start action, replaced."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """SessionStarted, the kept slots, then listen."""
        kept: List[EventType] = []
        for slot in CARRIED_OVER:
            value: Any = tracker.get_slot(slot)
            if value is not None:
                kept.append(SlotSet(slot, value))
        return [SessionStarted(), *kept, ActionExecuted("action_listen")]


class ActionGreet(Action):
    """Greets; a customer bound to this conversation by name."""

    def name(self) -> Text:
        """Action name used in the greet rule."""
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """utter_greet_known with the name, else utter_greet."""
        profile = await customer_profile(tracker)
        if profile and profile.name:
            dispatcher.utter_message(response="utter_greet_known", name=profile.name)
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionNotUnderstood(Action):
    """Out-of-scope messages and the core fallback: apologise; twice in a row, hand over."""

    def name(self) -> Text:
        """Action name of the core fallback (config.yml) and the out_of_scope rule."""
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Say what the bot can do, or (second failure) let action_handoff follow."""
        events = failed_turn(tracker)
        if not any(e.get("event") == "followup" for e in events):
            scope = latest_intent(tracker) == "out_of_scope"
            dispatcher.utter_message(response="utter_out_of_scope" if scope else "utter_default")
        return events
