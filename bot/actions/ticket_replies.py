"""What the bot says about a customer's ticket: progress in plain words, and the outcome
(or the refusal, with the rule behind it) of urging, cancelling, rescheduling, rating."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import response_text
from .portal_client import TicketView
from .time_windows import describe

# The rule a refusal is explained with, per operation.
RULES = {
    "cancel": "utter_rule_cancel",
    "urge": "utter_rule_urge",
    "reschedule": "utter_rule_reschedule",
    "rate": "utter_rule_rate",
}
# What each operation needs the ticket to allow (TicketView's flags).
ALLOWED = {
    "urge": "can_urge",
    "cancel": "can_cancel",
    "reschedule": "can_reschedule",
    "rate": "can_evaluate",
}


def progress(
    dispatcher: CollectingDispatcher, domain: DomainDict, view: TicketView, lang: str = "zh"
) -> None:
    """Status, engineer, ETA and next step of one ticket."""
    details = []
    if view.engineer_name:
        details.append(
            response_text(
                domain,
                "utter_line_engineer",
                lang,
                name=view.engineer_name,
                phone=view.engineer_phone or "-",
            )
        )
    visit = view.visit_text_en if lang == "en" else view.visit_text
    if visit:
        # The portal's own sentence (agreed window, ETA): the web page and the engineer say it.
        details.append(response_text(domain, "utter_line_visit", lang, visit=visit))
    elif view.eta_text:
        eta = view.eta_text_en if lang == "en" and view.eta_text_en else view.eta_text
        details.append(response_text(domain, "utter_line_eta", lang, eta=eta))
    if view.preferred_time and not visit:
        details.append(
            response_text(
                domain, "utter_line_window", lang, window=describe(view.preferred_time, lang)
            )
        )
    dispatcher.utter_message(
        response="utter_ticket_progress",
        number=view.number,
        product=view.product,
        type_label=view.type_label,
        status_label=view.status_label,
        details="".join(details),
        next_step=view.next_step,
    )


def progress_list(
    dispatcher: CollectingDispatcher, domain: DomainDict, views: Sequence[TicketView]
) -> None:
    """A bound customer's open tickets, one message each (at most five)."""
    if not views:
        dispatcher.utter_message(response="utter_no_open_tickets")
        return
    dispatcher.utter_message(response="utter_open_tickets", count=len(views))
    for view in views[:5]:
        progress(dispatcher, domain, view)


def outcome(dispatcher: CollectingDispatcher, op: str, view: TicketView, **params: Any) -> None:
    """What happened after the portal accepted the operation."""
    response = {
        "urge": "utter_urged",
        "cancel": "utter_cancelled",
        "reschedule": "utter_rescheduled",
        "rate": "utter_rated",
    }[op]
    values: dict[str, Any] = {"number": view.number, **params}
    if op == "reschedule":
        values["window"] = describe(view.preferred_time)
    dispatcher.utter_message(response=response, **values)


def refused(dispatcher: CollectingDispatcher, op: str, reason: str) -> None:
    """The portal's reason (its 409 message) and the rule behind it."""
    dispatcher.utter_message(response="utter_ticket_action_refused", reason=reason.rstrip("。"))
    dispatcher.utter_message(response=RULES[op])


def not_allowed(dispatcher: CollectingDispatcher, op: str, view: TicketView) -> None:
    """Refuse before asking anything more, when the ticket's status already rules it out."""
    dispatcher.utter_message(
        response="utter_ticket_not_allowed", number=view.number, status_label=view.status_label
    )
    dispatcher.utter_message(response=RULES[op])


def allows(view: TicketView, op: str) -> bool:
    """Whether the ticket's status permits the operation (progress always does)."""
    flag = ALLOWED.get(op)
    return True if flag is None else bool(getattr(view, flag))
