"""Sessions, greetings and messages the bot did not understand."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import customer_profile, latest_intent, latest_text
from .details import without_details
from .failures import failed_turn, ladder_response
from .fault_text import describes_fault, normalize_product
from .parsing import find_ticket_number, is_question

# What a new session (after an hour of silence) remembers: the customer's number, so they
# are not asked again, and the channel metadata Rasa set for this session. Half-filled
# forms and proven tickets are forgotten on purpose.
CARRIED_OVER = ("phone", "language", "session_started_metadata")
# Rasa's own intent for "/session_start", which the hub sends when a chat is opened; Rasa
# maps it to action_session_start (no rule needed, none allowed).
SESSION_START_INTENT = "session_start"


def last_bot_response(tracker: Tracker) -> str | None:
    """The response name of the bot's last message before the latest customer message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif event.get("event") == "bot" and seen_user:
            return (event.get("metadata") or {}).get("utter_action")
    return None


def opened_by_customer(tracker: Tracker) -> bool:
    """True when this session start answers the channel's /session_start (a chat opened
    before anything was typed), not Rasa starting a session by itself (a first message,
    or one after an hour of silence, which the bot then answers anyway)."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        # Rasa fills slots (action_extract_slots) between the message and this action.
        if kind in ("slot", "user_featurization") or (
            kind == "action" and event.get("name") == "action_extract_slots"
        ):
            continue
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            return intent == SESSION_START_INTENT
        return False
    return False


async def greet(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """utter_greet_known with the name of a customer bound to the chat, else utter_greet;
    right after a greeting of ours, a short one instead of the introduction again."""
    if last_bot_response(tracker) in ("utter_greet", "utter_greet_known", "utter_greet_again"):
        dispatcher.utter_message(response="utter_greet_again")
        return
    profile = await customer_profile(tracker)
    if profile and profile.name:
        dispatcher.utter_message(response="utter_greet_known", name=profile.name)
    else:
        dispatcher.utter_message(response="utter_greet")


class ActionSessionStart(Action):
    """Starts a session, keeping only CARRIED_OVER slots; greets a chat just opened."""

    def name(self) -> str:
        """Rasa's session start action, replaced."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The greeting if the customer opened the chat, then SessionStarted, the kept
        slots, and listen."""
        if opened_by_customer(tracker):
            await greet(dispatcher, tracker)
        kept: list[EventType] = []
        for slot in CARRIED_OVER:
            value: Any = tracker.get_slot(slot)
            if value is not None:
                kept.append(SlotSet(slot, value))
        return [SessionStarted(), *kept, ActionExecuted("action_listen")]


class ActionGreet(Action):
    """Greets; a customer bound to this conversation by name."""

    def name(self) -> str:
        """Action name used in the greet rule."""
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """utter_greet_known with the name, else utter_greet; then the customer speaks
        (also when the greeting follows another action, as when 你好 leaves a form)."""
        await greet(dispatcher, tracker)
        return [FollowupAction("action_listen")]


def second_reading(tracker: Tracker) -> str | None:
    """The action for a message NLU was unsure of, read by its unmistakable parts: a
    ticket number is about that ticket, an appliance with a symptom is a fault report
    (even when it also carries an address, a phone and a time), a question goes to the
    knowledge base. None when nothing stands out (or a form is busy with the customer)."""
    text = latest_text(tracker)
    if not text or tracker.active_loop_name:
        return None
    if find_ticket_number(text):
        return "action_ticket_request"
    if normalize_product(text) and describes_fault(without_details(text)):
        return "action_triage"
    # A question NLU judged out of scope (今天天气怎么样) is not searched for.
    if is_question(text) and len(text) >= 4 and latest_intent(tracker) != "out_of_scope":
        return "action_kb_search"
    return None


class ActionNotUnderstood(Action):
    """Out-of-scope messages and the core fallback: the fallback ladder (failures.py)."""

    def name(self) -> str:
        """Action name of the core fallback (config.yml) and the out_of_scope rule."""
        return "action_not_understood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Ask what was meant, then offer a person, then let action_handoff follow.

        Otherwise the turn ends here: as the core fallback this action runs when no
        policy is sure what comes next, and without an explicit action_listen the
        policies would predict it again and again until Rasa's circuit breaker trips,
        leaving the conversation mid-turn and the customer unanswered."""
        rerouted = second_reading(tracker)
        if rerouted is not None:
            return [FollowupAction(rerouted)]
        first = (
            "utter_out_of_scope" if latest_intent(tracker) == "out_of_scope" else "utter_default"
        )
        response = ladder_response(tracker, first)
        events = failed_turn(tracker)
        if response is None:
            return events
        dispatcher.utter_message(response=response)
        return events + [FollowupAction("action_listen")]
