"""Installation booking: product (and model), address, a visit window, phone, the confirmed
summary, then an installation ticket."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import has_entity, idempotency_key, latest_intent, latest_text
from .filing import file_and_announce
from .intake import CONFIRM, HANDOVER, IntakeValidation, product_and_model
from .portal_client import PortalClient

FORM_NAME = "installation_form"
FORM_SLOTS = ("product", "address", "preferred_time", "phone", CONFIRM)


class ValidateInstallationForm(IntakeValidation):
    """Extracts and checks the installation booking's answers."""

    form = FORM_NAME
    correct_response = "utter_ask_what_to_correct_installation"
    stopped_response = "utter_installation_stopped"
    starters = ("action_triage", "action_not_understood", "action_ticket_request")

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The product (and model code) from the answer, or from the message that asked for
        the installation (我要装个空调 KFR-35GW)."""
        text = latest_text(tracker)
        # The message that asked for it (我要装个空调 KFR-35GW), also when the triage
        # found an installation in what NLU heard as a repair.
        starting = tracker.get_slot("requested_slot") is None and (
            latest_intent(tracker) == "request_installation" or self._answering(tracker)
        )
        answer = self._raw_answer(tracker, "product")
        if not (answer or starting) or not text:
            return {}
        product, model = product_and_model(text)
        result: dict[str, Any] = {}
        if model:
            result["model_code"] = model
        if product and not has_entity(tracker, "product"):
            result["product"] = product
        elif answer and not has_entity(tracker, "product"):
            result["product"] = answer  # validation lists the supported products
        return result

    def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept a supported product, else list the choices."""
        product, _ = product_and_model(str(value or ""))
        if product:
            return {"product": product}
        dispatcher.utter_message(
            response="utter_product_not_supported", given_product=str(value or "")[:20]
        )
        return {"product": None}

    def validate_model_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Model codes are kept as found."""
        return {"model_code": value}


class ActionBookInstallation(Action):
    """Files the confirmed booking as an installation ticket."""

    def name(self) -> str:
        """Action name used in rules and stories."""
        return "action_book_installation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Create the ticket and tell the customer its number and window, or apologise."""
        reset: list[EventType] = [SlotSet(slot, None) for slot in (*FORM_SLOTS, "model_code")]
        if tracker.get_slot(HANDOVER):
            return reset + [SlotSet(HANDOVER, None), FollowupAction("action_handoff")]
        if tracker.get_slot(CONFIRM) is not True:
            return reset
        body = {
            "type": "installation",
            "product": tracker.get_slot("product") or "",
            "model_code": tracker.get_slot("model_code") or "",
            "address": tracker.get_slot("address") or "",
            "preferred_time": tracker.get_slot("preferred_time") or "",
            "phone": tracker.get_slot("phone") or "",
        }
        return await file_and_announce(
            dispatcher,
            tracker,
            client=PortalClient.from_env(),
            body={k: v for k, v in body.items() if v != ""},
            key=idempotency_key(tracker, FORM_NAME),
            form=FORM_NAME,
            form_slots=FORM_SLOTS,
            filed_response="utter_installation_booked",
        )
