"""Fixtures for end-to-end tests in any folder: the real stack (portal, Rasa server, action
server, workers) started once per session, a single app served on a free port, and Debian's
Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from portal.config import ROOT, Settings
from portal.stack import Stack, ensure_model, prepare
from tests.conftest import IN_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve the ASGI `app` under uvicorn in a thread on a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # The app's start loads the knowledge base's models: on a busy machine that alone has
    # taken over 30 s. A wait for readiness, not a timing assertion.
    deadline = time.monotonic() + 180
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _require(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{what} is missing at {path}; `make test` installs it"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for a private stack: its own SQLite file and free ports."""
    var = tmp_path_factory.mktemp("stack")
    return Settings(
        _env_file=None,
        var_dir=var,
        database_url=f"sqlite:///{var / 'portal.db'}",
        portal_port=free_port(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="e2e-rasa-token",
        bot_service_token="e2e-bot-token",
        secret_key="e2e-secret",
        kb_enabled=True,  # the bot's FAQ answers come from the portal's index
        # The harnesses play thousands of REST turns from one address (limits: tests/channels).
        rest_rate_sender_per_min=0,
        rest_rate_key_per_min=0,
        rest_rate_ip_per_min=0,
        bot_env=Path(os.environ.get("BOT_ENV", ROOT / ".venv-bot")),
    )


@pytest.fixture(scope="session")
def stack(stack_settings: Settings) -> Iterator[Stack]:
    """The three real processes, healthy; stopped at the end of the session."""
    _require(stack_settings.bot_env / "bin" / "rasa", "The bot environment")
    prepare(stack_settings, demo="minimal")
    model = ensure_model(stack_settings)
    running = Stack(stack_settings, model=model)
    running.start()
    try:
        running.wait_healthy(timeout=240)
        yield running
    finally:
        running.stop()


# Module scope, not session: while Playwright's sync API is open it keeps an event loop
# running in this thread, so tests in other modules could not start their own (asyncio.run).
# Tests isolate themselves with a new context each (cookies, storage, viewport).
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (or CHROMIUM_PATH) driven by Playwright; skipped (CI: failed) if absent."""
    _require(CHROMIUM, "Chromium")
    from playwright.sync_api import expect, sync_playwright

    # An assertion waits for what a user would wait for: a form post answered on a machine
    # that also runs the rest of the suite can take longer than Playwright's 5 s default.
    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()
