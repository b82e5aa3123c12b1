"""The ids a log line carries, kept in context variables so every task and thread of one
request (Starlette copies the context into its thread pool) sees its own."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
conversation_id_var: ContextVar[str | None] = ContextVar("conversation_id", default=None)

# What a client may send as X-Request-ID; anything else is replaced, so a header cannot
# forge log lines or blow up their size.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    """A fresh random request id."""
    return uuid.uuid4().hex


def accept_request_id(raw: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, otherwise a fresh one."""
    if raw and _VALID_REQUEST_ID.fullmatch(raw):
        return raw
    return new_request_id()


def bind_conversation(public_id: str | None) -> None:
    """Tag the rest of this task's log lines with the conversation's public id."""
    conversation_id_var.set(public_id)
