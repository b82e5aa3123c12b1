"""Who may call the staff administration routes: admins manage accounts and the chat desk's
teams; every staff member manages their own 2-step verification and password."""

from __future__ import annotations

from typing import Annotated

from portal.security import STAFF_ROLES, Policy, Principal

USERS = Policy("staff.users")  # admins only
TEAMS = Policy("staff.teams")  # admins only
OWN_ACCOUNT = Policy("staff.own_account", *STAFF_ROLES)

UserAdmin = Annotated[Principal, USERS.api]
UserAdminPage = Annotated[Principal, USERS.page]
TeamAdmin = Annotated[Principal, TEAMS.api]
TeamAdminPage = Annotated[Principal, TEAMS.page]
Own = Annotated[Principal, OWN_ACCOUNT.api]
OwnPage = Annotated[Principal, OWN_ACCOUNT.page]
