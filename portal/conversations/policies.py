"""Who may read a conversation's transcript over the JSON API (the desk), who hands a chat
to a human (the bot, for the chat it is in), who chats with customers in the console and who
supervises the agents there."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

READ = Policy("conversations.read", Role.AGENT, Role.DISPATCHER)
HANDOFF = Policy("conversations.handoff", Role.BOT)

Reader = Annotated[Principal, READ.api]
HandingOff = Annotated[Principal, HANDOFF.api]

# Who chats with customers in the agent console (the console's CHAT policy lets them in).
CHATTERS = frozenset({Role.AGENT, Role.ADMIN})
# Who supervises every chat by their role; agents supervise when their profile says so.
SUPERVISORS = frozenset({Role.ADMIN})


def chats(role: str) -> bool:
    """Whether a staff member with this role chats with customers in the console."""
    return role in CHATTERS


def supervises(role: str, *, flagged: bool) -> bool:
    """Whether a staff member supervises the console: by role, or by their profile's flag."""
    return role in SUPERVISORS or flagged
