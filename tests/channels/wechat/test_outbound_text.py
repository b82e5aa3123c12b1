"""What a WeChat follower reads: the bot's Markdown answers as plain text (WeChat shows no
HTML), list items and table rows as lines; what people typed goes out as it was typed."""

from __future__ import annotations

import json

import httpx
import pytest

from channels.base import Button, ChannelMessage
from channels.wechat.wire import reply_text
from knowledge_base import load_dir
from portal.config import ROOT
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.support import OPENID, WeChatServer, fixture

FAQ = {e.id: e for e in load_dir(ROOT / "knowledge_base" / "faq").entries}
WARRANTY = FAQ["warranty-period-overview"].answer
WARRANTY_TEXT = (
    "保修期从购买发票（或电子凭证）日期起计算：\n"
    "\n"
    "洗衣机：整机 3 年，主要部件 电机 10 年\n"
    "空调：整机 6 年，主要部件 压缩机 10 年\n"
    "冰箱：整机 3 年，主要部件 压缩机 10 年\n"
    "电热水器：整机 3 年，主要部件 内胆 8 年\n"
    "燃气热水器：整机 3 年\n"
    "油烟机 / 燃气灶 / 洗碗机：整机 1 年，主要部件 油烟机电机 5 年\n"
    "\n"
    "保修期内因产品质量问题产生的维修，免上门费、工时费和配件费。"
)


def out(text: str, author: str = "bot", *buttons: Button) -> ChannelMessage:
    return ChannelMessage(
        channel="wechat", sender_id=OPENID, text=text, direction="out", author=author,
        buttons=buttons,
    )  # fmt: skip


def test_a_bot_answer_goes_out_as_plain_lines() -> None:
    text = reply_text(
        [out(WARRANTY), out(FAQ["warranty-not-covered"].answer, "bot", Button("报修", "/r"))]
    )
    first, second = text.split("\n\n以下情况")
    assert first == WARRANTY_TEXT
    assert "**" not in text and "|" not in text
    assert second.splitlines()[1:3] == [
        "• 超过保修期；",
        "• 人为损坏、摔碰、进水（非产品原因）、被动物咬坏；",
    ]
    assert text.endswith('<a href="weixin://bizmsgmenu?msgmenucontent=报修&msgmenuid=1">报修</a>')


def test_system_notices_are_rendered_and_agents_words_are_sent_as_typed() -> None:
    assert reply_text([out("工单 **SR1** 已完工", "system")]) == "工单 SR1 已完工"
    typed = "**这个**是原样 | 不改 |\n- 也不改"
    assert reply_text([out(typed, "agent")]) == typed


class FaqRasa(FakeRasa):
    """Answers a warranty question with the FAQ's Markdown, as the bot's FAQ action does."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        """The warranty answer for 保修期多久, everything else as FakeRasa does."""
        if request.url.path == "/webhooks/rest/webhook":
            body = json.loads(request.content)
            if body["message"] == "保修期多久":
                self.received.append(body)
                reply = {"recipient_id": body["sender"], "text": WARRANTY}
                return httpx.Response(200, json=[reply])
        return super().handler(request)


@pytest.fixture
def fake_rasa() -> FakeRasa:
    """Replaces the plain echo of tests/app_fixtures for this module."""
    return FaqRasa()


def test_the_passive_reply_is_plain_text_and_the_customer_s_words_are_kept(
    wechat: WeChatServer,
) -> None:
    reply = wechat.reply(wechat.post(fixture("text.xml", Content="保修期多久")))
    assert reply is not None and reply["Content"] == WARRANTY_TEXT

    typed = "<b>洗衣机</b> **急**"
    reply = wechat.reply(wechat.post(fixture("text.xml", Content=typed, MsgId="24800457617350031")))
    # FakeRasa echoes what it got; the bot's Markdown loses its marks, the tags stay text.
    assert reply is not None and reply["Content"].startswith("收到：<b>洗衣机</b> 急\n\n请选择产品")
