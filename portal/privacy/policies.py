"""Who confirms or rejects a customer's erasure request: administrators only (it cannot be
undone)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal

ERASURES = Policy("privacy.erasures")  # admins only

AdminPage = Annotated[Principal, ERASURES.page]
