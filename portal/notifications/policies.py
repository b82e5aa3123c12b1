"""Who reads in-portal notifications: every staff member, their own only (the rows are
filtered by the caller's user id in the service)."""

from __future__ import annotations

from typing import Annotated

from portal.security import STAFF_ROLES, Policy, Principal

MINE = Policy("notifications.mine", *STAFF_ROLES)

Recipient = Annotated[Principal, MINE.api]
RecipientPage = Annotated[Principal, MINE.page]
