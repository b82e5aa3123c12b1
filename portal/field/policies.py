"""Who uses the field app: engineers only (admins too would have no jobs of their own), and
each sees the jobs dispatched to them."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

ENGINEER = Policy("field.engineer", Role.ENGINEER, admin=False)

EngineerPage = Annotated[Principal, ENGINEER.page]
