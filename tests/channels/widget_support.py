"""What the widget's tests share: an in-memory hub that stores what it is sent and answers
like a tiny bot (each test module gives it its own answers), and, for Chromium, the app
serving the widget with the real adapter, a live server for it, and the widget's messages."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from playwright.sync_api import Locator, Page

from channels.base import Button, ChannelMessage
from channels.web import build_router
from portal.website.pages import site_context

PORTAL = Path(__file__).resolve().parents[2] / "portal"


class RecordingHub:
    """An in-memory hub: keeps every message, numbered and timed, and gives the history a
    widget loads. Subclasses answer (`receive`) and take typing hints their own way."""

    def __init__(self) -> None:
        self.messages: list[ChannelMessage] = []
        self.received: list[ChannelMessage] = []
        self._ids = itertools.count(1)

    def store(self, message: ChannelMessage) -> ChannelMessage:
        """Keep a message, with an id and a time."""
        stored = replace(message, id=next(self._ids), created_at=datetime.now(UTC))
        self.messages.append(stored)
        return stored

    def reply(self, to: ChannelMessage, text: str, *buttons: Button) -> ChannelMessage:
        """The bot's answer to `to`, kept."""
        out = ChannelMessage(
            channel=to.channel, sender_id=to.sender_id, text=text, direction="out", author="bot",
            buttons=buttons,
        )  # fmt: skip
        return self.store(out)

    async def history(
        self, *, channel: str, sender_id: str, after_id: int | None = None
    ) -> list[ChannelMessage]:
        """The visitor's messages after `after_id`, oldest first."""
        return [
            m
            for m in self.messages
            if m.channel == channel
            and m.sender_id == sender_id
            and (after_id is None or (m.id or 0) > after_id)
        ]


def build_app(hub: RecordingHub) -> FastAPI:
    """What the portal will do: the adapter, /static, and a host page on another origin."""
    app = FastAPI()
    app.include_router(build_router(hub, site_keys=frozenset({"demo"})))
    app.mount("/static", StaticFiles(directory=PORTAL / "static"), name="static")
    templates = Jinja2Templates(directory=PORTAL / "templates")

    @app.get("/host", response_class=HTMLResponse)
    async def host(src: str, lang: str = "zh") -> str:
        # The host page is a customer's site: it knows nothing but the one script tag.
        return (
            "<!doctype html><html><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<style>button{background:red!important} div{font-size:40px}</style></head>"
            "<body><h1>某品牌官网</h1>"
            f'<script src="{src}" data-site-key="demo" data-title="在线客服" '
            f'data-color="#1677ff" data-position="right" data-lang="{lang}" async></script>'
            "</body></html>"
        )

    @app.get("/demo", response_class=HTMLResponse)
    async def demo(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "widget_demo.html", site_context("zh"))

    return app


class LiveServer:
    """Uvicorn in a background thread on one fixed port, stoppable and restartable."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def host_page(self, lang: str = "zh") -> str:
        """A page on another origin (localhost vs 127.0.0.1) embedding the widget."""
        src = f"{self.origin}/static/widget/widget.js"
        return f"http://localhost:{self.port}/host?src={src}&lang={lang}"


def messages(page: Page, direction: str | None = None) -> Locator:
    selector = "[data-testid=aftersales-message]"
    if direction:
        selector += f"[data-direction={direction}]"
    return page.locator(selector)
