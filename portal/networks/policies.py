"""Who may list service networks and engineers: operations staff every network, a network
manager their own."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

_ALL = (Role.DISPATCHER, Role.AGENT, Role.FINANCE)

READ = Policy("networks.read", *_ALL, Role.NETWORK_MANAGER, sees_all=_ALL)

Reader = Annotated[Principal, READ.api]
