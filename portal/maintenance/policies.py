"""Who plans maintenance (dispatch), and who reports a unit's usage counter: the desk and
dispatch for any unit, an engineer only for units of jobs assigned to them."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

PLAN = Policy("maintenance.plan", Role.DISPATCHER, sees_all=(Role.DISPATCHER,))
USAGE = Policy(
    "maintenance.usage",
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.AGENT,
    Role.ENGINEER,
    sees_all=(Role.DISPATCHER, Role.NETWORK_MANAGER, Role.AGENT),
)

Planner = Annotated[Principal, PLAN.api]
UsageReporter = Annotated[Principal, USAGE.api]
PlannerPage = Annotated[Principal, PLAN.page]
