"""Questions answered from the knowledge base: a confident hit answers and asks whether it
helped, a middling one offers the best questions as buttons, nothing good enough offers a
human or a ticket. Inside a form the answer is given and the form goes on."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import entity_values, in_thread, language_of, latest_intent, latest_text
from .failures import failed_turn, ladder_response
from .parsing import wants_to_stop, yes_or_no
from .portal_client import KbHit, KbResult, PortalClient, PortalError

logger = logging.getLogger(__name__)

MAX_SUGGESTIONS = 3
# The last suggestion button: none of the offered questions is the one asked.
NONE_OF_THESE = {"zh": "都不是", "en": "None of these"}
# What leaving each form says, and the slots it forgets (the phone is kept).
STOPPED = {
    "fault_report_form": "utter_intake_stopped",
    "installation_form": "utter_installation_stopped",
    "ticket_form": "utter_ticket_stopped",
}
FORM_SLOTS = {
    "fault_report_form": (
        "product",
        "fault_description",
        "fault_started",
        "address",
        "preferred_time",
        "summary_confirmed",
        "serial_number",
        "triage",
    ),
    "installation_form": (
        "product",
        "model_code",
        "address",
        "preferred_time",
        "summary_confirmed",
    ),
    "ticket_form": (
        "ticket_operation",
        "cancel_confirmed",
        "rating_score",
        "rating_comment",
        "preferred_time",
    ),
}


# A fault code (E21, F3, UE1): letters then digits, not part of a longer code.
_FAULT_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,2}\d{1,3})(?![A-Za-z0-9])")


def fault_codes(text: str) -> set[str]:
    """The fault codes `text` names, upper case (E21是什么意思 -> {"E21"})."""
    return {code.upper() for code in _FAULT_CODE.findall(text or "")}


def best_answer(result: KbResult | None, query: str = "") -> tuple[KbHit, bool] | None:
    """The entry to answer with, and whether it is a guess: the knowledge base's confident
    answer, or else the one entry it half-recognises (a single suggestion is shown as
    您问的可能是「…」 rather than as a lone button), or else the one suggestion that names
    the fault code asked about (E21是什么意思: other codes' entries score alike, yet only
    one is about E21)."""
    if result is None or not result.hits:
        return None
    if result.band != "answer":
        return _the_one_naming_the_code(result, query)
    # The portal decides (knowledge_base.bands.decide, the same for 试一试 and the API): an
    # answer whose top hit is only in the suggest band is that lone half-recognised entry.
    top = result.hits[0]
    return top, top.band != "answer"


def _the_one_naming_the_code(result: KbResult, query: str) -> tuple[KbHit, bool] | None:
    asked = fault_codes(query)
    if result.band != "suggest" or len(asked) != 1:
        return None
    naming = [h for h in result.hits if h.band == "suggest" and asked <= fault_codes(h.question)]
    return (naming[0], True) if len(naming) == 1 else None


def say_answer(dispatcher: CollectingDispatcher, answer: str, question: str = "") -> None:
    """An FAQ answer in one message; a guessed one names the question it answers."""
    if question:
        dispatcher.utter_message(
            response="utter_kb_answer_guess", question=question, answer=one_message(answer)
        )
    else:
        dispatcher.utter_message(response="utter_kb_answer", answer=one_message(answer))


def one_message(answer: str) -> str:
    """An answer kept in one chat message: Rasa splits a text at every blank line, so
    blank lines become lines holding a space, which Markdown still reads as blank."""
    return re.sub(r"\n[ \t]*\n", "\n \n", answer.strip())


def _suggestion(tracker: Tracker) -> dict[str, Any] | None:
    """The suggestion whose button was pressed (/ask_faq{"kb_choice": "1"})."""
    choices = entity_values(tracker, "kb_choice")
    offered = tracker.get_slot("kb_suggestions") or []
    try:
        return offered[int(choices[0])] if choices else None
    except (ValueError, IndexError, TypeError):
        return None


class ActionKbSearch(Action):
    """Looks the question up in the portal's knowledge base and answers by confidence band."""

    def name(self) -> str:
        """Action name used in rules (ask_faq, nlu_fallback, digressions inside forms)."""
        return "action_kb_search"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Search, then answer / suggest / offer a human, by the band the portal gives."""
        in_form = bool(tracker.active_loop_name)
        if in_form and wants_to_stop(latest_text(tracker)):
            # 不用报修，我只是问问 read as a question: it still leaves the form.
            return self._leave_form(dispatcher, tracker)
        picked = _suggestion(tracker)
        if picked:
            return self._answer(
                dispatcher,
                in_form,
                picked["id"],
                picked["answer"],
                tracker.get_slot("kb_query") or picked["question"],
            )
        query = latest_text(tracker)
        if not query:
            dispatcher.utter_message(response="utter_default")
            return []
        client = PortalClient.from_env()
        try:
            result: KbResult | None = await in_thread(
                client.kb_search,
                query,
                k=5,
                product=tracker.get_slot("product") or "",
                conversation_id=tracker.sender_id,
            )
        except PortalError as exc:
            logger.warning("knowledge base search failed: %s", exc)
            result = None
        if result is None:
            return self._nothing(dispatcher, tracker, in_form, "utter_kb_unavailable")
        hits = list(result.hits)
        best = best_answer(result, query)
        if best is not None:
            hit, guessed = best
            return self._answer(
                dispatcher,
                in_form,
                hit.id,
                hit.answer,
                query,
                question=hit.question if guessed else "",
            )
        good = [h for h in hits if h.band == "suggest"] if result.band == "suggest" else []
        if not good:
            return self._nothing(dispatcher, tracker, in_form, "utter_kb_no_answer")
        offered = [
            {"id": h.id, "question": h.question, "answer": h.answer} for h in good[:MAX_SUGGESTIONS]
        ]
        buttons = [
            {"title": s["question"], "payload": "/ask_faq" + json.dumps({"kb_choice": str(i)})}
            for i, s in enumerate(offered)
        ]
        if not in_form:
            title = NONE_OF_THESE.get(language_of(tracker), NONE_OF_THESE["zh"])
            buttons.append({"title": title, "payload": "/deny"})
        dispatcher.utter_message(response="utter_kb_suggest", buttons=buttons)
        return [
            SlotSet("kb_band", "suggest"),
            SlotSet("kb_suggestions", offered),
            SlotSet("kb_query", query),
            SlotSet("kb_entry_id", None),
        ]

    @staticmethod
    def _leave_form(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        form = tracker.active_loop_name or ""
        dispatcher.utter_message(response=STOPPED.get(form, "utter_intake_stopped"))
        slots = FORM_SLOTS.get(form, ())
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("kb_band", "none")] + [
            SlotSet(slot, None) for slot in slots
        ]

    @staticmethod
    def _answer(
        dispatcher: CollectingDispatcher,
        in_form: bool,
        entry_id: str,
        answer: str,
        query: str,
        question: str = "",
    ) -> list[EventType]:
        say_answer(dispatcher, answer, question)
        if in_form:
            dispatcher.utter_message(response="utter_back_to_form")
            return [
                SlotSet("kb_band", None),
                SlotSet("kb_entry_id", entry_id),
                SlotSet("kb_query", query),
            ]
        dispatcher.utter_message(response="utter_kb_ask_helpful")
        return [
            SlotSet("kb_band", "answer"),
            SlotSet("kb_entry_id", entry_id),
            SlotSet("kb_query", query),
        ]

    @staticmethod
    def _nothing(
        dispatcher: CollectingDispatcher, tracker: Tracker, in_form: bool, response: str
    ) -> list[EventType]:
        if in_form:
            # Inside a form the customer is busy with us: answer briefly and go on.
            dispatcher.utter_message(response="utter_kb_no_answer_in_form")
            dispatcher.utter_message(response="utter_back_to_form")
            return [SlotSet("kb_band", None)]
        said = ladder_response(tracker, response)
        events = failed_turn(tracker)
        if said is not None:
            dispatcher.utter_message(response=said)
        return [SlotSet("kb_band", "none"), SlotSet("kb_query", latest_text(tracker))] + events


class ActionKbFeedback(Action):
    """Records whether the answer helped (已解决 / 未解决) and offers more help if not."""

    def name(self) -> str:
        """Action name used in rules after an answer or after suggestions."""
        return "action_kb_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """POST the feedback (best effort), then thank or offer a human / a ticket."""
        helpful = yes_or_no(latest_text(tracker))
        if helpful is None:
            helpful = latest_intent(tracker) == "affirm"
        entry_id = tracker.get_slot("kb_entry_id")
        if entry_id and tracker.get_slot("kb_band") == "answer":
            client = PortalClient.from_env()
            try:
                await in_thread(
                    client.kb_feedback,
                    entry_id=str(entry_id),
                    helpful=helpful,
                    query=str(tracker.get_slot("kb_query") or ""),
                    conversation_id=tracker.sender_id,
                )
            except PortalError as exc:
                logger.warning("could not record KB feedback: %s", exc)
        dispatcher.utter_message(response="utter_kb_glad" if helpful else "utter_kb_not_helpful")
        return [SlotSet("kb_band", None), SlotSet("kb_suggestions", None)]


async def answer_in_passing(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str
) -> bool:
    """Answer a question asked in the middle of a form (the form then asks again); True
    when something was said."""
    try:
        result = await in_thread(
            PortalClient.from_env().kb_search,
            question,
            k=3,
            product=tracker.get_slot("product") or "",
            conversation_id=tracker.sender_id,
        )
    except PortalError as exc:
        logger.warning("knowledge base search failed: %s", exc)
        result = None
    best = best_answer(result, question)
    if best is not None:
        hit, guessed = best
        say_answer(dispatcher, hit.answer, hit.question if guessed else "")
    else:
        dispatcher.utter_message(response="utter_kb_no_answer_in_form")
    dispatcher.utter_message(response="utter_back_to_form")
    return True
