"""The widget on an English page, in headless Chromium: it tells the portal the page's
language (its tag's data-lang, else the page's <html lang>), so the bot's greeting, the
first thing the visitor reads, is in the page's language and not in Chinese."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.responses import HTMLResponse
from playwright.sync_api import Page, expect

from channels.base import ChannelMessage
from tests.channels.test_widget_browser import FakeHub
from tests.channels.widget_support import LiveServer, build_app, messages

pytestmark = pytest.mark.e2e

GREETINGS = {"en": "Hello! How can we help?", "zh": "您好！请问有什么可以帮您？"}


class GreetingHub(FakeHub):
    """FakeHub whose bot greets an opened chat in the page's language (Chinese if none)."""

    def __init__(self) -> None:
        super().__init__()
        self.greeted: list[str | None] = []

    async def greet(
        self, *, channel: str, sender_id: str, lang: str | None = None
    ) -> list[ChannelMessage]:
        self.greeted.append(lang)
        if any(m.sender_id == sender_id for m in self.messages):
            return []
        opened = ChannelMessage(channel=channel, sender_id=sender_id)
        return [self.reply(opened, GREETINGS[lang or "zh"])]


@pytest.fixture
def hub() -> GreetingHub:
    return GreetingHub()


@pytest.fixture
def server(hub: GreetingHub) -> Iterator[LiveServer]:
    app = build_app(hub)

    @app.get("/page", response_class=HTMLResponse)
    async def page(src: str, html_lang: str) -> str:
        # A site whose tag has no data-lang: only the page's own <html lang> tells.
        return (
            f'<!doctype html><html lang="{html_lang}"><head><meta charset=utf-8></head>'
            f'<body><h1>Support</h1><script src="{src}" data-site-key="demo" async></script>'
            "</body></html>"
        )

    live = LiveServer(app)
    live.start()
    yield live
    live.stop()


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.locator("[data-testid=aftersales-launcher]").click()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_greeting_is_in_the_language_of_the_tag(
    page: Page, server: LiveServer, hub: GreetingHub, lang: str
) -> None:
    open_chat(page, server.host_page(lang))
    expect(messages(page, "out")).to_have_text([GREETINGS[lang]])
    assert hub.greeted == [lang]


@pytest.mark.parametrize("html_lang, lang", [("en-US", "en"), ("zh-CN", "zh"), ("fr", None)])
def test_without_data_lang_the_page_language_is_read_from_html_lang(
    page: Page, server: LiveServer, hub: GreetingHub, html_lang: str, lang: str | None
) -> None:
    src = f"{server.origin}/static/widget/widget.js"
    open_chat(page, f"http://localhost:{server.port}/page?src={src}&html_lang={html_lang}")
    expect(messages(page, "out")).to_have_text([GREETINGS[lang or "zh"]])
    assert hub.greeted == [lang]
    # The widget's own words follow the page too.
    placeholder = "Type your question…" if lang == "en" else "请输入您的问题…"
    expect(page.locator("[data-testid=aftersales-input]")).to_have_attribute(
        "placeholder", placeholder
    )


def test_a_message_carries_the_page_language(
    page: Page, server: LiveServer, hub: GreetingHub
) -> None:
    open_chat(page, server.host_page("en"))
    page.locator("[data-testid=aftersales-input]").fill("ok")
    page.locator("[data-testid=aftersales-send]").click()
    expect(messages(page, "out")).to_have_count(2)
    assert [m.extra.get("lang") for m in hub.received] == ["en"]
