"""Who may call the asset routes, and which assets each caller sees: the desk and the field
(network managers, engineers) every unit, a customer only their own."""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import Select, false

from portal.assets.models import Asset
from portal.security import Policy, Principal, Role, Scope

_ALL = (Role.AGENT, Role.DISPATCHER, Role.NETWORK_MANAGER, Role.ENGINEER)

READ = Policy("assets.read", *_ALL, Role.CUSTOMER, sees_all=_ALL)
REGISTER = Policy("assets.register", Role.AGENT, Role.DISPATCHER)

Reader = Annotated[Principal, READ.api]
Registrar = Annotated[Principal, REGISTER.api]


def visible_to(stmt: Select[Any], scope: Scope) -> Select[Any]:
    """Narrow an asset query to the rows of this scope."""
    if scope.everything:
        return stmt
    if scope.customer_id is not None:
        return stmt.where(Asset.customer_id == scope.customer_id)
    return stmt.where(false())
