"""Who reads the SOP library (everyone who works tickets; the ticket's own scope still
applies to a job's checklist) and who changes it (dispatch and knowledge editors)."""

from __future__ import annotations

from typing import Annotated

from portal.security import Policy, Principal, Role

READ = Policy(
    "sop.read",
    Role.AGENT,
    Role.DISPATCHER,
    Role.ENGINEER,
    Role.NETWORK_MANAGER,
    Role.FINANCE,
    Role.KNOWLEDGE_EDITOR,
)
# The library's pages: engineers read it on the job in the field app instead.
READ_PAGES = Policy(
    "sop.read_pages",
    Role.AGENT,
    Role.DISPATCHER,
    Role.NETWORK_MANAGER,
    Role.FINANCE,
    Role.KNOWLEDGE_EDITOR,
)
EDIT = Policy("sop.edit", Role.DISPATCHER, Role.KNOWLEDGE_EDITOR)

Reader = Annotated[Principal, READ.api]
Editor = Annotated[Principal, EDIT.api]
ReaderPage = Annotated[Principal, READ_PAGES.page]
EditorPage = Annotated[Principal, EDIT.page]
