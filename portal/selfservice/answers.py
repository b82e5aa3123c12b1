"""The chat widget's answer to a quote: one tap on the card's button, no sign-in.

The quote card the widget shows (notifications.quotes) carries the quote's token, an HMAC of
the quote under the app's secret, in its buttons; the widget posts it here. The token is the
whole authority (it reached only the visitor whose chat reported the ticket), so no cookie is
read and none is needed: the widget may run on another site's page. It posts a plain form
(a CORS "simple request", no preflight) and reads the answer, which allows any origin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from portal.config import Settings
from portal.database import SessionDep
from portal.errors import PortalError
from portal.i18n import both
from portal.settlement import flows as settlement_flows

router = APIRouter(prefix="/my", include_in_schema=False)

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}


@router.post("/quote-answers")
def answer(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=80)] = "",
    answer: Annotated[str, Form(max_length=8)] = "",
) -> JSONResponse:
    """Accept or decline the quote the token opens; answers its status and a sentence."""
    settings: Settings = request.app.state.settings
    if answer not in ("accept", "reject"):
        zh, en = both("validation.invalid", field="quote_answer")
        return JSONResponse({"message_zh": zh, "message_en": en}, 422, headers=CORS)
    try:
        quote = settlement_flows.quote_by_token(session, secret=settings.secret_key, token=token)
        settlement_flows.decide_quote(
            session, quote=quote, accept=answer == "accept", actor=f"widget:quote:{quote.id}"
        )
    except PortalError as exc:
        session.rollback()
        body = {"error": exc.key, "message_zh": exc.message_zh, "message_en": exc.message_en}
        return JSONResponse(body, exc.status_code, headers=CORS)
    zh, en = both("my.quote.done_accept" if answer == "accept" else "my.quote.done_reject")
    body = {"status": quote.status, "number": quote.number, "message_zh": zh, "message_en": en}
    return JSONResponse(body, headers=CORS)
