"""Who may call the cost-centre pages: factory quality appraises quality cases and reads the
repeats (every case: the factory answers for all of them); finance reads each cost centre's
month. The engineer's fault cause is part of the field app (its `field.engineer` policy)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

QUALITY = Policy("costs.quality", Role.QUALITY, sees_all=(Role.QUALITY,))
FINANCE = Policy("costs.finance", Role.FINANCE, sees_all=(Role.FINANCE,))

QualityPage = Annotated[Principal, QUALITY.page]
FinancePage = Annotated[Principal, FINANCE.page]
