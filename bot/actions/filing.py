"""Filing a confirmed intake form as a ticket, and what the customer is told either way."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .common import in_thread, language_of
from .portal_client import PortalClient, PortalError, PortalRejected

logger = logging.getLogger(__name__)

DEFAULT_PROMISE = "10 分钟内响应"
# Told with the ticket number: with the number and the phone it proves the ticket is the
# customer's when they come back from another chat (numbers are sequential, phones no secret).
CHECK_CODE_TEXT = {
    "zh": "工单校验码：{code}。以后查询、取消、改约或评价这张工单时，"
    "请连同单号和手机号一起提供；请勿告诉他人。",
    "en": "Check code: {code}. Give it with the ticket number and your phone to follow up, "
    "cancel, reschedule or rate this ticket later; do not share it.",
}
# Slots kept after filing, so that 查进度 right after needs no questions.
_KEEP = ("phone",)


def check_code_text(code: str, lang: str = "zh") -> str:
    """The message that tells the customer the ticket's check code."""
    return CHECK_CODE_TEXT.get(lang, CHECK_CODE_TEXT["zh"]).format(code=code)


async def file_and_announce(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    client: PortalClient,
    body: dict[str, Any],
    key: str,
    form: str,
    form_slots: Sequence[str],
    filed_response: str,
) -> list[EventType]:
    """Create the ticket; reply with its number, the promised response time and how to
    follow it. A refused answer is asked again; any other failure is apologised for."""
    reset: list[EventType] = [
        SlotSet(slot, None)
        for slot in (*form_slots, "serial_number", "model_code")
        if slot not in _KEEP
    ]
    try:
        # The client blocks on HTTP; a thread keeps the action server serving others.
        ticket = await in_thread(
            client.create_ticket, body, idempotency_key=key, conversation_id=tracker.sender_id
        )
    except PortalRejected as exc:
        bad = [e for e in exc.errors if e.field in form_slots]
        if not bad:
            logger.error("portal rejected the ticket: %s %s", exc, exc.errors)
            dispatcher.utter_message(response="utter_ticket_failed")
            return reset
        reason = "；".join(e.message_zh or e.field for e in bad)
        dispatcher.utter_message(response="utter_ticket_invalid", reason=reason)
        # Ask again only for what the portal refused, then the form files anew.
        again = [SlotSet(e.field, None) for e in bad] + [SlotSet("summary_confirmed", None)]
        return again + [FollowupAction(form)]
    except PortalError as exc:
        logger.error("could not file ticket: %s", exc)
        dispatcher.utter_message(response="utter_ticket_failed")
        return reset
    promise = (
        await in_thread(
            client.sla_promise,
            conversation_id=tracker.sender_id,
            ticket_type=str(body.get("type") or "repair"),
        )
        or DEFAULT_PROMISE
    )
    dispatcher.utter_message(response=filed_response, ticket_number=ticket.number, promise=promise)
    if ticket.check_code:
        dispatcher.utter_message(text=check_code_text(ticket.check_code, language_of(tracker)))
    # The customer filed it in this conversation: following it up needs no more proof.
    return reset + [
        SlotSet("ticket_number", ticket.number),
        SlotSet("verified_ticket", ticket.number),
    ]
