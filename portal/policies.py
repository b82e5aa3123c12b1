"""Policies shared by several domains' pages; each domain declares its own in
`portal/<domain>/policies.py` (see `Policy` in portal/security.py)."""

from __future__ import annotations

from portal.security import STAFF_ROLES, Policy, Role

# Any logged-in staff member: pages whose rows are then narrowed by the domain's scope.
STAFF = Policy("staff", *STAFF_ROLES)
# The service desk: agents and dispatchers (and admin) see every customer, asset and ticket.
DESK = Policy("desk", Role.AGENT, Role.DISPATCHER, sees_all=(Role.AGENT, Role.DISPATCHER))
