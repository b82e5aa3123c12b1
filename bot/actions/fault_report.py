"""Fault report form: slot extraction/validation and filing the repair ticket."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .fault_text import describes_fault, normalize_phone, normalize_product
from .portal_client import PortalClient, PortalError, PortalRejected

logger = logging.getLogger(__name__)

FORM_NAME = "fault_report_form"
FORM_SLOTS = ("product", "fault_description", "phone")
REQUESTED_SLOT = "requested_slot"
DEFAULT_CHANNEL = "rest"
MAX_DESCRIPTION_CHARS = 500
# Intents whose text is never taken as the answer to a question of the form.
_NOT_AN_ANSWER = {"greet", "goodbye", "affirm", "deny"}


def _latest_text(tracker: Tracker) -> str:
    text = (tracker.latest_message.get("text") or "").strip()
    # Button payloads (/inform{"product": ...}) arrive as text; their entities count, not the text.
    return "" if text.startswith("/") else text


def _latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _has_entity(tracker: Tracker, *names: str) -> bool:
    return any(e.get("entity") in names for e in tracker.latest_message.get("entities") or [])


def _reasked_since_last_answer(tracker: Tracker, response: str) -> bool:
    """True if `response` was sent between the previous two user messages."""
    user_messages_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            user_messages_seen += 1
            if user_messages_seen == 2:
                return False
        elif event.get("event") == "bot" and user_messages_seen == 1:
            if (event.get("metadata") or {}).get("utter_action") == response:
                return True
    return False


def idempotency_key(tracker: Tracker) -> str:
    """Key that is the same for every run of one form submission and new for the next report."""
    # The ActiveLoop event that started this form run is unique per report and does
    # not change when Rasa retries the action with the same tracker.
    anchor = None
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            anchor = event.get("timestamp")
            break
    if anchor is None:  # action run outside the form, e.g. from a test story
        anchor = next(
            (e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "user"),
            None,
        )
    return hashlib.sha256(f"{tracker.sender_id}|{anchor!r}".encode()).hexdigest()


class ValidateFaultReportForm(FormValidationAction):
    """Extracts and checks product, fault description and phone for fault_report_form."""

    def name(self) -> Text:
        """Action name Rasa calls while the form runs."""
        return f"validate_{FORM_NAME}"

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Keep the raw answer to the product question when NLU found no product in it."""
        if tracker.get_slot(REQUESTED_SLOT) != "product" or _has_entity(tracker, "product", "phone"):
            return {}
        text = _latest_text(tracker)
        if not text or _latest_intent(tracker) in _NOT_AN_ANSWER:
            return {}
        return {"product": text}

    async def extract_fault_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Take the answer to the fault question, or a report that already names the symptom."""
        text = _latest_text(tracker)
        if not text:
            return {}
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested == "fault_description":
            # Any answer counts (even one NLU reads as deny, like 不转了); validation judges it.
            if _latest_intent(tracker) in {"greet", "goodbye"}:
                return {}
            return {"fault_description": text}
        # requested_slot is unset only in the turn that activates the form: a message
        # like 洗衣机不转了 already says what is wrong, 我的洗衣机坏了 does not.
        if (
            requested is None
            and tracker.get_slot("fault_description") is None
            and _latest_intent(tracker) == "report_fault"
            and describes_fault(text)
        ):
            return {"fault_description": text}
        return {}

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Keep the raw answer to the phone question when no valid number was found in it."""
        if tracker.get_slot(REQUESTED_SLOT) != "phone" or _has_entity(tracker, "phone", "product"):
            return {}
        text = _latest_text(tracker)
        has_digit = any(ch.isdigit() for ch in text)
        if not text or (not has_digit and _latest_intent(tracker) in _NOT_AN_ANSWER):
            return {}
        return {"phone": text}

    def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Accept a supported product (mapped to its canonical name), else list the choices."""
        given = str(value or "").strip()
        product = normalize_product(given)
        if product:
            return {"product": product}
        dispatcher.utter_message(response="utter_product_not_supported", given_product=given[:20])
        result: Dict[Text, Any] = {"product": None}
        # 洗碗机坏了 was taken as the fault description at activation; it says nothing
        # about the product the customer will pick instead, so ask for the fault again.
        fault = tracker.get_slot("fault_description")
        if given and fault and given in fault:
            result["fault_description"] = None
        return result

    def validate_fault_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Accept a concrete symptom; ask once more if the answer is only “坏了”."""
        text = str(value or "").strip()[:MAX_DESCRIPTION_CHARS]
        # After one re-ask take whatever the customer says rather than loop forever.
        if describes_fault(text) or (
            text and _reasked_since_last_answer(tracker, "utter_fault_description_too_vague")
        ):
            return {"fault_description": text}
        dispatcher.utter_message(response="utter_fault_description_too_vague")
        return {"fault_description": None}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Accept an 11-digit Chinese mobile number, normalised to digits only."""
        phone = normalize_phone(str(value or ""))
        if phone:
            return {"phone": phone}
        dispatcher.utter_message(response="utter_invalid_phone")
        return {"phone": None}


class ActionFileTicket(Action):
    """Files the collected report as a repair ticket in the portal."""

    def name(self) -> Text:
        """Action name used in rules and stories."""
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Create the ticket and tell the customer its number, or apologise."""
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        values = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
        if not all(values.values()):
            logger.error("action_file_ticket ran with missing slots: %s", values)
            dispatcher.utter_message(response="utter_ticket_failed")
            return reset
        metadata = tracker.latest_message.get("metadata") or {}
        client = PortalClient.from_env()
        try:
            # The client blocks on HTTP; a thread keeps the action server serving others.
            ticket = await asyncio.to_thread(
                client.create_repair_ticket,
                product=values["product"],
                fault_description=values["fault_description"],
                phone=values["phone"],
                channel=metadata.get("channel") or DEFAULT_CHANNEL,
                conversation_id=tracker.sender_id,
                idempotency_key=idempotency_key(tracker),
            )
        except PortalRejected as exc:
            bad = [e for e in exc.errors if e.field in FORM_SLOTS]
            if not bad:
                logger.error("portal rejected the ticket: %s %s", exc, exc.errors)
                dispatcher.utter_message(response="utter_ticket_failed")
                return reset
            reason = "；".join(e.message_zh or e.field for e in bad)
            dispatcher.utter_message(response="utter_ticket_invalid", reason=reason)
            # Ask again only for what the portal refused, then the form files anew.
            return [SlotSet(e.field, None) for e in bad] + [FollowupAction(FORM_NAME)]
        except PortalError as exc:
            logger.error("could not file ticket: %s", exc)
            dispatcher.utter_message(response="utter_ticket_failed")
            return reset
        dispatcher.utter_message(response="utter_ticket_filed", ticket_number=ticket.number)
        return reset
