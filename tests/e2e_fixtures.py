"""Fixtures for end-to-end tests in any folder: the real stack (portal, Rasa server, action
server, workers) started once per session, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.config import ROOT, Settings
from portal.stack import Stack, ensure_model, prepare
from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
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


# Module scope: other test modules start Playwright's sync API themselves, and two of those
# must not be alive at once in one thread.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright."""
    _require(CHROMIUM, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()
