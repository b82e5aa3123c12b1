"""Who may call the parts routes (JSON and pages), and the one rule for which stock
locations, vans and returns a caller reaches.

The parts desk (dispatch) and finance see every location; a network manager their
network's stores and vans, and those of its 伞下店; an engineer their own van. Agents may
look the catalogue and the locations up (to answer customers) but touch no stock.
"""

from __future__ import annotations

from typing import Annotated

from portal.networks.models import Engineer
from portal.parts.models import StockLocation
from portal.security import Policy, Principal, Role, Scope

_ALL = (Role.DISPATCHER, Role.FINANCE)

READ = Policy(
    "parts.read",
    Role.DISPATCHER,
    Role.FINANCE,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    Role.AGENT,
    sees_all=(*_ALL, Role.AGENT),
)
RETURNS = Policy(
    "parts.returns",
    Role.DISPATCHER,
    Role.FINANCE,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    sees_all=_ALL,
)
STOCK = Policy("parts.stock", Role.DISPATCHER, Role.FINANCE, Role.NETWORK_MANAGER, sees_all=_ALL)
MOVE = Policy("parts.move", Role.DISPATCHER, Role.NETWORK_MANAGER, sees_all=(Role.DISPATCHER,))
CATALOGUE = Policy("parts.catalogue", Role.DISPATCHER, sees_all=(Role.DISPATCHER,))
# Central-warehouse work (ship a shortage, receive, repair or scrap a return): the parts desk.
CENTRAL = CATALOGUE
TICKET = Policy(
    "parts.ticket",
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    sees_all=(Role.DISPATCHER,),
)
# The van page: the parts desk, finance and managers look any (their network's) van up; an
# engineer sees their own.
VAN = Policy(
    "parts.van", Role.DISPATCHER, Role.FINANCE, Role.NETWORK_MANAGER, Role.ENGINEER, sees_all=_ALL
)

Reader = Annotated[Principal, READ.api]
ReturnsReader = Annotated[Principal, RETURNS.api]
StockReader = Annotated[Principal, STOCK.api]
Mover = Annotated[Principal, MOVE.api]
Cataloguer = Annotated[Principal, CATALOGUE.api]
TicketWorker = Annotated[Principal, TICKET.api]
StockPage = Annotated[Principal, STOCK.page]
VanPage = Annotated[Principal, VAN.page]


def network_filter(scope: Scope) -> tuple[int, ...] | None:
    """The networks a scope is held to: its network and that network's 伞下店 (None: every
    network; (-1,): none at all)."""
    if scope.everything:
        return None
    return scope.network_ids or (-1,)


def location_visible(scope: Scope, location: StockLocation) -> bool:
    """Whether a stock location is in the scope: every one, an engineer's own van, or a
    network's stores and vans."""
    if scope.everything:
        return True
    if scope.engineer_id is not None:
        return location.engineer_id is not None and location.engineer_id == scope.engineer_id
    if scope.network_id is not None:
        return location.network_id is not None and location.network_id in scope.network_ids
    return False


def engineer_visible(scope: Scope, engineer: Engineer) -> bool:
    """Whether an engineer (their van, their returns) is in the scope."""
    if scope.everything:
        return True
    if scope.engineer_id is not None:
        return engineer.id == scope.engineer_id
    return scope.network_id is not None and engineer.network_id in scope.network_ids
