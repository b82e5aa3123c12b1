"""What the fault report and the installation booking share: product, address and phone
questions, the summary the customer confirms, corrections (地址写错了) and giving up (算了).

Each form's own validation class (fault_report.py, installation.py) extends
IntakeValidation with its own slots; the ask actions here add the bound customer's saved
units and addresses as buttons and render the summary.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import (
    DIGRESSIONS,
    REQUESTED_SLOT,
    customer_profile,
    entity_values,
    fresh_answer,
    has_entity,
    language_of,
    latest_intent,
    latest_text,
    reasked_since_last_answer,
    response_text,
    sent_since_last_message,
)
from .details import address_in, window_in
from .faq import answer_in_passing
from .fault_text import (
    describes_fault,
    normalize_phone,
    normalize_product,
    phone_slot,
    product_for_model,
)
from .parsing import (
    corrected_fields,
    find_model_code,
    is_question,
    looks_like_address,
    wants_to_stop,
    yes_or_no,
)
from .time_windows import WindowError, describe, parse_window

CONFIRM = "summary_confirmed"
# Answers in a row the form could not use (MISSES), and what happens after how many.
MISSES, HANDOVER = "form_misses", "handover_next"
OFFER_AFTER, HANDOVER_AFTER = 2, 3
# Questions whose unusable answers climb that ladder; a time or a product has its own
# explanations (off hours, not supported) and is asked again as long as it takes.
MISSABLE = ("phone", "address")
EXTRA_SLOTS = ("model_code",)
# The part of a correction after 是/改成 is the new value: 地址写错了，应该是张江路88号.
_NEW_VALUE = re.compile(r"(?:应该是|改成|改为|换成|更正为|是)[:：]?\s*(.+)$")
_ADDRESS_PREFIX = re.compile(
    r"^(?:我的|我家|上门)?(?:地址|住址)?(?:是|在|:|：)?\s*|^(?:我家在|我住在|住在|在)\s*"
)
# A word that names a place, for an address given the second time round.
_PLACE_WORD = re.compile(
    r"省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|小区|花园|公寓|大厦|广场|苑|庭|府|湾|城|栋|幢|座|楼|单元|室|层"
    r"|园区|中心|学校|医院|酒店|宾馆|商场|附近|旁边|对面"
)
# Responses after which the summary is not repeated in the same turn.
_NO_SUMMARY_AFTER = (
    "utter_ask_what_to_correct",
    "utter_ask_what_to_correct_installation",
    "utter_confirm_hint",
)


# Slots whose answer is free text: a question typed there is a digression, not the answer.
FREE_TEXT_SLOTS = ("fault_description", "address")
# A fault in a question (显示E21怎么办) is still the answer to 请描述故障.
_SYMPTOM = re.compile(
    r"不转|漏水|渗水|滴水|不制冷|不制热|不冷|不热|异响|噪音|响声|不出水|不加热|不启动|开不了机|开不机"
    r"|打不着|不亮|黑屏|跳闸|冒烟|焦味|异味|结冰|结霜|排不出|不排水|不脱水|不进水|[A-Za-z]\d{1,3}"
    r"|故障码|故障代码|报警|闪|坏"
)


# What an answer to each question holds; a question without it asks something else.
_ANSWER_SHAPES = {
    "phone": re.compile(r"\d{5,}"),
    "preferred_time": re.compile(
        r"今|明|后天|周|星期|礼拜|号|日|点|上午|下午|晚上|早上|中午|随时|都行|都可以|tomorrow|today"
        r"|morning|afternoon|evening|day",
        re.IGNORECASE,
    ),
    "product": re.compile(
        r"洗衣|空调|冰箱|冰柜|热水|烟机|灶|电视|滚筒|波轮|挂机|柜机|[A-Z]{2,}-?\d"
    ),
}


def _off_topic(requested: str, text: str) -> bool:
    """True for a question that does not answer the question asked: 保修期多久？ while
    the fault or the address is asked, 装空调要另外收钱吗 while the time is asked."""
    if not text or not is_question(text) or requested == CONFIRM:
        return False
    if requested in FREE_TEXT_SLOTS:
        return not _SYMPTOM.search(text)
    shape = _ANSWER_SHAPES.get(requested)
    return shape is not None and not shape.search(text)


class IntakeValidation(FormValidationAction):
    """Extraction and validation shared by the intake forms."""

    form = ""
    correct_response = "utter_ask_what_to_correct"
    stopped_response = "utter_intake_stopped"
    # Actions that may open the form in the customer's turn (besides the form itself): the
    # message they answered is still the one the form reads.
    starters: tuple[str, ...] = ()

    def name(self) -> str:
        """Action name Rasa calls while the form runs."""
        return f"validate_{self.form}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The domain's slots; subclasses add the ones that depend on the customer."""
        return list(domain_slots)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Handle giving up and corrections first; otherwise extract, validate, ask next."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        requested = tracker.get_slot(REQUESTED_SLOT)
        text = latest_text(tracker)
        leaving = wants_to_stop(text) or latest_intent(tracker) == "goodbye"
        if requested and fresh_answer(tracker, self.form, *self.starters) and leaving:
            dispatcher.utter_message(response=self.stopped_response)
            return [SlotSet(CONFIRM, None), SlotSet(REQUESTED_SLOT, None)]
        # 对了，你们保修期一般多久？ asked while the fault or the address is asked: an
        # answer from the knowledge base, then the same question again.
        if (
            requested
            and self._answering(tracker)
            and _off_topic(requested, text)
            and await answer_in_passing(dispatcher, tracker, text)
        ):
            return [SlotSet(REQUESTED_SLOT, requested)]
        if self._answering(tracker) and requested:
            changes = self._corrections(tracker, requested, required)
            if changes:
                dispatcher.utter_message(response="utter_correction_ack")
                tracker.slots.update(changes)
                changes[CONFIRM] = None
                events: list[EventType] = [SlotSet(k, v) for k, v in changes.items()]
                return events + [SlotSet(REQUESTED_SLOT, _first_missing(tracker, required))]
        before = {slot: tracker.slots.get(slot) for slot in EXTRA_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        events = [e for e in events if e.get("name") != REQUESTED_SLOT]
        # Slots found along with a required one (the model code in 空调 KFR-35GW) are not
        # validated by rasa_sdk, which drops them; they are passed on here.
        events += [
            SlotSet(slot, tracker.slots.get(slot))
            for slot in EXTRA_SLOTS
            if tracker.slots.get(slot) != before[slot]
        ]
        tracker.add_slots(events)
        next_slot = _first_missing(tracker, required)
        if requested in MISSABLE and self._answering(tracker):
            filled = any(e.get("event") == "slot" and e.get("value") is not None for e in events)
            # Only an attempt at the answer that fills nothing counts: a question, small
            # talk or a detail for another question (an address while the phone is asked)
            # is no miss.
            small_talk = latest_intent(tracker) in ("greet", "thank", "affirm", "deny")
            if next_slot == requested and not filled and not is_question(text) and not small_talk:
                return events + self._answer_missed(dispatcher, tracker, requested)
            if tracker.get_slot(MISSES):
                events.append(SlotSet(MISSES, None))
        return events + [SlotSet(REQUESTED_SLOT, next_slot)]

    # ------------------------------------------------------------ helpers

    def _answer_missed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: str
    ) -> list[EventType]:
        """The fallback ladder inside the form: the question is asked again after the
        first answer it could not use, a person is offered after the second, and after
        the third the form ends and a person takes over (action_file_ticket follows up)."""
        misses = int(tracker.get_slot(MISSES) or 0) + 1
        if misses >= HANDOVER_AFTER:
            dispatcher.utter_message(response="utter_form_handover")
            return [
                SlotSet(MISSES, None),
                SlotSet(HANDOVER, True),
                SlotSet(CONFIRM, None),
                SlotSet(REQUESTED_SLOT, None),
            ]
        if misses >= OFFER_AFTER:
            dispatcher.utter_message(response="utter_form_offer_human")
        return [SlotSet(MISSES, misses), SlotSet(REQUESTED_SLOT, requested)]

    def digressions(self, tracker: Tracker) -> set[str]:
        """Intents that interrupt the current question instead of answering it."""
        return DIGRESSIONS

    def _answering(self, tracker: Tracker) -> bool:
        """True if the latest message is an answer to this form, not a digression."""
        fresh = fresh_answer(tracker, self.form, *self.starters)
        return fresh and latest_intent(tracker) not in self.digressions(tracker)

    def _raw_answer(self, tracker: Tracker, slot: str) -> str | None:
        """The message text if it answers the question for `slot`."""
        if tracker.get_slot(REQUESTED_SLOT) != slot or not self._answering(tracker):
            return None
        return latest_text(tracker) or None

    def _corrections(self, tracker: Tracker, requested: str, required: list[str]) -> dict[str, Any]:
        text = latest_text(tracker)
        # After "哪一项需要修改？" a bare 地址 or 电话 names the field.
        asked_which = requested == CONFIRM and reasked_since_last_answer(
            tracker, self.correct_response
        )
        fields = corrected_fields(text, cue_required=not asked_which)
        changes = {f: self.new_value(f, tracker) for f in fields if f in required and f != CONFIRM}
        if requested == CONFIRM:
            # A number or product typed at the summary replaces the old one (the slot
            # mapping may already have stored it; the summary is shown again either way).
            for slot, value in (
                ("phone", next(iter(entity_values(tracker, "phone")), None)),
                ("product", next(iter(entity_values(tracker, "product")), None)),
            ):
                if value and slot in required:
                    changes[slot] = normalize_phone(str(value)) if slot == "phone" else value
        return changes

    def new_value(self, slot: str, tracker: Tracker) -> Any:
        """The corrected value given with a correction, or None to ask for it again."""
        text = latest_text(tracker)
        match = _NEW_VALUE.search(text)
        tail = match.group(1).strip() if match else ""
        if slot == "phone":
            return normalize_phone(tail or text) if re.search(r"\d{11}", text) else None
        if slot == "product":
            return normalize_product(tail) if tail else None
        if slot == "address":
            return _clean_address(tail) if tail and looks_like_address(tail) else None
        if slot == "preferred_time" and tail:
            try:
                return parse_window(tail, sender=tracker.sender_id).canonical
            except WindowError:
                return None
        if slot == "fault_description" and tail and describes_fault(tail):
            return tail
        return None

    # ------------------------------------------------------------ shared slots

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The raw answer to the phone question; a bound customer's own number up front."""
        if tracker.get_slot("phone") is None and tracker.get_slot(REQUESTED_SLOT) is None:
            profile = await customer_profile(tracker)
            if profile and normalize_phone(profile.phone):
                return {"phone": profile.phone}
        if has_entity(tracker, "phone", "product"):
            return {}
        answer = self._raw_answer(tracker, "phone")
        return {"phone": answer} if answer else {}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept an 11-digit Chinese mobile number, normalised to digits only."""
        return phone_slot(value, dispatcher)

    async def extract_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to the address question (typed, or a saved address's button), or an
        address volunteered with any other answer."""
        answer = self._raw_answer(tracker, "address")
        if self._answering(tracker) and (answer or tracker.get_slot("address") is None):
            found = address_in(latest_text(tracker))
            if found:
                return {"address": found}
        if not answer or has_entity(tracker, "phone"):
            return {}
        return {"address": answer}

    async def extract_preferred_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer to the time question (明天下午, 周六上午, 后天9点), or a time volunteered
        with any other answer (…明天下午来)."""
        answer = self._raw_answer(tracker, "preferred_time")
        if answer:
            return {"preferred_time": window_in(answer, sender=tracker.sender_id) or answer}
        if self._answering(tracker) and tracker.get_slot("preferred_time") is None:
            found = window_in(latest_text(tracker), sender=tracker.sender_id)
            if found:
                return {"preferred_time": found}
        return {}

    def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A bookable window, or the reason it is not one."""
        return {"preferred_time": validate_window(value, dispatcher, sender=tracker.sender_id)}

    def validate_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept an address an engineer can find; after one re-ask, take what is given."""
        text = _clean_address(str(value or ""))
        # After one re-ask a vaguer place is taken (腾讯大厦旁边), but never words that name
        # no place at all (随便都行, 燃气热水器).
        if looks_like_address(text) or (
            len(text) >= 4
            and _PLACE_WORD.search(text)
            and reasked_since_last_answer(tracker, "utter_address_incomplete")
        ):
            return {"address": text[:255]}
        dispatcher.utter_message(response="utter_address_incomplete")
        return {"address": None}

    async def extract_summary_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """确认/对的 confirm; 不对 asks what to change; anything else gets a hint."""
        if tracker.get_slot(REQUESTED_SLOT) != CONFIRM or not self._answering(tracker):
            return {}
        intent = latest_intent(tracker)
        answer = yes_or_no(latest_text(tracker))
        if answer is None and intent in ("affirm", "deny"):
            answer = intent == "affirm"
        if answer:
            return {CONFIRM: True}
        if answer is False:
            dispatcher.utter_message(response=self.correct_response)
        else:
            dispatcher.utter_message(response="utter_confirm_hint")
        return {CONFIRM: None}

    def validate_summary_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only an explicit yes confirms."""
        return {CONFIRM: True if value is True else None}


def _first_missing(tracker: Tracker, required: list[str]) -> str | None:
    return next((slot for slot in required if tracker.slots.get(slot) is None), None)


def _clean_address(text: str) -> str:
    return _ADDRESS_PREFIX.sub("", text.strip(), count=1).strip(" ，,。")


def product_and_model(text: str) -> tuple[str | None, str | None]:
    """The product and model code named in an answer (KFR-35GW alone names an air con)."""
    model = find_model_code(text)
    product = normalize_product(text) or (product_for_model(model) if model else None)
    return product, model


# ---------------------------------------------------------------- asking


class ActionAskSummary(Action):
    """Shows what was collected and asks the customer to confirm it (both intake forms)."""

    def name(self) -> str:
        """Rasa calls this to ask for summary_confirmed."""
        return "action_ask_summary_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """One message with a line per answer, and confirm / change buttons."""
        if sent_since_last_message(tracker, *_NO_SUMMARY_AFTER):
            return []
        slots = tracker.slots
        lang = language_of(tracker)
        lines = []
        product = slots.get("product") or ""
        if slots.get("model_code"):
            product = f"{product} {slots['model_code']}"
        if slots.get("serial_number"):
            product = response_text(
                domain, "utter_line_serial", lang, product=product, serial=slots["serial_number"]
            )
        lines.append(response_text(domain, "utter_line_product", lang, product=product))
        installation = tracker.active_loop_name == "installation_form"
        if slots.get("fault_description") and not installation:
            lines.append(
                response_text(domain, "utter_line_fault", lang, fault=slots["fault_description"])
            )
        if slots.get("fault_started") and not installation:
            lines.append(
                response_text(domain, "utter_line_started", lang, started=slots["fault_started"])
            )
        for slot, line, key in (
            ("address", "utter_line_address", "address"),
            ("preferred_time", "utter_line_time", "time"),
            ("phone", "utter_line_phone", "phone"),
        ):
            if slots.get(slot):
                value = describe(slots[slot], lang) if slot == "preferred_time" else slots[slot]
                lines.append(response_text(domain, line, lang, **{key: value}))
        title = "utter_summary_installation" if installation else "utter_summary_repair"
        dispatcher.utter_message(response=title, summary="\n".join(lines))
        return []


class ActionAskProduct(Action):
    """Asks which appliance is broken; a bound customer's units come first as buttons."""

    def name(self) -> str:
        """Rasa calls this to ask for product in the fault report."""
        return "action_ask_fault_report_form_product"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The product question, with the customer's own units when known."""
        profile = await customer_profile(tracker)
        if not profile or not profile.units:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        buttons = [
            {
                "title": f"{u.product} {u.model_code}（{u.serial_number}）".strip(),
                "payload": "/inform"
                + json.dumps(
                    {"product": u.product, "serial_number": u.serial_number}, ensure_ascii=False
                ),
            }
            for u in profile.units[:5]
        ]
        standard = (domain.get("responses") or {}).get("utter_ask_product", [{}])[0]
        buttons += [
            b
            for b in standard.get("buttons", [])
            if not any(b["title"] == u.product for u in profile.units)
        ]
        dispatcher.utter_message(response="utter_ask_product_of_yours", buttons=buttons)
        return []


class ActionAskAddress(Action):
    """Asks where the engineer should go; a bound customer's saved addresses as buttons."""

    def name(self) -> str:
        """Rasa calls this to ask for address (both intake forms)."""
        return "action_ask_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """The address question, with saved addresses (default first) when known."""
        profile = await customer_profile(tracker)
        addresses = sorted(profile.addresses, key=lambda a: not a.is_default) if profile else []
        buttons = [
            {"title": f"{a.label}：{a.text}" if a.label else a.text, "payload": a.text}
            for a in addresses[:4]
        ]
        if buttons:
            dispatcher.utter_message(response="utter_ask_address_saved", buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_ask_address")
        return []


def window_error_response(error: WindowError) -> str:
    """The response that explains why a time cannot be booked."""
    return f"utter_time_{error.reason}"


def validate_window(value: Any, dispatcher: CollectingDispatcher, *, sender: str) -> str | None:
    """A visit window from the customer's words (canonical), or None after explaining why not."""
    text = str(value or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}-\d{2}:\d{2}", text):
        return text  # already canonical (a correction, or a prefilled slot)
    try:
        return parse_window(text, sender=sender).canonical
    except WindowError as error:
        dispatcher.utter_message(response=window_error_response(error))
        return None
