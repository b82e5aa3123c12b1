"""Answer first, then offer a visit: a fault report that is really a question.

`空调不制冷怎么办` reads as a fault report to NLU, yet the knowledge base answers it and most
customers want the answer before anyone comes. A report that asks something, asks for no
visit and has a confident answer gets the answer and the offer of an engineer
(需要安排师傅上门吗？); everything else (洗衣机漏水了，派人来修) opens the fault report form.
A yes to the offer, or its button, opens the form with what the question already said."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import entity_values, in_thread, latest_intent, latest_text
from .faq import best_answer, say_answer
from .fault_text import describes_fault, normalize_product
from .parsing import (
    about_own_ticket,
    asks_for_visit,
    is_question,
    operation_in,
    wants_installation,
)
from .portal_client import PortalClient, PortalError

logger = logging.getLogger(__name__)

TRIAGE = "triage"
ANSWERED, FORM, INSTALL = "answered", "form", "install"
# Safety first: a gas smell or a leak of gas gets the knowledge base's safety steps before
# anything is asked, question or not.
_URGENT = re.compile(
    r"煤气味|燃气味|天然气味|漏气|液化气味|闻到.{0,4}气味|gas smell|smell gas", re.I
)
# A symptom: an installation request with one of these is a repair after all.
_SYMPTOM = re.compile(r"坏|漏|不转|不制冷|不制热|不热|不冷|响|故障|报警|E\d|不出水|打不着|跳闸")


def describes_symptom(text: str) -> bool:
    """True if `text` names something wrong (漏水, 不转, E4 …)."""
    return bool(_SYMPTOM.search(text or ""))


async def confident_answer(tracker: Tracker, query: str) -> dict[str, Any] | None:
    """The knowledge base's answer when it has one (faq.best_answer), else None;
    `question` is set when the answer is a guess to be named."""
    try:
        result = await in_thread(
            PortalClient.from_env().kb_search,
            query,
            k=3,
            product=normalize_product(query) or "",
            conversation_id=tracker.sender_id,
        )
    except PortalError as exc:
        logger.warning("knowledge base search failed: %s", exc)
        return None
    best = best_answer(result, query)
    if best is None:
        return None
    hit, guessed = best
    return {"id": hit.id, "answer": hit.answer, "question": hit.question if guessed else ""}


def prefill(text: str, tracker: Tracker) -> list[EventType]:
    """Slots the form can take from the question that came before the offer."""
    events: list[EventType] = []
    product = next(iter(entity_values(tracker, "product")), None) or normalize_product(text)
    if product:
        events.append(SlotSet("product", product))
    if text and describes_fault(text):
        events.append(SlotSet("fault_description", text[:500]))
    return events


class ActionTriage(Action):
    """Decides whether a fault report is answered from the knowledge base or filed."""

    def name(self) -> str:
        """Runs on report_fault (rules/fault_report.yml) and on yes to the visit offer."""
        return "action_triage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer + offer (triage: answered) or open the form (triage: form)."""
        text = latest_text(tracker)
        offered = tracker.get_slot(TRIAGE) == ANSWERED
        if offered and (not text or latest_intent(tracker) in ("affirm", "request_installation")):
            # The offer was taken (its button, or 好的/需要): file what was asked about.
            asked = str(tracker.get_slot("kb_query") or "")
            return prefill(asked, tracker) + [SlotSet(TRIAGE, FORM)]
        if text and about_own_ticket(text) and not describes_symptom(text) and operation_in(text):
            # 那个报修单不要了，帮我撤掉: about a ticket already filed, not a new fault.
            return [FollowupAction("action_ticket_request")]
        if text and wants_installation(text) and not describes_symptom(text):
            # 帮我约个热水器安装，地址…: NLU heard a repair; it is an installation.
            return [SlotSet(TRIAGE, INSTALL)]
        urgent = bool(_URGENT.search(text or ""))
        if text and (urgent or (is_question(text) and not asks_for_visit(text))):
            hit = await confident_answer(tracker, text)
            if hit is not None:
                say_answer(dispatcher, hit["answer"], hit["question"])
                dispatcher.utter_message(response="utter_offer_visit")
                return [
                    SlotSet(TRIAGE, ANSWERED),
                    SlotSet("kb_entry_id", hit["id"]),
                    SlotSet("kb_query", text),
                    SlotSet("kb_band", None),
                ]
        return [SlotSet(TRIAGE, FORM)]


class ActionVisitDeclined(Action):
    """No visit wanted after an answer: the answer is taken as helpful."""

    def name(self) -> str:
        """Runs on deny after utter_offer_visit."""
        return "action_visit_declined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Record the answer as helpful (best effort) and say goodbye to the topic."""
        entry_id = tracker.get_slot("kb_entry_id")
        if entry_id:
            try:
                await in_thread(
                    PortalClient.from_env().kb_feedback,
                    entry_id=str(entry_id),
                    helpful=True,
                    query=str(tracker.get_slot("kb_query") or ""),
                    conversation_id=tracker.sender_id,
                )
            except PortalError as exc:
                logger.warning("could not record KB feedback: %s", exc)
        dispatcher.utter_message(response="utter_visit_declined")
        return [SlotSet(TRIAGE, None)]
