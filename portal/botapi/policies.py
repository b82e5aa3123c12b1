"""Who may call the bot's routes: the bot's service account, and nobody else."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

# Not even admin: these routes act for a customer's chat, which staff never do.
BOT_CHAT = Policy("bot.chat", Role.BOT, admin=False)

BotCaller = Annotated[Principal, BOT_CHAT.api]
