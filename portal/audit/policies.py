"""Who reads the audit log: administrators only."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal

READ = Policy("audit.read")  # admins only

Auditor = Annotated[Principal, READ.api]
AuditorPage = Annotated[Principal, READ.page]
