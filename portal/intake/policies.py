"""Who may have a message read for ticket details (no stored data: the text sent is read):
the bot and the desk."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

PARSE = Policy("intake.parse", Role.BOT, Role.AGENT, Role.DISPATCHER)

Parser = Annotated[Principal, PARSE.api]
