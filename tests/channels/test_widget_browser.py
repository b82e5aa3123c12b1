"""The embeddable widget in headless Chromium, against the real adapter and an in-memory hub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from channels.base import Button, ChannelMessage
from knowledge_base import load_dir
from tests.channels.widget_support import PORTAL, LiveServer, RecordingHub, build_app, messages
from tests.page_support import broken_images_reported

pytestmark = pytest.mark.e2e

XSS = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>"]
SHOTS = Path("/tmp/shots")
FAQ = {e.id: e for e in load_dir(PORTAL.parent / "knowledge_base" / "faq").entries}
WARRANTY = FAQ["warranty-period-overview"].answer
# An FAQ answer written to run script on the page that embeds the widget.
HOSTILE_ANSWER = (
    '**注意** <script>window.__xss=1</script>\n- <img src=x onerror="window.__xss=2">\n'
    '- [点我](javascript:window.__xss=3)\n- <a href="#" onclick="window.__xss=4">链接</a>'
)


class FakeHub(RecordingHub):
    """An in-memory hub whose bot greets with two quick replies and echoes everything else."""

    def __init__(self) -> None:
        super().__init__()
        self.typing: list[bool] = []

    async def receive(self, message: ChannelMessage) -> list[ChannelMessage]:
        self.received.append(message)
        self.store(message)
        said = message.extra.get("payload", message.text)
        if said == "请稍等":
            await asyncio.sleep(1.0)  # long enough to see the typing indicator
        if said == "你好":
            return [
                self.reply(
                    message,
                    "您好，我是禾川家电智能客服，请问需要什么帮助？",
                    Button("查询保修", "/ask_warranty"),
                    Button("预约报修", "/report_fault"),
                )
            ]
        if said == "/ask_warranty":
            return [self.reply(message, "空调整机保修 6 年，压缩机保修 10 年。")]
        if said == "保修期多久":
            return [self.reply(message, WARRANTY)]
        if said == "坏答案":
            return [self.reply(message, HOSTILE_ANSWER)]
        if said == "评价":
            # A question with buttons, then a ticket notice that happens to arrive after it.
            notice = ChannelMessage(
                channel="web", sender_id=message.sender_id, text="您的工单已完工",
                direction="out", author="system",
            )  # fmt: skip
            return [
                self.reply(message, "请为本次服务打分", Button("5 分", '/rate{"score": 5}')),
                self.store(notice),
            ]
        if said == "表格里的问题":
            # An FAQ's suggestions inside a form, then the form's own question: one turn.
            return [
                self.reply(message, "您想问的是下面哪个问题？", Button("保修期多久", "/ask_faq"),
                           Button("上门费多少", "/ask_faq")),
                self.reply(message, "请问是哪种家电出了问题？", Button("洗衣机", "/inform"),
                           Button("空调", "/inform")),
            ]  # fmt: skip
        return [self.reply(message, f"您说：{message.text}")]

    async def customer_typing(self, *, channel: str, sender_id: str, on: bool) -> None:
        self.typing.append(on)


@pytest.fixture
def hub() -> FakeHub:
    return FakeHub()


@pytest.fixture
def server(hub: FakeHub) -> Iterator[LiveServer]:
    live = LiveServer(build_app(hub))
    live.start()
    yield live
    live.stop()


def send(page: Page, text: str) -> None:
    page.locator("[data-testid=aftersales-input]").fill(text)
    page.locator("[data-testid=aftersales-send]").click()


def test_chat_quick_reply_and_reload(page: Page, server: LiveServer, hub: FakeHub) -> None:
    page.goto(server.host_page())
    page.locator("[data-testid=aftersales-launcher]").click()
    send(page, "你好")

    expect(messages(page, "in")).to_have_text(["你好"])
    expect(messages(page, "out")).to_contain_text(
        ["您好，我是禾川家电智能客服，请问需要什么帮助？"]
    )
    chips = page.locator("[data-testid=aftersales-quick-reply]")
    expect(chips).to_have_text(["查询保修", "预约报修"])

    chips.first.click()
    expect(messages(page, "in")).to_have_text(["你好", "查询保修"])
    expect(messages(page, "out").last).to_contain_text("空调整机保修 6 年，压缩机保修 10 年。")
    expect(chips).to_have_count(0)  # answered: the old quick replies are gone
    assert hub.received[-1].text == "查询保修"
    assert hub.received[-1].extra["payload"] == "/ask_warranty"

    page.reload()
    # The open state and the whole conversation come back, in order.
    expect(messages(page)).to_have_count(4)
    expect(page.locator("[data-testid=aftersales-input]")).to_be_visible()
    texts = messages(page).all_inner_texts()
    assert texts[0] == "你好" and texts[2] == "查询保修"
    senders = {m.sender_id for m in hub.received}
    assert len(senders) == 1  # the same visitor id after the reload

    page.locator("[data-testid=aftersales-launcher]").click()
    expect(page.locator("[data-testid=aftersales-panel]")).to_be_hidden()
    page.reload()
    expect(page.locator("[data-testid=aftersales-launcher]")).to_be_visible()
    # The returning visitor's socket brings the history, the widget's last start-up step;
    # once it is in, the panel is still closed.
    expect(page.locator(".as-status")).to_have_attribute("data-state", "online")
    expect(page.locator("[data-testid=aftersales-panel]")).to_be_hidden()


def test_a_system_notice_keeps_the_open_question_s_buttons(page: Page, server: LiveServer) -> None:
    page.goto(server.host_page())
    page.locator("[data-testid=aftersales-launcher]").click()
    send(page, "评价")
    expect(messages(page, "out").last).to_contain_text("您的工单已完工")
    chips = page.locator("[data-testid=aftersales-quick-reply]")
    expect(chips).to_have_text(["5 分"])
    send(page, "谢谢")
    expect(chips).to_have_count(0)  # the customer's own message answers the question


def test_messages_are_text_never_html(page: Page, server: LiveServer) -> None:
    page.goto(server.host_page())
    page.evaluate("window.AfterSalesWidget.open()")
    for attack in XSS:
        send(page, attack)
        expect(messages(page, "out").last).to_contain_text(f"您说：{attack}")

    expect(messages(page)).to_have_text([XSS[0], f"您说：{XSS[0]}", XSS[1], f"您说：{XSS[1]}"])
    assert page.locator("[data-testid=aftersales-message] img").count() == 0
    assert page.locator("[data-testid=aftersales-message] script").count() == 0
    page.reload()
    expect(messages(page)).to_have_count(4)
    assert page.locator("[data-testid=aftersales-message] img").count() == 0
    broken_images_reported(page)  # an <img src=x onerror> the history made has fired by now
    assert page.evaluate("window.__xss") is None


def test_typing_indicator_and_host_api(page: Page, server: LiveServer) -> None:
    page.goto(server.host_page(lang="en"))
    page.evaluate("window.AfterSalesWidget.open()")
    expect(page.locator("[data-testid=aftersales-input]")).to_have_attribute(
        "placeholder", "Type your question…"
    )
    expect(messages(page)).to_have_count(0)
    # The history frame arrives before we send.
    expect(page.locator(".as-status")).to_have_attribute("data-state", "online")
    page.evaluate("window.AfterSalesWidget.send('请稍等')")
    typing = page.locator("[data-testid=aftersales-typing]")
    expect(typing).to_be_visible()
    expect(messages(page, "out")).to_have_count(1)
    expect(typing).to_be_hidden()
    page.evaluate("window.AfterSalesWidget.close()")
    expect(page.locator("[data-testid=aftersales-panel]")).to_be_hidden()


def wait_until(check: object, what: str) -> None:
    """Poll a condition the page's socket makes true in the server's thread."""
    deadline = time.monotonic() + 15
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_visitors_typing_is_reported_throttled(
    page: Page, server: LiveServer, hub: FakeHub
) -> None:
    page.goto(server.host_page())
    page.locator("[data-testid=aftersales-launcher]").click()
    expect(page.locator(".as-status")).to_have_attribute("data-state", "online")
    page.locator("[data-testid=aftersales-input]").press_sequentially("my washer leaks", delay=15)
    wait_until(lambda: hub.typing, "the typing frame")
    # Fifteen keystrokes, one "on": the widget does not send a frame per key.
    assert hub.typing == [True]
    page.locator("[data-testid=aftersales-send]").click()
    expect(messages(page, "out")).to_have_count(1)
    wait_until(lambda: len(hub.typing) == 2, "typing off")
    assert hub.typing == [True, False]
    assert [m.text for m in hub.received] == ["my washer leaks"]


def test_reconnects_and_catches_up(page: Page, server: LiveServer, hub: FakeHub) -> None:
    page.goto(server.host_page())
    page.locator("[data-testid=aftersales-launcher]").click()
    send(page, "你好")
    expect(messages(page, "out")).to_have_count(1)
    visitor = hub.received[0].sender_id

    server.stop()
    expect(page.locator(".as-status")).to_be_visible()
    # Written while the widget was away: an agent's answer, and a message typed offline.
    hub.store(
        ChannelMessage(
            channel="web", sender_id=visitor, text="人工客服已接入", direction="out", author="agent"
        )
    )
    send(page, "断线时发的")
    server.start()

    expect(messages(page, "out").filter(has_text="人工客服已接入")).to_have_count(1)
    expect(messages(page, "out").last).to_contain_text("您说：断线时发的")
    expect(page.locator(".as-status")).to_be_hidden()
    assert [m.text for m in hub.received] == ["你好", "断线时发的"]


def test_demo_page_embeds_the_widget(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.origin}/demo")
    expect(page.locator("a[href='/login']")).to_have_text("工作人员登录")
    expect(page).to_have_title("禾川家电 · 服务与支持")
    expect(page.locator("footer")).to_contain_text("禾川家电")
    warranty = page.locator("[data-testid=demo-warranty]")
    warranty.locator("summary").click()
    expect(warranty.locator("tbody tr")).to_have_count(6)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / "demo_page_warranty_1280.png")
    page.locator("[data-testid=aftersales-launcher]").click()
    send(page, "你好")
    expect(page.locator("[data-testid=aftersales-quick-reply]")).to_have_count(2)
    expect(messages(page, "out")).to_contain_text(["禾川家电智能客服"])
    page.screenshot(path="/tmp/widget_desktop.png")


def test_every_question_of_a_turn_keeps_its_buttons(page: Page, server: LiveServer) -> None:
    """The form's buttons used to replace the FAQ's suggestions sent in the same turn."""
    page.goto(f"{server.origin}/demo")
    page.locator("[data-testid=aftersales-launcher]").click()
    send(page, "表格里的问题")
    chips = page.locator("[data-testid=aftersales-quick-reply]")
    expect(chips).to_have_text(["保修期多久", "上门费多少", "洗衣机", "空调"])
    send(page, "随便说点")  # the customer answers: the old choices go
    expect(chips).to_have_count(0)


def test_small_screen_fits(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(f"{server.origin}/demo")
        page.locator("[data-testid=aftersales-launcher]").click()
        send(page, "你好")
        expect(page.locator("[data-testid=aftersales-quick-reply]")).to_have_count(2)
        box = page.locator("[data-testid=aftersales-panel]").bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= 375 and box["y"] + box["height"] <= 667
        assert box["width"] >= 370  # full screen, not a tiny box
        send_box = page.locator("[data-testid=aftersales-send]").bounding_box()
        assert send_box is not None and send_box["x"] + send_box["width"] <= 375
        assert send_box["y"] + send_box["height"] <= 667
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path="/tmp/widget_mobile.png")
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_an_faq_answer_shows_bold_words_and_a_table(
    browser: Browser, server: LiveServer, width: int
) -> None:
    phone = width < 500
    context = browser.new_context(
        viewport={"width": width, "height": 844 if phone else 800},
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{server.origin}/demo")
        page.locator("[data-testid=aftersales-launcher]").click()
        typed = "**保修** <b>多久</b>"
        send(page, typed)
        # What the customer typed is theirs, character for character.
        expect(messages(page, "in")).to_have_text([typed])
        assert messages(page, "in").locator("b, strong").count() == 0

        send(page, "保修期多久")
        answer = messages(page, "out").last
        expect(answer.locator("strong")).to_have_text(
            ["购买发票（或电子凭证）日期", "免上门费、工时费和配件费"]
        )
        expect(answer.locator("th")).to_have_text(["产品", "整机", "主要部件"])
        rows = answer.locator("table tbody tr")
        expect(rows).to_have_count(6)
        expect(rows.nth(1).locator("td")).to_have_text(["空调", "6 年", "压缩机 10 年"])
        shown = answer.inner_text()
        assert "**" not in shown and "---" not in shown and "|" not in shown

        # Nothing sticks out: the table stays inside its bubble, the bubble inside the panel.
        panel = page.locator("[data-testid=aftersales-panel]").bounding_box()
        bubble = answer.locator(".as-bubble").bounding_box()
        table = answer.locator(".as-table").bounding_box()
        assert panel is not None and bubble is not None and table is not None
        assert table["x"] + table["width"] <= bubble["x"] + bubble["width"] + 0.5
        assert bubble["x"] + bubble["width"] <= panel["x"] + panel["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        answer.locator("table").scroll_into_view_if_needed()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SHOTS / f"widget_faq_answer_{width}.png")
    finally:
        context.close()
    assert errors == [], errors


def test_a_hostile_faq_answer_runs_nothing_on_the_host_page(page: Page, server: LiveServer) -> None:
    page.goto(server.host_page())
    page.evaluate("window.AfterSalesWidget.open()")
    send(page, "坏答案")
    answer = messages(page, "out").last
    expect(answer.locator("strong")).to_have_text(["注意"])
    expect(answer.locator("li")).to_have_count(3)
    expect(answer).to_contain_text("<script>window.__xss=1</script>")
    expect(answer).to_contain_text('<img src=x onerror="window.__xss=2">')
    expect(answer).to_contain_text("[点我](javascript:window.__xss=3)")
    assert answer.locator("script, img, a, [onclick], [onerror]").count() == 0
    answer.locator("li").last.click()
    page.reload()
    expect(messages(page, "out").last.locator("strong")).to_have_text(["注意"])
    broken_images_reported(page)  # the answer's <img src=x onerror>, had it been made, has fired
    assert page.evaluate("window.__xss") is None
