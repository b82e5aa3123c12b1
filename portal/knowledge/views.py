"""JSON routes of the knowledge base: search (the bot, customers, staff) and answer feedback.

Searches by the bot and by customers are logged for the unanswered-questions list and the
FAQ answer rate; staff searches are not (they are testing, not asking).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from portal.database import SessionDep
from portal.errors import NotFound
from portal.knowledge import flows, service
from portal.knowledge.policies import FeedbackGiver, Searcher
from portal.knowledge.schemas import KbFeedbackCreate, KbFeedbackRead, KbHitRead, KbSearchRead
from portal.security import Principal

router = APIRouter(prefix="/kb", tags=["knowledge base"])


def _source(principal: Principal) -> str | None:
    if principal.kind == "service":
        return "bot"
    if principal.kind == "customer":
        return "customer"
    return None


@router.get("/search", response_model=KbSearchRead)
def search(
    request: Request,
    session: SessionDep,
    principal: Searcher,
    q: Annotated[str, Query(min_length=1, max_length=500, description="The question")],
    k: Annotated[int, Query(ge=1, le=20)] = 5,
    product: Annotated[str, Query(max_length=32, description="A model code, e.g. WM-100")] = "",
) -> KbSearchRead:
    """The best FAQ entries for a question; band answer / suggest / none (404: no FAQ loaded)."""
    kb = flows.current(request)
    band, hits = flows.search(
        session, kb=kb, query=q, k=k, product=product, source=_source(principal)
    )
    return KbSearchRead(
        query=q,
        band=band,  # type: ignore[arg-type]  # one of service.BANDS
        results=[KbHitRead.from_hit(h) for h in hits],
    )


@router.post(
    "/feedback",
    response_model=KbFeedbackRead,
    status_code=status.HTTP_201_CREATED,
)
def feedback(
    body: KbFeedbackCreate,
    request: Request,
    session: SessionDep,
    principal: FeedbackGiver,
) -> KbFeedbackRead:
    """Record whether an answer helped (the bot after 已解决 / 未解决)."""
    kb = flows.current(request)
    if kb.get(body.entry_id) is None:
        raise NotFound("object.kb_entry")
    counts = service.record_feedback(
        session,
        entry_id=body.entry_id,
        helpful=body.helpful,
        source=_source(principal) or "staff",
        query=body.query,
        conversation_id=body.conversation_id,
    )
    return KbFeedbackRead(
        entry_id=body.entry_id, helpful=counts.helpful, not_helpful=counts.not_helpful
    )
