"""The customer's own tickets: progress, urge, cancel, reschedule and rating.

A ticket is the customer's when the conversation is bound to its customer, or when the
number, a phone of that customer and the ticket's check code match (the portal checks; the
bot only asks). Nothing about a ticket is said before that, not even its status.
action_ticket_request does at once what it can and otherwise opens ticket_form, which asks
only for what is missing: the ticket (buttons for a bound customer), the phone, the code,
and what the operation needs (confirmation, time, score).

A customer without the ticket number (不记得单号了, or the button under the question) proves
the phone instead: the portal texts a one-time code (action_ask_otp_code asks for it), the
code typed back binds the chat to them, and from then on they are a bound customer: their
open tickets are listed, or the ticket to act on is picked from their own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from . import ticket_replies as say
from .common import (
    DIGRESSIONS,
    REQUESTED_SLOT,
    customer_profile,
    entity_values,
    fresh_answer,
    has_entity,
    in_thread,
    language_of,
    latest_intent,
    latest_text,
)
from .fault_text import describes_fault, normalize_phone, normalize_product, phone_slot
from .intake import HANDOVER, HANDOVER_AFTER, MISSES, OFFER_AFTER, validate_window
from .parsing import (
    about_own_ticket,
    find_code,
    find_ticket_number,
    is_no_comment,
    is_question,
    mask_phone,
    operation_in,
    parse_score,
    wants_code,
    wants_installation,
    wants_new_code,
    wants_to_stop,
    yes_or_no,
)
from .portal_client import (
    PortalClient,
    PortalConflict,
    PortalError,
    PortalProofRequired,
    PortalThrottled,
    TicketView,
)
from .time_windows import WindowError, parse_window
from .triage import confident_answer

logger = logging.getLogger(__name__)

FORM_NAME = "ticket_form"
OPERATIONS = {
    "query_progress": "progress",
    "urge_progress": "urge",
    "cancel_ticket": "cancel",
    "reschedule_visit": "reschedule",
    "rate_service": "rate",
}
PORTAL_ACTION = {"urge": "urge", "cancel": "cancel", "reschedule": "reschedule", "rate": "evaluate"}
EXTRA_SLOTS = {
    "cancel": ["cancel_confirmed"],
    "reschedule": ["preferred_time"],
    "rate": ["rating_score", "rating_comment"],
}
OPERATION_SLOTS = (
    "cancel_confirmed",
    "preferred_time",
    "rating_score",
    "rating_comment",
    "proof_method",
    "otp_code",
    "otp_sent_to",
)
MAX_FAILED_CHECKS = 3
# Questions whose unusable answers climb the fallback ladder (the others re-ask as they
# always did: a code has its own limits, a score or a time its own explanations).
MISSABLE = ("ticket_number", "phone")
# The answer to 确定要取消吗？ that keeps the ticket.
_KEEP_TICKET = re.compile(
    r"不取消|别取消|先不|不撤|不用取消|不要取消|还是(?:来)?修|保留|keep it", re.I
)
# Where the conversation goes when the ticket form is left for something else.
SWITCHES = {"report": "action_triage", "greet": "action_greet"}
CODE_PROOF = "code"
# otp_code once the portal accepted it: the code itself is not kept.
CODE_ACCEPTED = "verified"
# Number + phone alone proves nothing (the portal answers 403 for every number and phone):
# the ticket's check code, or the chat bound by a one-time code, is asked for first.
PROOF_TEXT = {
    "zh": "为保护您的工单，查询、催办、取消、改约或评价前需要再验证一次：请输入报修时收到的"
    "工单校验码，或我们发送到您手机的短信验证码。",
    "en": "To protect your ticket, following it up, cancelling, rescheduling or rating needs "
    "one more proof: type the ticket's check code you got when you reported it, or the "
    "one-time code we text to your phone.",
}
CHECK_TEXT = {
    "zh": "校验码正确。",
    "en": "The check code is right.",
}
# otp_code when the customer typed the ticket's check code instead of the texted code: kept
# (until the operation is done) because every call for that ticket must carry it.
CHECK_PREFIX = "check:"


def proof_accepted(value: Any) -> bool:
    """Whether otp_code holds an accepted proof: the chat bound, or the ticket's check code."""
    return value == CODE_ACCEPTED or str(value or "").startswith(CHECK_PREFIX)


def check_code_of(tracker: Tracker) -> str:
    """The ticket's check code the customer typed in this operation, or ""."""
    value = str(tracker.slots.get("otp_code") or "")
    return value[len(CHECK_PREFIX) :] if value.startswith(CHECK_PREFIX) else ""


def needs_code(view: TicketView) -> bool:
    """Whether the portal withheld the ticket: number + phone without its check code."""
    return not view.fully_proven


def ask_for_code(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Switch the proof to a one-time code on the phone already given, and say why."""
    dispatcher.utter_message(text=PROOF_TEXT.get(language_of(tracker), PROOF_TEXT["zh"]))
    switch = [SlotSet("proof_method", CODE_PROOF), SlotSet("otp_code", None)]
    tracker.add_slots(switch)
    return switch


def ticket_slots(op: str | None, tracker: Tracker) -> list[str]:
    """What ticket_form needs for this operation: the ticket, proof, then the details."""
    if tracker.slots.get("proof_method") == CODE_PROOF and not proof_accepted(
        tracker.slots.get("otp_code")
    ):
        return ["phone", "otp_code"]  # bound first; then the customer's own tickets
    number = tracker.slots.get("ticket_number")
    verified = bool(number) and tracker.slots.get("verified_ticket") == number
    return ["ticket_number", *([] if verified else ["phone"]), *EXTRA_SLOTS.get(op or "", [])]


async def find_view(tracker: Tracker, number: str) -> TicketView | None:
    """The ticket if this conversation or the phone in the slots proves it is the customer's."""
    client = PortalClient.from_env()
    return await in_thread(
        client.lookup_ticket,
        number,
        phone=normalize_phone(str(tracker.slots.get("phone") or "")) or "",
        conversation_id=tracker.sender_id,
        check_code=check_code_of(tracker),
    )


async def perform(
    dispatcher: CollectingDispatcher,
    domain: DomainDict,
    tracker: Tracker,
    op: str,
    view: TicketView,
) -> None:
    """Carry out the operation on a verified ticket and say how it went."""
    if op == "progress":
        say.progress(dispatcher, domain, view, language_of(tracker))
        return
    if op == "cancel" and tracker.slots.get("cancel_confirmed") is not True:
        dispatcher.utter_message(response="utter_cancel_kept", number=view.number)
        return
    extra: dict[str, Any] = {}
    if op == "cancel":
        extra["reason"] = "客户通过在线客服取消"
    elif op == "reschedule":
        extra["preferred_time"] = tracker.slots.get("preferred_time") or ""
    elif op == "rate":
        extra["score"] = int(tracker.slots.get("rating_score") or 0)
        extra["comment"] = str(tracker.slots.get("rating_comment") or "")
    client = PortalClient.from_env()
    try:
        done = await in_thread(
            client.ticket_action,
            view.number,
            PORTAL_ACTION[op],
            phone=normalize_phone(str(tracker.slots.get("phone") or "")) or "",
            conversation_id=tracker.sender_id,
            check_code=check_code_of(tracker),
            **extra,
        )
    except PortalConflict as exc:
        say.refused(dispatcher, op, exc.message_zh)
        return
    except PortalProofRequired:
        dispatcher.utter_message(text=PROOF_TEXT.get(language_of(tracker), PROOF_TEXT["zh"]))
        return
    except PortalError as exc:
        logger.error("ticket %s %s failed: %s", view.number, op, exc)
        dispatcher.utter_message(response="utter_portal_down")
        return
    say.outcome(dispatcher, op, done, score=extra.get("score", ""))


def _done_events() -> list[EventType]:
    return [SlotSet("ticket_step", "done"), SlotSet("ticket_operation", None)] + [
        SlotSet(slot, None) for slot in OPERATION_SLOTS
    ]


class ActionTicketRequest(Action):
    """Starts a ticket operation: does it at once if it can, otherwise opens ticket_form."""

    def name(self) -> str:
        """Action name used in rules."""
        return "action_ticket_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Set up the operation from the message; answer now or hand over to the form."""
        text = latest_text(tracker)
        op = OPERATIONS.get(latest_intent(tracker) or "") or operation_in(text) or "progress"
        elsewhere = await self._not_about_a_ticket(tracker, text)
        if elsewhere is not None:
            return [FollowupAction(elsewhere)]
        named = next(
            (n for n in map(find_ticket_number, entity_values(tracker, "ticket_number")) if n),
            None,
        ) or find_ticket_number(text)
        number = named or tracker.get_slot("verified_ticket")
        prefill: dict[str, Any] = {slot: None for slot in OPERATION_SLOTS}
        if op == "reschedule" and text:
            with contextlib.suppress(WindowError):  # no time in it: the form asks
                prefill["preferred_time"] = parse_window(text, sender=tracker.sender_id).canonical
        if op == "rate":
            prefill["rating_score"] = parse_score(text)
        events: list[EventType] = [SlotSet("ticket_operation", op), SlotSet("verify_failures", 0)]
        events += [SlotSet(k, v) for k, v in prefill.items()]
        tracker.slots.update({"ticket_operation": op, **prefill})
        client = PortalClient.from_env()
        bound = False
        try:
            if number is None:
                scope = "to_rate" if op == "rate" else "open"
                tickets = await in_thread(client.customer_tickets, tracker.sender_id, scope)
                bound = tickets is not None
                if tickets is not None:
                    if op == "progress":
                        say.progress_list(dispatcher, domain, tickets)
                        return events + _done_events()
                    fit = [t for t in tickets if say.allows(t, op)]
                    if not fit:
                        dispatcher.utter_message(response=f"utter_nothing_to_{op}")
                        return events + _done_events()
                    if len(fit) == 1:
                        number = fit[0].number
            view = await find_view(tracker, number) if number else None
        except PortalError as exc:
            logger.error("ticket request failed: %s", exc)
            dispatcher.utter_message(response="utter_portal_down")
            return events + _done_events()
        if view is not None and not named and view.fully_proven and not say.allows(view, op):
            view = None  # the ticket proven earlier does not fit (a cancelled one to rate)
        if view is not None and needs_code(view) and (not named or not tracker.slots.get("phone")):
            # Not proven: the ticket (one only named earlier is asked for again), then the
            # phone, then the code.
            view = None
            events.append(SlotSet("verified_ticket", None))
            tracker.slots["verified_ticket"] = None
        if view is not None:
            events += [
                SlotSet("ticket_number", view.number),
                SlotSet("verified_ticket", view.number),
            ]
            tracker.slots.update({"ticket_number": view.number, "verified_ticket": view.number})
            if needs_code(view):
                events += ask_for_code(dispatcher, tracker)
                return events + [SlotSet("ticket_step", "form")]
            if not say.allows(view, op):
                say.not_allowed(dispatcher, op, view)
                return events + _done_events()
            missing = [s for s in ticket_slots(op, tracker) if tracker.slots.get(s) is None]
            if not missing:
                await perform(dispatcher, domain, tracker, op, view)
                return events + _done_events()
        else:
            events.append(SlotSet("ticket_number", named))
            if not named and not bound and wants_code(text):
                # 单号忘了，查下进度: straight to the phone and the code.
                events.append(SlotSet("proof_method", CODE_PROOF))
        return events + [SlotSet("ticket_step", "form")]

    @staticmethod
    async def _not_about_a_ticket(tracker: Tracker, text: str) -> str | None:
        """The action for a message NLU took for a ticket operation although it names no
        ticket and no progress: a fault (洗衣机进水特别慢，帮我安排个师傅) or an
        installation goes to the triage, a question the knowledge base answers
        (报修以后一般多久会有人打电话给我) to the knowledge base."""
        if not text or find_ticket_number(text) or about_own_ticket(text):
            return None
        if wants_installation(text) or (normalize_product(text) and describes_fault(text)):
            return "action_triage"
        if is_question(text) and await confident_answer(tracker, text) is not None:
            return "action_kb_search"
        return None


class ValidateTicketForm(FormValidationAction):
    """Asks for the ticket and the proof, checks them with the portal, then the details."""

    def name(self) -> str:
        """Action name Rasa calls while the form runs."""
        return f"validate_{FORM_NAME}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Depends on the operation and on whether the ticket is proven yet."""
        return ticket_slots(tracker.slots.get("ticket_operation"), tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Extract and validate, prove the ticket (or the phone, by a code) with the portal,
        then ask for what is left."""
        left = self._leaving(dispatcher, tracker)
        if left:
            return left
        switched = await self._switch_proof(tracker)
        tracker.add_slots(switched)
        events = await super().run(dispatcher, tracker, domain)
        events = switched + [e for e in events if e.get("name") != REQUESTED_SLOT]
        tracker.add_slots(events)
        try:
            stop = await self._prove(dispatcher, tracker, domain, events)
            if not stop:
                stop = await self._bind(dispatcher, tracker, domain, events)
        except PortalError as exc:
            logger.error("could not check the ticket: %s", exc)
            dispatcher.utter_message(response="utter_portal_down")
            stop = True
        if stop:
            events += [SlotSet("ticket_operation", None), SlotSet(REQUESTED_SLOT, None)]
            return events
        op = tracker.slots.get("ticket_operation")
        missing = [s for s in ticket_slots(op, tracker) if tracker.slots.get(s) is None]
        requested = tracker.get_slot(REQUESTED_SLOT)
        answered = requested in MISSABLE and fresh_answer(
            tracker, FORM_NAME, "action_ticket_request"
        )
        # Only an attempt at the answer counts (a number typed); 怎么还没人来 or 催一下
        # while the number is asked is asked again, not counted towards a person.
        attempt = any(ch.isdigit() for ch in latest_text(tracker))
        if (
            answered
            and attempt
            and latest_intent(tracker) not in DIGRESSIONS
            and missing[:1] == [requested]
        ):
            # The same ladder as the intake forms: again, a person offered, a person.
            misses = int(tracker.get_slot(MISSES) or 0) + 1
            if misses >= HANDOVER_AFTER:
                dispatcher.utter_message(response="utter_form_handover")
                return events + [
                    SlotSet(MISSES, None),
                    SlotSet(HANDOVER, True),
                    SlotSet("ticket_operation", None),
                    SlotSet(REQUESTED_SLOT, None),
                ]
            if misses >= OFFER_AFTER:
                dispatcher.utter_message(response="utter_ticket_offer_human")
            return events + [SlotSet(MISSES, misses), SlotSet(REQUESTED_SLOT, requested)]
        if tracker.get_slot(MISSES):
            events.append(SlotSet(MISSES, None))
        return events + [SlotSet(REQUESTED_SLOT, missing[0] if missing else None)]

    def _leaving(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Events that end the form when the customer leaves it: 算了 / 取消 (but not as the
        answer to 确认取消吗？), or a fault report (我的冰箱不制冷了) instead of a ticket
        number, which a fault report then takes over (ActionTicketOperation)."""
        requested = tracker.get_slot(REQUESTED_SLOT)
        if not requested or not fresh_answer(tracker, FORM_NAME, "action_ticket_request"):
            return []
        text = latest_text(tracker)
        small_talk = requested in MISSABLE and not any(ch.isdigit() for ch in text)
        if small_talk and latest_intent(tracker) == "greet":
            # 你好 after a number that was not found: starting over, not a ticket number.
            return [
                SlotSet("ticket_operation", None),
                SlotSet("switch_to", "greet"),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if (wants_to_stop(text) and requested != "cancel_confirmed") or (
            small_talk and latest_intent(tracker) in ("thank", "goodbye")
        ):
            dispatcher.utter_message(response="utter_ticket_stopped")
            return [SlotSet("ticket_operation", None), SlotSet(REQUESTED_SLOT, None)]
        if (
            requested in ("ticket_number", "phone")
            and not find_ticket_number(text)
            and not normalize_phone(text)
            and (
                latest_intent(tracker) == "report_fault"
                or (normalize_product(text) and describes_fault(text))
            )
        ):
            dispatcher.utter_message(response="utter_switch_to_report")
            return [
                SlotSet("ticket_operation", None),
                SlotSet("switch_to", "report"),
                SlotSet(REQUESTED_SLOT, None),
            ]
        return []

    async def _prove(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> bool:
        """Check the number with the bound conversation, or once the phone is given ask for
        the check code (or a texted code); True if the form should stop."""
        number = tracker.slots.get("ticket_number")
        if not number or tracker.slots.get("verified_ticket") == number:
            return False
        phone = tracker.slots.get("phone")
        view = await find_view(tracker, number)
        op = str(tracker.slots.get("ticket_operation") or "progress")
        if view is not None and needs_code(view) and not phone:
            return False  # the phone question comes next; nothing is revealed before it
        if view is not None:
            found = [SlotSet("verified_ticket", view.number)]
            events += found
            tracker.add_slots(found)
            if needs_code(view):
                events += ask_for_code(dispatcher, tracker)
                return False
            if not say.allows(view, op):
                say.not_allowed(dispatcher, op, view)
                return True
            return False
        if not phone:
            return False  # the phone question comes next; nothing is revealed before it
        failures = int(tracker.slots.get("verify_failures") or 0) + 1
        cleared = [
            SlotSet("ticket_number", None),
            SlotSet("phone", None),
            SlotSet("verify_failures", failures),
        ]
        events += cleared
        tracker.add_slots(cleared)
        if failures >= MAX_FAILED_CHECKS:
            dispatcher.utter_message(response="utter_verify_give_up")
            return True
        dispatcher.utter_message(response="utter_ticket_not_matched")
        return False

    async def _switch_proof(self, tracker: Tracker) -> list[EventType]:
        """No ticket number (不记得单号 or the button) -> prove the phone by a code (unless
        the chat is bound already: the question offered their tickets); a ticket number
        typed while on that path -> back to number + phone."""
        if not fresh_answer(tracker, FORM_NAME, "action_ticket_request"):
            return []
        if latest_intent(tracker) in DIGRESSIONS:
            return []
        text = latest_text(tracker)
        number_given = has_entity(tracker, "ticket_number") or bool(find_ticket_number(text))
        if tracker.get_slot("proof_method") != CODE_PROOF:
            chosen = CODE_PROOF in entity_values(tracker, "proof_method")
            asked = tracker.get_slot(REQUESTED_SLOT) == "ticket_number"
            if (
                asked
                and not number_given
                and (chosen or wants_code(text, answer=True))
                and await customer_profile(tracker) is None
            ):
                return [SlotSet("proof_method", CODE_PROOF), SlotSet("verify_failures", 0)]
            return []
        if number_given and not proof_accepted(tracker.get_slot("otp_code")):
            return [
                SlotSet("proof_method", None),
                SlotSet("otp_code", None),
                SlotSet("otp_sent_to", None),
            ]
        return []

    async def _bind(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> bool:
        """Check the code the customer typed; right -> the chat is bound (True if that
        already answered the request); wrong -> say so (3 misses -> offer a person)."""
        code = tracker.slots.get("otp_code")
        phone = normalize_phone(str(tracker.slots.get("phone") or ""))
        if tracker.slots.get("proof_method") != CODE_PROOF or not phone:
            return False
        if not code or proof_accepted(code):
            return False
        client = PortalClient.from_env()
        if await self._check_code(dispatcher, tracker, events, client, phone, str(code)):
            return False
        profile = await in_thread(
            client.verify_bind_code, tracker.sender_id, phone=phone, code=str(code)
        )
        if profile is None:
            failures = int(tracker.slots.get("verify_failures") or 0) + 1
            wrong = [SlotSet("otp_code", None), SlotSet("verify_failures", failures)]
            events += wrong
            tracker.add_slots(wrong)
            if failures >= MAX_FAILED_CHECKS:
                dispatcher.utter_message(response="utter_verify_give_up")
                return True
            dispatcher.utter_message(response="utter_otp_wrong")
            return False
        accepted = [SlotSet("otp_code", CODE_ACCEPTED), SlotSet("verify_failures", 0)]
        events += accepted
        tracker.add_slots(accepted)
        dispatcher.utter_message(response="utter_chat_bound", phone=mask_phone(phone))
        return await self._own_tickets(dispatcher, tracker, domain, events)

    async def _check_code(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        events: list[EventType],
        client: PortalClient,
        phone: str,
        code: str,
    ) -> bool:
        """The ticket's check code instead of the texted code: True if it is that ticket's
        (the operation then goes on with it; the chat is not bound)."""
        number = tracker.slots.get("ticket_number")
        if not number or tracker.slots.get("verified_ticket") != number:
            return False
        try:
            view = await in_thread(
                client.lookup_ticket,
                str(number),
                phone=phone,
                conversation_id=tracker.sender_id,
                check_code=code,
            )
        except PortalThrottled:
            return False  # too many wrong check codes: the texted code still works
        if view is None or view.proven_by != "check_code":
            return False
        accepted = [SlotSet("otp_code", CHECK_PREFIX + code), SlotSet("verify_failures", 0)]
        events += accepted
        tracker.add_slots(accepted)
        dispatcher.utter_message(text=CHECK_TEXT.get(language_of(tracker), CHECK_TEXT["zh"]))
        return True

    async def _own_tickets(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        events: list[EventType],
    ) -> bool:
        """Just bound: list the open tickets (progress), or take the one ticket that fits
        the operation; True if nothing more is to be asked."""
        op = str(tracker.slots.get("ticket_operation") or "progress")
        client = PortalClient.from_env()
        scope = "to_rate" if op == "rate" else "open"
        tickets = await in_thread(client.customer_tickets, tracker.sender_id, scope) or []
        if op == "progress":
            say.progress_list(dispatcher, domain, tickets)
            return True
        fit = [t for t in tickets if say.allows(t, op)]
        if not fit:
            dispatcher.utter_message(response=f"utter_nothing_to_{op}")
            return True
        if len(fit) == 1:
            taken = [
                SlotSet("ticket_number", fit[0].number),
                SlotSet("verified_ticket", fit[0].number),
            ]
            events += taken
            tracker.add_slots(taken)
        return False

    def _answer(self, tracker: Tracker, slot: str) -> str | None:
        if tracker.get_slot(REQUESTED_SLOT) != slot:
            return None
        if not fresh_answer(tracker, FORM_NAME, "action_ticket_request"):
            return None
        if latest_intent(tracker) in DIGRESSIONS:
            return None
        return latest_text(tracker) or None

    async def extract_ticket_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The raw answer to the ticket question (the entity, when found, fills it anyway)."""
        if has_entity(tracker, "ticket_number"):
            return {}
        answer = self._answer(tracker, "ticket_number")
        return {"ticket_number": answer} if answer else {}

    def validate_ticket_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """SR20261123-0007 however it was typed; otherwise show the format."""
        number = find_ticket_number(str(value or ""))
        if number:
            return {"ticket_number": number}
        dispatcher.utter_message(response="utter_ticket_number_invalid")
        return {"ticket_number": None}

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The raw answer to the phone question."""
        if has_entity(tracker, "phone"):
            return {}
        answer = self._answer(tracker, "phone")
        return {"phone": answer} if answer else {}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """An 11-digit mobile number."""
        return phone_slot(value, dispatcher)

    async def extract_otp_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to the code question."""
        answer = self._answer(tracker, "otp_code")
        return {"otp_code": answer} if answer else {}

    def validate_otp_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Six digits (checked with the portal in run); 没收到 / 重发 sends a new code."""
        text = str(value or "")
        if proof_accepted(text):
            return {"otp_code": text}
        code = find_code(text)
        if code:
            return {"otp_code": code}
        if wants_new_code(text):
            return {"otp_code": None, "otp_sent_to": None}  # the question sends a new one
        dispatcher.utter_message(response="utter_otp_format")
        return {"otp_code": None}

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no to cancelling; anything else asks again."""
        if tracker.get_slot(REQUESTED_SLOT) != "cancel_confirmed":
            return {}
        if not fresh_answer(tracker, FORM_NAME) or latest_intent(tracker) in DIGRESSIONS:
            return {}
        text = latest_text(tracker)
        # 算了不取消了，还是来修吧: keeping the ticket, whatever else the words say.
        answer = False if _KEEP_TICKET.search(text) else yes_or_no(text)
        if answer is None and latest_intent(tracker) in ("affirm", "deny"):
            answer = latest_intent(tracker) == "affirm"
        if answer is None:
            dispatcher.utter_message(response="utter_cancel_confirm_hint")
        return {"cancel_confirmed": answer}

    def validate_cancel_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes, no, or (unclear) ask again."""
        return {"cancel_confirmed": value if isinstance(value, bool) else None}

    async def extract_preferred_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to the new-time question."""
        answer = self._answer(tracker, "preferred_time")
        return {"preferred_time": answer} if answer else {}

    def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A bookable window, or the reason it is not one."""
        return {"preferred_time": validate_window(value, dispatcher, sender=tracker.sender_id)}

    async def extract_rating_score(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to the score question (5, 5分, 五星, 非常满意 …)."""
        answer = self._answer(tracker, "rating_score")
        if answer is None and tracker.get_slot(REQUESTED_SLOT) == "rating_score":
            # A star button sends /rate_service{"rating_score": 5}; the entity fills it.
            scores = entity_values(tracker, "rating_score")
            return {"rating_score": scores[0]} if scores else {}
        return {"rating_score": answer} if answer else {}

    def validate_rating_score(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A whole score from 1 to 5."""
        score = value if isinstance(value, (int, float)) else parse_score(str(value or ""))
        if score is not None and 1 <= int(score) <= 5 and int(score) == score:
            return {"rating_score": int(score)}
        dispatcher.utter_message(response="utter_rating_invalid")
        return {"rating_score": None}

    async def extract_rating_comment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any comment; 没有 / 不用了 (or the skip button) leave it empty."""
        if tracker.get_slot(REQUESTED_SLOT) != "rating_comment":
            return {}
        # A complaint is a comment too; only asking for a person interrupts.
        if not fresh_answer(tracker, FORM_NAME) or latest_intent(tracker) == "request_human":
            return {}
        text = latest_text(tracker)
        if not text or is_no_comment(text) or latest_intent(tracker) == "deny" and len(text) <= 4:
            return {"rating_comment": ""}
        return {"rating_comment": text[:1000]}


class ActionTicketOperation(Action):
    """Runs when ticket_form is complete: does what the customer asked."""

    def name(self) -> str:
        """Action name used in rules."""
        return "action_ticket_operation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Carry out the operation on the proven ticket (or nothing, if the form gave up)."""
        if tracker.get_slot(HANDOVER):
            return _done_events() + [SlotSet(HANDOVER, None), FollowupAction("action_handoff")]
        switch = tracker.get_slot("switch_to")
        if switch in SWITCHES:
            return _done_events() + [SlotSet("switch_to", None), FollowupAction(SWITCHES[switch])]
        op = tracker.get_slot("ticket_operation")
        number = tracker.get_slot("ticket_number")
        if not op or not number or tracker.get_slot("verified_ticket") != number:
            return _done_events()
        try:
            view = await find_view(tracker, number)
        except PortalError as exc:
            logger.error("could not read ticket %s: %s", number, exc)
            dispatcher.utter_message(response="utter_portal_down")
            return _done_events()
        if view is None or needs_code(view):
            dispatcher.utter_message(response="utter_verify_give_up")
            return _done_events()
        await perform(dispatcher, domain, tracker, op, view)
        return _done_events()


class ActionAskTicketNumber(Action):
    """Asks which ticket; a bound customer picks from buttons of their own tickets."""

    def name(self) -> str:
        """Rasa calls this to ask for ticket_number."""
        return "action_ask_ticket_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The question, with up to five of the customer's tickets that fit the operation."""
        op = str(tracker.get_slot("ticket_operation") or "progress")
        client = PortalClient.from_env()
        try:
            tickets = await in_thread(
                client.customer_tickets, tracker.sender_id, "to_rate" if op == "rate" else "open"
            )
        except PortalError:
            tickets = None
        fit = [t for t in tickets or [] if say.allows(t, op)]
        if not fit:
            dispatcher.utter_message(response="utter_ask_ticket_number")
            return []
        buttons = [
            {
                "title": f"{t.number} {t.product}{t.type_label}（{t.status_label}）",
                "payload": "/inform" + json.dumps({"ticket_number": t.number}),
            }
            for t in fit[:5]
        ]
        dispatcher.utter_message(response="utter_ask_ticket_number_yours", buttons=buttons)
        return []


class ActionAskTicketFormPhone(Action):
    """Asks for the phone: to check it against the ticket, or to text a code to it."""

    def name(self) -> str:
        """Rasa calls this to ask ticket_form for phone."""
        return "action_ask_ticket_form_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The question for the proof the customer is giving."""
        by_code = tracker.get_slot("proof_method") == CODE_PROOF
        dispatcher.utter_message(
            response="utter_ask_phone_for_code" if by_code else "utter_ask_ticket_form_phone"
        )
        return []


class ActionAskOtpCode(Action):
    """Texts the one-time code (once per phone) and asks for it."""

    def name(self) -> str:
        """Rasa calls this to ask ticket_form for otp_code."""
        return "action_ask_otp_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send the code if this phone has none yet, then ask for it."""
        phone = normalize_phone(str(tracker.get_slot("phone") or "")) or ""
        if tracker.get_slot("otp_sent_to") == phone:
            dispatcher.utter_message(response="utter_ask_otp_code")
            return []
        client = PortalClient.from_env()
        try:
            seconds = await in_thread(client.request_bind_code, tracker.sender_id, phone=phone)
        except PortalThrottled:
            # A code went to this phone less than a minute ago, and it still works.
            dispatcher.utter_message(response="utter_otp_too_soon", phone=mask_phone(phone))
            return [SlotSet("otp_sent_to", phone)]
        except PortalError as exc:
            logger.error("could not send a one-time code: %s", exc)
            dispatcher.utter_message(response="utter_otp_send_failed")
            return []
        dispatcher.utter_message(
            response="utter_otp_sent", phone=mask_phone(phone), minutes=max(1, seconds // 60)
        )
        return [SlotSet("otp_sent_to", phone)]
