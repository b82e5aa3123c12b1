"""Who may call the dispatch routes: dispatchers every ticket and engineer, a network
manager their network's (tickets handed to it, its engineers), an engineer their own route
and position. Another network's engineer is a 404, as one that does not exist."""

from __future__ import annotations

from typing import Annotated

from portal.networks.models import Engineer
from portal.security import Policy, Principal, Role, Scope

DISPATCH = Policy(
    "dispatch.dispatch", Role.DISPATCHER, Role.NETWORK_MANAGER, sees_all=(Role.DISPATCHER,)
)
ROUTES = Policy(
    "dispatch.routes",
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    sees_all=(Role.DISPATCHER,),
)
POSITION = Policy("dispatch.position", Role.ENGINEER)

Dispatcher = Annotated[Principal, DISPATCH.api]
RouteReader = Annotated[Principal, ROUTES.api]
PositionReporter = Annotated[Principal, POSITION.api]


def engineer_visible(scope: Scope, engineer: Engineer) -> bool:
    """Whether an engineer is in the scope: every one, oneself, or one's network's."""
    if scope.everything:
        return True
    if scope.engineer_id is not None:
        return engineer.id == scope.engineer_id
    return scope.network_id is not None and engineer.network_id == scope.network_id


def network_restriction(principal: Principal) -> int | None:
    """The one network a dispatching caller is held to (None: every network)."""
    scope = DISPATCH.scope(principal)
    return None if scope.everything else scope.network_id


def one_network(principal: Principal) -> bool:
    """Whether the caller dispatches for one network only: a manager plans and assigns the
    tickets handed over to their network, to its engineers."""
    return DISPATCH.allows(principal) and not DISPATCH.scope(principal).everything


def may_reject(principal: Principal, holder: int | None) -> bool:
    """Whether the caller may turn down a job held by the engineer `holder`: an engineer only
    a job of their own (whoever else reaches the route was let in by its policy)."""
    if principal.role is not Role.ENGINEER:
        return True
    return holder is not None and holder == principal.engineer_id


def outside_network(principal: Principal, network_id: int | None) -> bool:
    """Whether a caller held to one network names another one (a manager without a network:
    any at all)."""
    return one_network(principal) and network_id != network_restriction(principal)
