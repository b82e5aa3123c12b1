"""Who may use the agent console: agents (and admins) chat; only admins set an agent's
limits and skills. Supervisors are agents with a flag, checked where it matters."""

from __future__ import annotations

from typing import Annotated

from portal.conversations.policies import CHATTERS
from portal.security import Policy, Principal

CHAT = Policy("console.chat", *CHATTERS, sees_all=CHATTERS)
CONFIGURE = Policy("console.configure")  # admins only

Chatter = Annotated[Principal, CHAT.api]
Configurer = Annotated[Principal, CONFIGURE.api]
ChatterPage = Annotated[Principal, CHAT.page]
