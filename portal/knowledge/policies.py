"""Who may search the FAQ and say whether an answer helped over the JSON API: the bot,
customers and any staff member search; the bot and customers give feedback."""

from __future__ import annotations

from typing import Annotated

from portal.security import STAFF_ROLES, Policy, Principal, Role

SEARCH = Policy("kb.search", *STAFF_ROLES, Role.BOT, Role.CUSTOMER)
FEEDBACK = Policy("kb.feedback", Role.BOT, Role.CUSTOMER)

Searcher = Annotated[Principal, SEARCH.api]
FeedbackGiver = Annotated[Principal, FEEDBACK.api]

# The FAQ editor pages under /knowledge.
EDIT = Policy("kb.edit", Role.KNOWLEDGE_EDITOR)
EditorPage = Annotated[Principal, EDIT.page]
