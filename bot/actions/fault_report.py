"""Fault report form: product, fault description, (a bound customer's) address and phone,
the confirmed summary, then the repair ticket."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import (
    DIGRESSIONS,
    REQUESTED_SLOT,
    has_entity,
    idempotency_key,
    latest_intent,
    latest_text,
    reasked_since_last_answer,
)
from .details import started_in, without_details
from .fault_text import describes_fault, normalize_product
from .filing import file_and_announce
from .intake import CONFIRM, HANDOVER, IntakeValidation
from .portal_client import PortalClient

logger = logging.getLogger(__name__)

FORM_NAME = "fault_report_form"
FORM_SLOTS = (
    "product",
    "fault_description",
    "fault_started",
    "phone",
    "address",
    "preferred_time",
    CONFIRM,
)
MAX_DESCRIPTION_CHARS = 500


class ValidateFaultReportForm(IntakeValidation):
    """Extracts and checks the fault report's answers."""

    form = FORM_NAME
    # The triage opens the form; the fallback's second reading and a fault typed into the
    # ticket form reach the triage first.
    starters = (
        "action_triage",
        "action_not_understood",
        "action_ticket_request",
        "ticket_form",
        "validate_ticket_form",
        "action_ticket_operation",
    )

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the raw answer to the product question when NLU found no product in it."""
        if has_entity(tracker, "product", "phone"):
            return {}
        answer = self._raw_answer(tracker, "product")
        return {"product": answer} if answer else {}

    async def extract_fault_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the answer to the fault question, or a report that already names the symptom."""
        requested = tracker.get_slot(REQUESTED_SLOT)
        text = (tracker.latest_message.get("text") or "").strip()
        if not text or text.startswith("/"):
            return {}
        if requested == "fault_description":
            # Any answer counts (even one NLU reads as deny, like 不转了); validation judges it.
            answer = self._raw_answer(tracker, "fault_description")
            return {"fault_description": answer} if answer else {}
        # requested_slot is unset only in the turn that activates the form: a message
        # like 洗衣机不转了 already says what is wrong, 我的洗衣机坏了 does not.
        if (
            requested is None
            and tracker.get_slot("fault_description") is None
            and latest_intent(tracker) not in ("affirm", "deny", "request_installation")
            and describes_fault(without_details(text))
        ):
            return {"fault_description": without_details(text)[:MAX_DESCRIPTION_CHARS]}
        return {}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The shared intake; a start named with the fault (昨天开始不制冷) is kept too."""
        events = await super().run(dispatcher, tracker, domain)
        text = latest_text(tracker)
        if tracker.slots.get("fault_started") is None and self._answering(tracker):
            said = started_in(text)
            if said and describes_fault(text):
                events.insert(0, SlotSet("fault_started", said))
        return events

    def digressions(self, tracker: Tracker) -> set[str]:
        """An FAQ-looking answer to the fault question (显示E21怎么办) is the description."""
        if tracker.get_slot(REQUESTED_SLOT) == "fault_description":
            return DIGRESSIONS - {"ask_faq"}
        return DIGRESSIONS

    def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept a supported product (mapped to its canonical name), else list the choices."""
        given = str(value or "").strip()
        product = normalize_product(given)
        if product:
            return {"product": product}
        dispatcher.utter_message(response="utter_product_not_supported", given_product=given[:20])
        result: dict[str, Any] = {"product": None}
        # 洗碗机坏了 was taken as the fault description at activation; it says nothing
        # about the product the customer will pick instead, so ask for the fault again.
        fault = tracker.get_slot("fault_description")
        if given and fault and given in fault:
            result["fault_description"] = None
        return result

    def validate_fault_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept a concrete symptom; ask once more if the answer is only “坏了”."""
        text = str(value or "").strip()[:MAX_DESCRIPTION_CHARS]
        # After one re-ask take whatever the customer says rather than loop forever.
        if describes_fault(text) or (
            text and reasked_since_last_answer(tracker, "utter_fault_description_too_vague")
        ):
            return {"fault_description": text}
        dispatcher.utter_message(response="utter_fault_description_too_vague")
        return {"fault_description": None}


class ActionFileTicket(Action):
    """Files the confirmed report as a repair ticket in the portal."""

    def name(self) -> str:
        """Action name used in rules and stories."""
        return "action_file_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Create the ticket and tell the customer its number, or apologise."""
        reset = [SlotSet(slot, None) for slot in (*FORM_SLOTS, "serial_number", "triage")]
        if tracker.get_slot(HANDOVER):
            return reset + [SlotSet(HANDOVER, None), FollowupAction("action_handoff")]
        if tracker.get_slot(CONFIRM) is not True:
            return reset  # the customer gave up; the form has said so
        values = {
            slot: tracker.get_slot(slot) for slot in ("product", "fault_description", "phone")
        }
        extra = {slot: tracker.get_slot(slot) or "" for slot in ("fault_started",)}
        if not all(values.values()):
            logger.error("action_file_ticket ran with missing slots: %s", values)
            dispatcher.utter_message(response="utter_ticket_failed")
            return reset
        client = PortalClient.from_env()
        body = {
            "type": "repair",
            **values,
            "address": tracker.get_slot("address") or "",
            "preferred_time": tracker.get_slot("preferred_time") or "",
            **extra,
            "serial_number": tracker.get_slot("serial_number") or "",
        }
        return await file_and_announce(
            dispatcher,
            tracker,
            client=client,
            body={k: v for k, v in body.items() if v != ""},
            key=idempotency_key(tracker, FORM_NAME),
            form=FORM_NAME,
            form_slots=FORM_SLOTS,
            filed_response="utter_ticket_filed",
        )
