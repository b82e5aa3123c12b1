"""The widget's JSON frames, translated to and from ChannelMessage in this one place."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.base import ChannelMessage
from knowledge_base import render

CHANNEL = "web"
MAX_TEXT = 2000
# Checked before json.loads so a huge frame is never parsed; leaves room for escapes.
MAX_FRAME_BYTES = 16 * 1024
# The visitor id is the only thing guarding a conversation, so it must be long and random.
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SITE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Their texts are Markdown (FAQ answers quoted by the bot); customers' and agents' are not.
RENDERED_AUTHORS = frozenset({"bot", "system"})

# Channel-level sentences; the widget shows the one matching its language.
ERRORS: dict[str, tuple[str, str]] = {
    "bad_json": ("消息格式有误", "The message is not valid JSON"),
    "bad_type": ("不支持的消息类型", "Unsupported message type"),
    "empty_text": ("消息不能为空", "The message must not be empty"),
    "too_long": (f"消息过长，最多 {MAX_TEXT} 字", f"The message is over {MAX_TEXT} characters"),
    "bad_field": ("消息字段有误", "A message field has an invalid value"),
    "hub_failed": ("消息暂时无法处理，请稍后再试", "The message could not be handled, try again"),
    "rate_limited": (
        "发送太频繁了，请稍等片刻再发",
        "You are sending messages too fast; please wait a moment and try again",
    ),
}


class FrameError(ValueError):
    """A client frame the adapter refuses; `code` picks the sentence from ERRORS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def error_frame(code: str, *, client_id: str | None = None) -> dict[str, str | None]:
    """The frame telling the client why its last frame was refused."""
    zh, en = ERRORS[code]
    return {
        "type": "error",
        "code": code,
        "client_id": client_id,
        "message_zh": zh,
        "message_en": en,
    }


def valid_visitor_id(value: str | None) -> bool:
    """Whether a visitor id has the shape the widget generates."""
    return value is not None and VISITOR_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Typing:
    """A client frame saying the visitor started (`on`) or stopped typing."""

    on: bool


def _optional_str(frame: dict[str, Any], key: str) -> str | None:
    value = frame.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FrameError("bad_field")
    return value


def parse_frame(
    raw: str | bytes | None, *, sender_id: str, site_key: str | None
) -> ChannelMessage | Typing | None:
    """Turn one client frame into an inbound ChannelMessage, a Typing state, or None for a
    keep-alive ping."""
    if raw is None or isinstance(raw, bytes) or len(raw.encode()) > MAX_FRAME_BYTES:
        raise FrameError("bad_json" if not isinstance(raw, str) else "too_long")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_json")
    if frame.get("type") == "ping":
        return None
    if frame.get("type") == "typing":
        if not isinstance(frame.get("on"), bool):
            raise FrameError("bad_field")
        return Typing(on=frame["on"])
    if frame.get("type") != "message":
        raise FrameError("bad_type")
    text = _optional_str(frame, "text")
    if text is None or not text.strip():
        raise FrameError("empty_text")
    payload = _optional_str(frame, "payload")
    client_id = _optional_str(frame, "client_id")
    if len(text) > MAX_TEXT or (payload is not None and len(payload) > MAX_TEXT):
        raise FrameError("too_long")
    if client_id is not None and CLIENT_ID.fullmatch(client_id) is None:
        raise FrameError("bad_field")
    extra: dict[str, str] = {}
    if payload:
        extra["payload"] = payload
    if site_key:
        extra["site_key"] = site_key
    return ChannelMessage(
        channel=CHANNEL,
        sender_id=sender_id,
        text=text.strip(),
        direction="in",
        message_id=client_id,
        author="customer",
        extra=extra,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def rendered_html(message: ChannelMessage) -> str | None:
    """The safe HTML of a bot or system message's Markdown; None for anything a person typed,
    which the widget shows as text."""
    if message.direction != "out" or message.author not in RENDERED_AUTHORS or not message.text:
        return None
    return render.to_html(message.text)


def to_wire(message: ChannelMessage) -> dict[str, Any]:
    """One stored message as the widget renders it; the payload of a click is never shown."""
    return {
        "type": "message",
        "id": message.id,
        "client_id": message.message_id if message.direction == "in" else None,
        "direction": message.direction,
        "author": message.author,
        "text": message.text,
        "html": rendered_html(message),
        "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
        "image_url": message.image_url,
        "created_at": _iso(message.created_at),
    }


def history_frame(messages: list[ChannelMessage]) -> dict[str, Any]:
    """The frame sent on connect: the whole conversation so far, oldest first."""
    return {"type": "history", "messages": [to_wire(m) for m in messages]}


PONG: dict[str, Any] = {"type": "pong"}


def typing_frame(on: bool) -> dict[str, Any]:
    """Tells the widget to show or hide the typing indicator."""
    return {"type": "typing", "on": on}
