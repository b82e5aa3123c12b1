"""Who reads the reports (JSON and pages): dispatchers and finance every network's figures,
a network manager their own network's; admins also refresh the figures."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

READ = Policy(
    "analytics.read",
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.FINANCE,
    sees_all=(Role.DISPATCHER, Role.FINANCE),
)
REFRESH = Policy("analytics.refresh")  # admins only

Reader = Annotated[Principal, READ.api]
Refresher = Annotated[Principal, REFRESH.api]
ReaderPage = Annotated[Principal, READ.page]

# The R&D quality board: the readers above, and factory quality (every network's figures).
RND = Policy(
    "analytics.rnd",
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.FINANCE,
    Role.QUALITY,
    sees_all=(Role.DISPATCHER, Role.FINANCE, Role.QUALITY),
)
TARGETS = Policy("analytics.targets")  # admins set the KPI targets; readers see them
RndPage = Annotated[Principal, RND.page]
TargetsPage = Annotated[Principal, TARGETS.page]
