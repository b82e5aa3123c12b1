"""What the field app's job page shows of the fault cause (the form itself posts to
`costs.pages`): whether the job needs one, the case so far, its evidence, the list, and what a
refused form held."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from portal.costs import causes
from portal.costs import service as costs
from portal.templating import shanghai_today
from portal.tickets.models import Ticket

DRAFT_KEY = "cost_cause_draft"


def keep_draft(request: Request, ticket: Ticket, **values: object) -> None:
    """What a refused cause form held, so the job page shows it again."""
    request.session[DRAFT_KEY] = {"ref": ticket.number, **values}


def context(request: Request, session: Session, ticket: Ticket) -> dict[str, Any]:
    """The job page's fault-cause section."""
    case = costs.case_of(session, ticket_id=ticket.id)
    kept = request.session.pop(DRAFT_KEY, None)
    draft = kept if isinstance(kept, dict) and kept.get("ref") == ticket.number else {}
    needed = case is not None or costs.may_need_cause(session, ticket=ticket, on=shanghai_today())
    return {
        "cost_needed": needed,
        "cost_case": case,
        "cost_evidence": costs.evidence(session, case=case) if case is not None else [],
        "cost_causes": {k: causes.of_class(k) for k in causes.CLASSES},
        "cost_quality": causes.of_class(causes.QUALITY),
        "cost_draft": draft,
    }
