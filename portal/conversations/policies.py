"""Who may read a conversation's transcript over the JSON API (the desk), and who hands a
chat to a human (the bot, for the chat it is in)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

READ = Policy("conversations.read", Role.AGENT, Role.DISPATCHER)
HANDOFF = Policy("conversations.handoff", Role.BOT)

Reader = Annotated[Principal, READ.api]
HandingOff = Annotated[Principal, HANDOFF.api]
