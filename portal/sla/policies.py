"""Who may call the SLA routes: admins set policies and calendars; operations staff read
them; staff who work a ticket read its timers (the ticket's scope applies); the desk and the
bot quote the promise for a kind of job (no customer data)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

CONFIGURE = Policy("sla.configure")  # admins only
READ = Policy("sla.read", Role.AGENT, Role.DISPATCHER, Role.NETWORK_MANAGER, Role.FINANCE)
TIMERS = Policy(
    "sla.timers",
    Role.AGENT,
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.ENGINEER,
    Role.FINANCE,
)
PROMISE = Policy("sla.promise", Role.BOT, Role.AGENT, Role.DISPATCHER)

Configurer = Annotated[Principal, CONFIGURE.api]
ConfigurerPage = Annotated[Principal, CONFIGURE.page]
Reader = Annotated[Principal, READ.api]
TimerReader = Annotated[Principal, TIMERS.api]
Promiser = Annotated[Principal, PROMISE.api]
