"""Issue 22 on the real stack, in safe mode (signed and encrypted, as WeChat sends): a
follower reports a fault by voice (WeChat's recognised words), the portal is killed right
after answering `success` and started again, and the answer still arrives; an agent takes
over and sees the follower's 是的 live, with nothing automatic answering it (a location offer
was pending); the follower gets the 派单 template message with its keywords.

Everything is real except WeChat itself: the portal, Rasa with the model trained from bot/,
the action server, the outbox worker. This test plays WeChat's servers and fakes WeChat's
API on a local port (which keeps the platform's rules: 48-hour window, template fields).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from portal.config import ROOT, Settings
from portal.conversations.models import Conversation, Message
from portal.database import Database, utcnow
from portal.notifications.models import Notification
from portal.stack import Process, Stack, ensure_model, prepare
from portal.wechat.push import turn_key
from portal.wiring import wire
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import AES_KEY, APP_ID, OPENID, SECRET, TOKEN, WeChatServer
from tests.channels.wechat.support import fixture as wechat_fixture
from tests.conftest import IN_CI
from tests.conversations.support import add_agent, wait_for
from tests.e2e_fixtures import free_port
from tests.portal import factories as f
from tests.sla.support import act_at, open_ticket

pytestmark = pytest.mark.e2e

DISPATCH = "TPL_E2E_DISPATCH"
TEMPLATES = {
    "dispatched": {
        "id": DISPATCH,
        "keywords": {"character_string1": "number", "thing2": "engineer", "time3": "when"},
    }
}
VOICE = "我的洗衣机坏了，滚筒不转"


@pytest.fixture(scope="module")
def wechat_api() -> Iterator[FakeWeChatApi]:
    """WeChat's API on a local port, for the whole stack's life."""
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as fake:
        fake.templates[DISPATCH] = ("character_string1", "thing2", "time3")
        yield fake


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, wechat_api: FakeWeChatApi) -> Iterator[Stack]:
    """Portal, Rasa, the action server and the workers; the account in safe mode."""
    bot_env = Path(os.environ.get("BOT_ENV", ROOT / ".venv-bot"))
    if not (bot_env / "bin" / "rasa").exists():
        message = f"the bot environment is missing at {bot_env}; `make test` installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    var = tmp_path_factory.mktemp("wechat-platform")
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=f"sqlite:///{var / 'portal.db'}",
        portal_port=free_port(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="e2e-rasa-token",
        bot_service_token="e2e-bot-token",
        secret_key="e2e-secret",
        bot_env=bot_env,
        wechat_token=TOKEN,
        wechat_aes_key=AES_KEY,  # safe mode, the documented default
        wechat_app_id=APP_ID,
        wechat_app_secret=SECRET,
        wechat_api_base_url=wechat_api.base_url,
        wechat_templates=json.dumps(TEMPLATES),
        # Every answer misses the passive window, so each goes through the outbox.
        wechat_passive_reply_s=0.3,
        wechat_turn_recover_s=30.0,
        outbox_poll_s=0.3,
    )
    prepare(settings, demo="minimal")
    running = Stack(settings, model=ensure_model(settings))
    running.start()
    try:
        running.wait_healthy(timeout=900)
        yield running
    finally:
        running.stop()


def _portal(stack: Stack) -> Process:
    return next(p for p in stack.processes if p.name == "portal")


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/livez", timeout=2).is_success
    except httpx.HTTPError:
        return False


def _texts_to(api: FakeWeChatApi, after: int) -> list[str]:
    return [m["text"]["content"] for m in api.sent[after:] if m.get("msgtype") == "text"]


def test_voice_kill_takeover_and_dispatch_template(stack: Stack, wechat_api: FakeWeChatApi) -> None:
    settings = stack.settings
    db = wire(Database(settings.effective_database_url), settings)
    try:
        with httpx.Client(base_url=stack.portal_url, timeout=60) as http:
            server = WeChatServer(http, aes_key=AES_KEY, api=wechat_api)

            # 1. A fault reported by voice: WeChat's recognised words are the turn's text.
            voice = wechat_fixture("voice.xml", Recognition=VOICE, MsgId="24900000000088001")
            assert server.reply(server.post(voice)) is None  # `success`: the answer comes later
            portal = _portal(stack)
            assert portal.popen is not None
            os.killpg(portal.popen.pid, signal.SIGKILL)  # killed right after `success`
            portal.popen.wait(timeout=10)
            portal.start()
            wait_for(partial(_up, stack.portal_url), timeout=120, what=f"{portal.log_path}")
            wechat_api.wait_for_sent(1, timeout=120)  # the answer arrives after the restart
            answer = _texts_to(wechat_api, 0)
            assert answer and all(text.strip() for text in answer)
            with db.session() as session:
                said = session.scalars(select(Message.text).where(Message.direction == "in")).all()
            assert said.count(VOICE) == 1

            # 2. A location offer waits; the follower asks for a person; an agent takes over.
            offer = server.reply(server.post(wechat_fixture("location.xml")))
            if offer is None:  # not back within the passive window: sent from the outbox
                wait_for(
                    lambda: any("用这个地址" in t for t in _texts_to(wechat_api, 0)),
                    timeout=60,
                    what="the location offer",
                )
            else:
                assert "用这个地址" in str(offer["Content"])
            server.post(wechat_fixture("event_click_agent.xml"))
            with db.session() as session:
                conversation = session.scalars(
                    select(Conversation).where(Conversation.sender_id == OPENID)
                ).one()
                public_id = conversation.public_id
            wait_for(lambda: _state(db, public_id) == "waiting", timeout=60, what="the queue")
            add_agent(db, "li")
            token = http.post(
                "/api/v1/auth/token", data={"username": "li", "password": "secret-pass"}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ws_url = stack.portal_url.replace("http://", "ws://") + "/console/ws"
            with connect(ws_url, additional_headers=headers, open_timeout=30) as ws:
                assert _frame(ws, lambda fr: fr["type"] == "hello")
                accepted = http.post(
                    f"/api/v1/console/conversations/{public_id}/accept", headers=headers
                )
                assert accepted.status_code == 204, accepted.text
                wait_for(lambda: _state(db, public_id) == "agent", timeout=30, what="accept")
                wait_for(
                    lambda: any("为您服务" in t for t in _texts_to(wechat_api, 0)),
                    timeout=60,
                    what="the agent's greeting",
                )
                before = len(wechat_api.sent)
                yes = wechat_fixture("text.xml", Content="是的", MsgId="24900000000088002")
                assert server.reply(server.post(yes)) is None
                frame = _frame(
                    ws,
                    lambda fr: (
                        fr["type"] == "message"
                        and fr["message"]["author"] == "customer"
                        and fr["message"]["text"] == "是的"
                    ),
                )
                assert frame["conversation"] == public_id  # the agent saw it, live
            # Nothing automatic answered it. Its turn over, nothing was stored for the
            # follower after it (everything sent is stored first) …
            wait_for(
                lambda: _turn_over(db, "24900000000088002"), timeout=60, what="the turn on 是的"
            )
            assert _said_after(db, public_id, "是的") == []
            # … and the agent's reply, sent after it, is the barrier for what went out: once
            # it has reached the follower, it is the only message since 是的.
            reply = "好的，我来处理"
            sent = http.post(
                f"/api/v1/console/conversations/{public_id}/messages",
                json={"text": reply},
                headers=headers,
            )
            assert sent.status_code == 201, sent.text
            since = wechat_api.wait_for_sent(before + 1, timeout=60)[before:]
            assert len(since) == 1, f"something automatic answered 是的: {since}"
            assert _texts_to(wechat_api, before) == [reply]

        # 3. The ticket is dispatched: the follower gets the 派单 template, keywords only.
        with db.session() as session:
            customer = f.customer(session, wechat_openid=OPENID)
            ticket = open_ticket(session, customer=customer)
            network = f.network(session)
            engineer = f.engineer(session, network=network, name="王师傅")
            now = utcnow()
            act_at(session, ticket, "accept", now)
            act_at(session, ticket, "dispatch", now, engineer_id=engineer.id)
            number = ticket.number
        wait_for(lambda: wechat_api.template_messages, timeout=90, what="the 派单 template")
        [message] = wechat_api.template_messages
        assert message["touser"] == OPENID and message["template_id"] == DISPATCH
        assert message["shown"]["character_string1"] == number
        assert message["shown"]["thing2"] == "王师傅"
        assert message["shown"]["time3"]
    finally:
        db.dispose()


def _state(db: Database, public_id: str) -> str:
    with db.session() as session:
        return str(
            session.scalars(
                select(Conversation.state).where(Conversation.public_id == public_id)
            ).one()
        )


def _turn_over(db: Database, message_id: str) -> bool:
    """Whether the portal's turn on this WeChat message is over (its mark cleared)."""
    with db.session() as session:
        status = session.scalars(
            select(Notification.status).where(Notification.idempotency_key == turn_key(message_id))
        ).first()
    return status == "sent"


def _said_after(db: Database, public_id: str, text: str) -> list[str]:
    """What was stored for the follower after the customer's `text`."""
    with db.session() as session:
        rows = session.execute(
            select(Message.direction, Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.public_id == public_id)
            .order_by(Message.id)
        ).all()
    said = [i for i, row in enumerate(rows) if row.direction == "in" and row.text == text]
    assert said, f"{text} was not stored"
    return [row.text for row in rows[said[-1] + 1 :] if row.direction == "out"]


def _frame(ws: Any, check: Any, limit: int = 200) -> dict[str, Any]:
    for _ in range(limit):
        frame = json.loads(ws.recv(timeout=30))
        if check(frame):
            return dict(frame)
    raise AssertionError("frame not received")
