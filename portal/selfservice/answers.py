"""The chat widget's answer to a quote: a tap on the card's button, no sign-in; declining
is confirmed on the card first, as in /my.

The quote card the widget shows (notifications.quotes) carries the quote's token, an HMAC of
the quote under the app's secret, in its buttons; the widget posts it here. The token is the
whole authority (it reached only the visitor whose chat reported the ticket), so no cookie is
read and none is needed: the widget may run on another site's page. It posts a plain form
(a CORS "simple request", no preflight) and reads the answer, which allows any origin.

Declining is a decision, not a tap: the ticket page in /my, and the widget's card from the
token route's answer to an unconfirmed decline, ask to confirm, say what follows (the
call-out fee stays due, the engineer is told) and take an optional reason, kept for the
engineer and staff.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from portal import csrf
from portal.complaints import flows as complaint_flows
from portal.complaints import service as complaints
from portal.config import Settings
from portal.database import SessionDep
from portal.errors import NotFound, PortalError
from portal.fees.models import Quote
from portal.i18n import Lang, both, t
from portal.selfservice import service
from portal.selfservice.pages import CustomerPage
from portal.settlement import flows as settlement_flows
from portal.templating import flash, see_other
from portal.tickets import service as tickets

router = APIRouter(prefix="/my", include_in_schema=False)

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
# The quote's lines that stay due when the customer declines it: the visit and its mileage.
CALL_OUT = ("labour", "mileage")


@router.post("/quote-answers")
def answer(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=80)] = "",
    answer: Annotated[str, Form(max_length=8)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=settlement_flows.DECLINE_REASON_CHARS)] = "",
) -> JSONResponse:
    """Accept (one tap) or decline the quote the token opens; answers its status and a
    sentence. A decline must be confirmed (`confirm=yes`), as in /my: without it nothing
    changes and the answer (422) says what confirming means, with the card's words for it;
    a confirmed decline may say why (`reason`)."""
    settings: Settings = request.app.state.settings
    if answer not in ("accept", "reject"):
        zh, en = both("validation.invalid", field="quote_answer")
        return JSONResponse({"message_zh": zh, "message_en": en}, 422, headers=CORS)
    try:
        quote = settlement_flows.quote_by_token(session, secret=settings.secret_key, token=token)
        if answer == "reject" and confirm != "yes":
            return JSONResponse(_decline_terms(session, quote), 422, headers=CORS)
        settlement_flows.decide_quote(
            session,
            quote=quote,
            accept=answer == "accept",
            actor=f"widget:quote:{quote.id}",
            reason=reason if answer == "reject" else "",
        )
    except PortalError as exc:
        session.rollback()
        body = {"error": exc.key, "message_zh": exc.message_zh, "message_en": exc.message_en}
        return JSONResponse(body, exc.status_code, headers=CORS)
    zh, en = both("my.quote.done_accept" if answer == "accept" else "my.quote.declined_next")
    body = {"status": quote.status, "number": quote.number, "message_zh": zh, "message_en": en}
    return JSONResponse(body, headers=CORS)


def _decline_terms(session: Session, quote: Quote) -> dict[str, Any]:
    """What confirming a decline means, as the /my page says it (the call-out and mileage
    stay due when the customer pays), with the card's words for the confirmation; refused
    like the decline itself for a quote that can no longer be answered."""
    settlement_flows.check_answerable(session, quote=quote)
    fee = sum((ln.amount for ln in quote.lines if ln.kind in CALL_OUT), Decimal("0"))
    consequence = (
        both("my.quote.decline_fee", fee=f"{fee:.2f}")
        if quote.payer == "customer"
        else both("my.quote.decline_free")
    )
    langs: tuple[Lang, Lang] = ("zh", "en")
    words = {
        lang: {
            "consequence": consequence[i],
            "reason": t("my.quote.decline_reason", lang),
            "confirm": t("my.quote.decline_confirm", lang),
            "back": t("my.quote.decline_back", lang),
        }
        for i, lang in enumerate(langs)
    }
    return {
        "error": "quote.decline_unconfirmed",
        "message_zh": consequence[0],
        "message_en": consequence[1],
        "confirm": words,
        "reason_max": settlement_flows.DECLINE_REASON_CHARS,
    }


@router.post("/tickets/{number}/quotes/{quote_id}/decline", dependencies=[Depends(csrf.protect)])
def decline(
    number: str,
    quote_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    reason: Annotated[str, Form(max_length=settlement_flows.DECLINE_REASON_CHARS)] = "",
) -> Response:
    """Decline the engineer's quote, confirmed, with an optional reason the engineer sees."""
    if not re.fullmatch(r"SR\d{8}-\d{4,6}", number):
        raise NotFound("object.ticket")
    ticket = tickets.get_ticket(session, ref=number, principal=principal)
    quote = service.quote_of(session, ticket=ticket, quote_id=quote_id)
    try:
        settlement_flows.decide_quote(
            session, quote=quote, accept=False, actor=principal.actor, reason=reason
        )
    except PortalError as exc:  # answered already (in the chat, in another tab)
        session.rollback()
        flash(request, "error", exc.message_zh, exc.message_en)
    else:
        flash(request, "ok", t("my.quote.declined_next", "zh"), t("my.quote.declined_next", "en"))
    return see_other(f"/my/tickets/{number}#quote")


@router.post("/tickets/{number}/complaints/{complaint_id}", dependencies=[Depends(csrf.protect)])
def answer_complaint(
    number: str,
    complaint_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    session: SessionDep,
    principal: CustomerPage,
    answer: Annotated[str, Form(pattern="^(accept|reject)$")],
    words: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Accept the outcome of a complaint about this ticket, or not (saying why)."""
    if not re.fullmatch(r"SR\d{8}-\d{4,6}", number):
        raise NotFound("object.ticket")
    ticket = tickets.get_ticket(session, ref=number, principal=principal)
    complaint = complaints.asked_of(session, ticket_id=ticket.id)
    if complaint is None or complaint.id != complaint_id:
        raise NotFound("object.complaint")
    try:
        with session.begin_nested():
            complaint_flows.answer(
                session,
                complaint=complaint,
                accept=answer == "accept",
                words=words,
                actor=principal.actor,
            )
    except PortalError as exc:  # no reason given, or answered already (in the chat)
        session.refresh(complaint)
        flash(request, "error", exc.message_zh, exc.message_en)
    else:
        key = "my.complaint.accepted" if answer == "accept" else "my.complaint.rejected"
        flash(request, "ok", t(key, "zh"), t(key, "en"))
    return see_other(f"/my/tickets/{number}#complaint")
