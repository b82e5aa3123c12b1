"""Who may call the customer routes, and which customers each caller sees: the service desk
every one, a customer only themselves. Nobody else reads customer records here (the bot
reads the customer bound to its chat through portal/botapi)."""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import Select, false

from portal.customers.models import Customer
from portal.policies import DESK
from portal.security import Policy, Principal, Role, Scope

_DESK = (Role.AGENT, Role.DISPATCHER)

LIST = DESK
READ = Policy("customers.read", *_DESK, Role.CUSTOMER, sees_all=_DESK)
EDIT = Policy("customers.edit", *_DESK, sees_all=_DESK)

Lister = Annotated[Principal, LIST.api]
Reader = Annotated[Principal, READ.api]
Editor = Annotated[Principal, EDIT.api]
DeskPage = Annotated[Principal, DESK.page]


def visible_to(stmt: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow a customer query to the rows of this scope."""
    if scope.everything:
        return stmt
    if scope.customer_id is not None:
        return stmt.where(Customer.id == scope.customer_id)
    return stmt.where(false())
