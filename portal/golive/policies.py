"""Who reads the go-live checklist: administrators (it names secrets that are not set)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal

CHECKLIST = Policy("golive.checklist")  # admins only

AdminPage = Annotated[Principal, CHECKLIST.page]
