"""Who handles complaint cases and revisit calls, and which cases each caller sees.

The desk (agents, dispatchers) and admin handle every case, agents call the customers who did
not answer a revisit, a network manager reads their own network's cases.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import Select, false

from portal.complaints.models import Complaint
from portal.security import Policy, Principal, Role, Scope

_DESK = (Role.AGENT, Role.DISPATCHER)

READ = Policy("complaints.read", *_DESK, Role.NETWORK_MANAGER, sees_all=_DESK)
HANDLE = Policy("complaints.handle", *_DESK, sees_all=_DESK)
# Revisit calls: the agents, who may see the number of a completed ticket they work on
# (portal.privacy.masking); dispatchers no longer see it once the visit is done.
REVISIT = Policy("complaints.revisit", Role.AGENT, sees_all=(Role.AGENT,))

Reader = Annotated[Principal, READ.api]
Handler = Annotated[Principal, HANDLE.api]
ReaderPage = Annotated[Principal, READ.page]
HandlerPage = Annotated[Principal, HANDLE.page]
RevisitPage = Annotated[Principal, REVISIT.page]


def visible_to(stmt: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow a complaint query to the rows of this scope."""
    if scope.everything:
        return stmt
    if scope.network_id is not None and scope.engineer_id is None:
        return stmt.where(Complaint.network_id == scope.network_id)
    return stmt.where(false())
