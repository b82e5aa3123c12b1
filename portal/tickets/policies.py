"""Who may call the ticket routes (JSON and pages), and which tickets each caller sees.

Tickets: the desk and finance see every ticket; a network manager their network's (and its
伞下店's); an engineer the jobs dispatched to them; a customer their own. The bot's service
account reads no ticket here: it has its own narrow routes (portal/botapi) and may only open
tickets.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import Select, false

from portal.security import Policy, Principal, Role, Scope
from portal.tickets.models import Ticket

_SEE_ALL = (Role.AGENT, Role.DISPATCHER, Role.FINANCE)
_STAFF = (Role.AGENT, Role.DISPATCHER, Role.FINANCE, Role.NETWORK_MANAGER, Role.ENGINEER)

READ = Policy("tickets.read", *_STAFF, Role.CUSTOMER, sees_all=_SEE_ALL)
# Lifecycle actions: the same callers; which action each role may take is the lifecycle's rule.
ACT = Policy("tickets.act", *_STAFF, Role.CUSTOMER, sees_all=_SEE_ALL)
CREATE = Policy("tickets.create", Role.BOT, Role.AGENT, Role.DISPATCHER, Role.CUSTOMER)
EDIT = Policy("tickets.edit", Role.AGENT, Role.DISPATCHER, sees_all=(Role.AGENT, Role.DISPATCHER))
STAFF_READ = Policy("tickets.staff_read", *_STAFF, sees_all=_SEE_ALL)

Reader = Annotated[Principal, READ.api]
Actor = Annotated[Principal, ACT.api]
Creator = Annotated[Principal, CREATE.api]
Editor = Annotated[Principal, EDIT.api]
StaffReader = Annotated[Principal, STAFF_READ.api]
EditorPage = Annotated[Principal, EDIT.page]
StaffReaderPage = Annotated[Principal, STAFF_READ.page]


def visible_to(stmt: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow a ticket query to the rows of this scope."""
    if scope.everything:
        return stmt
    if scope.engineer_id is not None:
        return stmt.where(Ticket.engineer_id == scope.engineer_id)
    if scope.network_id is not None:  # a parent network's manager: its outlets' too
        return stmt.where(Ticket.network_id.in_(scope.network_ids))
    if scope.customer_id is not None:
        return stmt.where(Ticket.customer_id == scope.customer_id)
    return stmt.where(false())


def sees_every_ticket(principal: Principal) -> bool:
    """Whether the caller sees every ticket (may filter by any network)."""
    return READ.scope(principal).everything
