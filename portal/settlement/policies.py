"""Who may call the settlement routes (JSON and pages). Statements: finance sees every one, a
network manager their network's, an engineer their own (`service.visible_to`); quotes and
prices follow the ticket they belong to (the tickets policy's scope)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

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
