"""An open console socket is cut at its next frame (a heartbeat will do) once the agent's
account is disabled (testers found it kept receiving customers' messages)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from portal.accounts.models import User
from portal.database import Database
from tests.conversations.support import add_agent, token


def test_a_disabled_agent_s_socket_is_closed_at_the_next_heartbeat(
    hc: TestClient, db: Database
) -> None:
    add_agent(db, "leaver")
    headers = token(hc, "leaver")
    with hc.websocket_connect("/console/ws", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        with db.session() as s:
            s.scalars(select(User).where(User.username == "leaver")).one().is_active = False
        ws.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as cut:
            for _ in range(50):
                frame = ws.receive_json()
                assert frame["type"] != "pong", "the disabled agent's socket answered"
        assert cut.value.code == 1008
