"""A WeChat follower reports a fault, in plaintext mode (signed) and then in safe mode
(signed and encrypted, as WeChat sends it), and the real bot files one ticket each time,
even though WeChat retries the message that files it.

Everything is real except WeChat itself: the portal, Rasa with the model trained from bot/,
the action server filing the ticket over the portal API. This test plays WeChat's servers
(signing and encrypting with wechatpy) and fakes WeChat's API on a local port, where the
portal sends the replies that miss the 5-second window.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from portal.config import ROOT, Settings
from portal.conversations.models import Message
from portal.database import Database
from portal.notifications.models import Notification
from portal.stack import Stack, ensure_model, prepare
from portal.tickets.models import Ticket
from portal.wechat.push import turn_key
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import (
    AES_KEY,
    APP_ID,
    SECRET,
    SUCCESS,
    TOKEN,
    WeChatServer,
    fixture,
)
from tests.conftest import IN_CI
from tests.e2e_fixtures import free_port

pytestmark = pytest.mark.e2e

PHONE = "13911112222"
FAULT = "滚筒不转了，显示E21"
NUMBER = re.compile(r"SR\d{8}-\d{4}")
MSG_ID = re.compile(r"<MsgId>(?:<!\[CDATA\[)?(\d+)")
_ids = itertools.count(24900000000000001)


@pytest.fixture(scope="module")
def wechat_api() -> Iterator[FakeWeChatApi]:
    """WeChat's API on a local port, for the whole stack's life."""
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET).running() as fake:
        yield fake


@pytest.fixture(scope="module", params=["signed", "encrypted"])
def wechat_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    wechat_api: FakeWeChatApi,
) -> Iterator[Stack]:
    """Portal, Rasa and the action server; the official account in plaintext mode (signed
    callbacks), then in safe mode (signed and encrypted)."""
    bot_env = Path(os.environ.get("BOT_ENV", ROOT / ".venv-bot"))
    if not (bot_env / "bin" / "rasa").exists():
        message = f"the bot environment is missing at {bot_env}; `make test` installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    var = tmp_path_factory.mktemp("wechat-stack")
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
        wechat_aes_key=AES_KEY if request.param == "encrypted" else "",
        wechat_app_id=APP_ID,
        wechat_app_secret=SECRET,
        wechat_api_base_url=wechat_api.base_url,
    )
    prepare(settings, demo="minimal")
    running = Stack(settings, model=ensure_model(settings))
    running.start()
    try:
        running.wait_healthy(timeout=240)
        yield running
    finally:
        running.stop()


class Follower:
    """One WeChat user chatting with the account, as WeChat delivers it to the portal."""

    def __init__(self, server: WeChatServer, api: FakeWeChatApi) -> None:
        self.server = server
        self.api = api
        self.heard: list[str] = []

    def message(self, text: str) -> str:
        return fixture("text.xml", Content=text, MsgId=str(next(_ids)))

    def send(self, xml: str) -> str | None:
        """Deliver one message; what the account answered, passively or a little later."""
        before = len(self.api.sent)
        response = self.server.post(xml)
        reply = self.server.reply(response)
        if reply is not None:
            text = str(reply["Content"])
        else:
            self.api.wait_for_sent(before + 1, timeout=60)
            text = self.api.texts()[-1]
        self.heard.append(text)
        return text

    def say(self, text: str) -> str:
        answer = self.send(self.message(text))
        assert answer is not None
        return answer


def taken_up(db: Database, xml: str) -> bool:
    """Whether the portal has marked the turn on this message (it is at work on it)."""
    found = MSG_ID.search(xml)
    assert found is not None, xml
    with db.session() as session:
        mark = session.scalars(
            select(Notification.id).where(Notification.idempotency_key == turn_key(found[1]))
        ).first()
    return mark is not None


def deliver_with_retry(
    follower: Follower, server: WeChatServer, xml: str, db: Database
) -> tuple[str, httpx.Response]:
    """Send a message and, while the portal works on it, WeChat's retry of it; the answer
    (there must be exactly one) and the retry's response."""
    api = follower.api
    before = len(api.sent)
    responses: dict[str, httpx.Response] = {}
    worker = threading.Thread(target=lambda: responses.update(first=server.post(xml)))
    worker.start()
    # The retry once the portal has taken the message up (its turn marked), not a while later.
    deadline = time.monotonic() + 60
    while not taken_up(db, xml):
        assert time.monotonic() < deadline, "the portal never took the message up"
        assert worker.is_alive() or "first" in responses, "the first delivery died"
        time.sleep(0.02)
    responses["retry"] = server.post(xml)
    worker.join(timeout=90)
    passive = [server.reply(r) for r in responses.values()]
    texts = [str(reply["Content"]) for reply in passive if reply is not None]
    assert len(texts) <= 1, texts  # one bot turn, so one answer at most
    if not texts:  # the turn outlasted the passive window: the answer came through the API
        api.wait_for_sent(before + 1, timeout=60)
        texts = [api.texts()[-1]]
    follower.heard.extend(texts)
    return texts[0], responses["retry"]


def test_fault_report_files_one_ticket_despite_retries(
    wechat_stack: Stack, wechat_api: FakeWeChatApi
) -> None:
    db = Database(wechat_stack.settings.effective_database_url)
    try:
        _report_and_check(wechat_stack, wechat_api, db)
    finally:
        db.dispose()


def _report_and_check(wechat_stack: Stack, wechat_api: FakeWeChatApi, db: Database) -> None:
    with httpx.Client(base_url=wechat_stack.portal_url, timeout=30) as http:
        server = WeChatServer(http, aes_key=wechat_stack.settings.wechat_aes_key, api=wechat_api)
        follower = Follower(server, wechat_api)
        follower.say("你好")
        last = follower.say("我的洗衣机坏了")
        phone_xml = None
        for _ in range(10):
            if NUMBER.search(" ".join(follower.heard)):
                break
            if "手机" in last or "电话" in last:
                phone_xml = follower.message(PHONE)
                # WeChat delivers the message that files the ticket, and retries it while
                # the first delivery is still being worked on.
                last, retry = deliver_with_retry(follower, server, phone_xml, db)
                assert retry.status_code == 200
            elif "产品" in last or "电器" in last or "哪" in last:
                last = follower.say("洗衣机")
            elif "故障" in last or "问题" in last or "情况" in last or "描述" in last:
                last = follower.say(FAULT)
            elif "确认" in last or "对吗" in last or "是否" in last or "吗" in last:
                last = follower.say("对的")
            elif "地址" in last:
                last = follower.say("上海市浦东新区张江路88号3栋1201室")
            elif "时间" in last:
                last = follower.say("明天下午")
            else:
                raise AssertionError(f"unexpected bot question: {last}")
        found = NUMBER.search(" ".join(follower.heard))
        assert found, follower.heard
        assert phone_xml is not None, "the bot never asked for the phone"
        sent_before = len(wechat_api.sent)
        # Two more late retries of the same message: answered `success`, nothing new.
        assert server.post(phone_xml).text == SUCCESS
        assert server.post(phone_xml).text == SUCCESS

    with db.session() as session:
        [ticket] = session.scalars(select(Ticket).where(Ticket.phone == PHONE)).all()
        assert ticket.number == found.group(0)
        assert (ticket.channel, ticket.product) == ("wechat", "洗衣机")
        assert [e.action for e in ticket.events] == ["create"]
        stored_phone = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "in", Message.text == PHONE)
        )
        assert stored_phone == 1
    assert len(wechat_api.sent) == sent_before
