"""Who may call the settlement routes (JSON and pages). Statements: finance sees every one, a
network manager their network's, an engineer their own (`statement_visible`); quotes and
prices follow the ticket they belong to (the tickets policy's scope). Who may take each step
of a statement's workflow is `STEP_ROLES`."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role
from portal.settlement.models import Statement

_FIELD = (Role.DISPATCHER, Role.NETWORK_MANAGER, Role.ENGINEER, Role.AGENT)

FINANCE = Policy("settlement.finance", Role.FINANCE, sees_all=(Role.FINANCE,))
MONEY = Policy("settlement.money", Role.FINANCE, Role.NETWORK_MANAGER, sees_all=(Role.FINANCE,))
STATEMENTS = Policy(
    "settlement.statements",
    Role.FINANCE,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    sees_all=(Role.FINANCE,),
)
CARDS = Policy("settlement.cards", Role.FINANCE, *_FIELD)
PRICE = Policy("settlement.price", Role.FINANCE, *_FIELD)
QUOTES = Policy("settlement.quotes", Role.FINANCE, *_FIELD, Role.CUSTOMER)
DECIDE = Policy("settlement.decide", Role.CUSTOMER, Role.AGENT)
CASH = Policy("settlement.cash", Role.ENGINEER, Role.NETWORK_MANAGER, Role.FINANCE)

Finance = Annotated[Principal, FINANCE.api]
MoneyReader = Annotated[Principal, MONEY.api]
StatementReader = Annotated[Principal, STATEMENTS.api]
CardReader = Annotated[Principal, CARDS.api]
Pricer = Annotated[Principal, PRICE.api]
QuoteReader = Annotated[Principal, QUOTES.api]
Decider = Annotated[Principal, DECIDE.api]
Cashier = Annotated[Principal, CASH.api]
MoneyPage = Annotated[Principal, MONEY.page]
FinancePage = Annotated[Principal, FINANCE.page]

# The statement workflow's steps (service.WORKFLOW) and who may take each; admin always may.
STEP_ROLES: dict[str, frozenset[Role]] = {
    "confirm": frozenset({Role.NETWORK_MANAGER}),
    "dispute": frozenset({Role.NETWORK_MANAGER}),
    "resolve": frozenset({Role.FINANCE}),
    "approve": frozenset({Role.FINANCE}),
    "pay": frozenset({Role.FINANCE}),
}


def may_take_step(principal: Principal, action: str) -> bool:
    """Whether this caller's role may take this step of a statement's workflow."""
    return principal.role is Role.ADMIN or principal.role in STEP_ROLES.get(action, frozenset())


def statement_visible(statement: Statement, principal: Principal) -> bool:
    """Finance and admins see every statement, a network manager their network's, an
    engineer their own."""
    scope = STATEMENTS.scope(principal)
    if scope.everything:
        return True
    if scope.engineer_id is not None:
        return statement.party == "engineer" and statement.engineer_id == scope.engineer_id
    return scope.network_id is not None and statement.network_id == scope.network_id
