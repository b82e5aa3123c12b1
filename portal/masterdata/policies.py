"""Who may read and write master data: the admin everything; a network manager their own
network's record and engineers (rows of other networks are 404)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

MANAGE = Policy("masterdata.manage")
PEOPLE = Policy("masterdata.people", Role.NETWORK_MANAGER)

Admin = Annotated[Principal, MANAGE.api]
AdminPage = Annotated[Principal, MANAGE.page]
People = Annotated[Principal, PEOPLE.api]
PeoplePage = Annotated[Principal, PEOPLE.page]

# Which policy guards each kind's rows.
POLICY_OF = {"networks": PEOPLE, "engineers": PEOPLE}


def policy_for(kind: str) -> Policy:
    """The policy of a kind's routes."""
    return POLICY_OF.get(kind, MANAGE)
