"""Handing the conversation to a human agent, with a short summary for them."""

from __future__ import annotations

import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import in_thread, latest_intent, latest_text
from .parsing import complains, is_question
from .portal_client import HandoffOutcome, PortalClient, PortalError

logger = logging.getLogger(__name__)

REASONS = {"request_human": "request", "complain": "complaint"}
# How the agent's summary names what the customer came for (agent-facing, Chinese): what
# the bot actually started, not what a message merely sounded like.
FORM_TOPICS = {"fault_report_form": "报修", "installation_form": "预约安装"}
OPERATION_TOPICS = {
    "progress": "查询进度",
    "urge": "催单",
    "cancel": "取消工单",
    "reschedule": "改约时间",
    "rate": "服务评价",
}
ACTION_TOPICS = {"action_kb_search": "咨询"}
INTENT_TOPICS = {"complain": "投诉", "request_human": "要求人工"}
STOPPED = ("utter_intake_stopped", "utter_installation_stopped", "utter_ticket_stopped")
SUMMARY_CHARS = 300
RECENT_MESSAGES = 3
# One-time codes never reach a staff screen.
_CODE = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


def _mask_codes(text: str) -> str:
    return _CODE.sub(lambda m: m.group(0) if len(m.group(0)) == 11 else "••••••", text)


def topics(tracker: Tracker) -> list[str]:
    """What the customer came for, as far as the bot got with it."""
    found: list[str] = []

    def add(topic: str) -> None:
        if topic not in found:
            found.append(topic)

    for event in tracker.events:
        kind, name = event.get("event"), event.get("name")
        if kind == "active_loop" and name in FORM_TOPICS:
            add(FORM_TOPICS[name])
        elif (
            kind == "slot" and name == "ticket_operation" and event.get("value") in OPERATION_TOPICS
        ):
            add(OPERATION_TOPICS[event["value"]])
        elif kind == "slot" and name == "triage" and event.get("value") == "answered":
            add("咨询")
        elif kind == "action" and name in ACTION_TOPICS:
            add(ACTION_TOPICS[name])
        elif kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in INTENT_TOPICS:
                add(INTENT_TOPICS[intent])
        elif (
            kind == "bot"
            and (event.get("metadata") or {}).get("utter_action") in STOPPED
            and found
            and not found[-1].endswith("（已取消）")
            and found[-1] != "咨询"
        ):
            found[-1] = f"{found[-1]}（已取消）"
    return found


def summarize(tracker: Tracker) -> str:
    """A short Chinese summary: what the customer wanted, what is known, their last words."""
    said: list[str] = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        if text and not text.startswith("/"):
            said.append(_mask_codes(text))
    parts = [f"诉求：{'、'.join(topics(tracker)) or '未识别'}"]
    for slot, label in (
        ("product", "产品"),
        ("fault_description", "故障"),
        ("ticket_number", "工单"),
        ("phone", "电话"),
        ("address", "地址"),
    ):
        if tracker.get_slot(slot):
            parts.append(f"{label}：{tracker.get_slot(slot)}")
    if said:
        parts.append("最近消息：" + " / ".join(f"「{t[:40]}」" for t in said[-RECENT_MESSAGES:]))
    return "；".join(parts)[:SUMMARY_CHARS]


async def _a_question_after_all(tracker: Tracker) -> bool:
    """A message NLU heard as a complaint that is a plain question with no complaint in
    it (发票找不到了还能免费修吗): looked up (answered, or the likely questions offered, and
    a person from there), not met with an apology for a bad experience. Not inside a form,
    which the rules have already left for the handoff."""
    text = latest_text(tracker)
    if not text or tracker.active_loop_name or not is_question(text) or complains(text):
        return False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") == "action_deactivate_loop":
            return False
    return True


class ActionHandoff(Action):
    """Asks the hub to bring in an agent; if it cannot, apologises and offers a ticket."""

    def name(self) -> str:
        """Action name used in rules (request_human, complain) and after two failed turns."""
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """POST the handoff with reason and summary; tell the customer what happens now."""
        reason = REASONS.get(latest_intent(tracker) or "", "failures")
        if reason == "complaint" and await _a_question_after_all(tracker):
            return [FollowupAction("action_kb_search")]
        client = PortalClient.from_env()
        try:
            outcome = await in_thread(
                client.handoff,
                tracker.sender_id,
                reason=reason,
                summary=summarize(tracker),
                product_line=str(tracker.get_slot("product") or ""),
            )
        except PortalError as exc:
            # Also the answer while the portal has no handoff endpoint yet (404).
            logger.warning("handoff failed: %s", exc)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [SlotSet("last_failed_turn", None)]
        say_outcome(dispatcher, outcome, complaint=reason == "complaint")
        return [SlotSet("last_failed_turn", None)]


def say_outcome(
    dispatcher: CollectingDispatcher, outcome: HandoffOutcome, *, complaint: bool
) -> None:
    """Only what the hub's own notice, which follows in the same turn, does not say.

    The hub tells the customer where they stand, in their language, right after the bot's
    replies: queued (正在为您转接人工客服，您当前排在第 N 位; the bot is paused then) or off
    duty (the agents' hours, a button to leave a ticket, and that the assistant goes on).
    So the bot adds only the apology for a complaint, worded for either case; a hub that
    does not say what it did (no state in its answer) gets the bot's generic 正在转接."""
    if not outcome.state:
        if complaint:
            dispatcher.utter_message(response="utter_complaint_sorry")
        dispatcher.utter_message(response="utter_handoff_started")
    elif complaint:
        sorry = "utter_complaint_sorry" if outcome.on_duty else "utter_complaint_noted"
        dispatcher.utter_message(response=sorry)
