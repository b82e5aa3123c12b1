"""Website chat widget channel: the embeddable widget's WebSocket, translated to ChannelMessage."""

from __future__ import annotations

from channels.web.adapter import build_router
from channels.web.sockets import VisitorSockets

__all__ = ["VisitorSockets", "build_router"]
