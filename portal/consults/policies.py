"""Who takes part in consults, and which consults each one sees.

- Engineers ask from the field app (`FIELD`, their own jobs only); their consults are those
  of the tickets dispatched to them (a job handed to another engineer takes its consults along).
- Technical experts (and admins) answer at the desk (`DESK`): every consult.
- Reading a consult where the ticket is shown (`READ`: the ticket page, the files): the
  desk roles that see every ticket, a network manager their network's, an engineer their own.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import Select, false, select

from portal.consults.models import Consult
from portal.security import Policy, Principal, Role, Scope
from portal.tickets.models import Ticket

_SEE_ALL = (Role.EXPERT, Role.AGENT, Role.DISPATCHER, Role.FINANCE)

FIELD = Policy("consults.field", Role.ENGINEER, admin=False)
DESK = Policy("consults.desk", Role.EXPERT, sees_all=(Role.EXPERT,))
READ = Policy(
    "consults.read",
    *_SEE_ALL,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    sees_all=_SEE_ALL,
)

FieldPage = Annotated[Principal, FIELD.page]
DeskPage = Annotated[Principal, DESK.page]
ReaderPage = Annotated[Principal, READ.page]


def visible_to(stmt: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow a consult query to the rows of this scope (through the consult's ticket)."""
    if scope.everything:
        return stmt
    if scope.engineer_id is not None:
        mine = select(Ticket.id).where(Ticket.engineer_id == scope.engineer_id)
        return stmt.where(Consult.ticket_id.in_(mine.scalar_subquery()))
    if scope.network_id is not None:
        ours = select(Ticket.id).where(Ticket.network_id == scope.network_id)
        return stmt.where(Consult.ticket_id.in_(ours.scalar_subquery()))
    return stmt.where(false())
