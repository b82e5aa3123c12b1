"""The Rasa server's HTTP API (trackers, models, parsing) answers only callers holding its
token; the portal, which holds it, gets through. Against the real Rasa of the e2e stack.

The token is never in a URL or on a command line (issue 18): the portal sends a JWT signed
with it in the Authorization header, and Rasa gets it from its environment through
scripts/rasa_run.py, so `ps` does not show it and a `?token=` query string opens nothing.

Rasa's REST channel (/webhooks/rest/webhook) has no token by design: the stack binds Rasa
to loopback, and only the portal's hub talks to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from portal.conversations.rasa import rasa_auth_headers
from portal.stack import Stack

pytestmark = pytest.mark.e2e

SENDER = "security-probe-0001"

# (method, path, body): the API calls that read or change the bot's state.
PROTECTED = [
    ("GET", f"/conversations/{SENDER}/tracker", None),
    ("POST", f"/conversations/{SENDER}/tracker/events", {"event": "pause"}),
    ("POST", f"/conversations/{SENDER}/messages", {"text": "你好", "sender": "user"}),
    ("POST", f"/conversations/{SENDER}/trigger_intent", {"name": "greet"}),
    ("GET", "/status", None),
    ("GET", "/domain", None),
    ("POST", "/model/parse", {"text": "洗衣机不转了"}),
    ("PUT", "/model", {"model_file": "/tmp/evil.tar.gz"}),
    ("DELETE", "/model", None),
]
# The harmless ones, tried with the token too: they must work, so the refusals above are
# about the token, not about a broken route.
READ_ONLY = [
    ("GET", f"/conversations/{SENDER}/tracker"),
    ("GET", "/status"),
    ("GET", "/domain"),
]


@pytest.fixture(scope="module")
def rasa(stack: Stack) -> Iterator[httpx.Client]:
    """A plain HTTP client of the running Rasa server."""
    with httpx.Client(base_url=stack.settings.rasa_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=[p[1] for p in PROTECTED])
@pytest.mark.parametrize("credentials", ["none", "wrong", "query"])
def test_calls_without_the_token_are_refused(
    rasa: httpx.Client, stack: Stack, method: str, path: str, body: object, credentials: str
) -> None:
    params = {"token": stack.settings.rasa_token} if credentials == "query" else None
    headers = rasa_auth_headers("not-the-token") if credentials == "wrong" else None
    response = rasa.request(method, path, json=body, params=params, headers=headers)
    assert response.status_code in (401, 403), (response.status_code, response.text[:200])


@pytest.mark.parametrize(("method", "path"), READ_ONLY, ids=[p[1] for p in READ_ONLY])
def test_the_token_opens_them(rasa: httpx.Client, stack: Stack, method: str, path: str) -> None:
    response = rasa.request(
        method,
        path,
        # /domain answers JSON or YAML, as asked
        headers={"Accept": "application/json", **rasa_auth_headers(stack.settings.rasa_token)},
    )
    assert response.status_code == 200, response.text[:200]


def test_parsing_with_the_token_reaches_the_model(rasa: httpx.Client, stack: Stack) -> None:
    response = rasa.post(
        "/model/parse",
        json={"text": "洗衣机不转了"},
        headers=rasa_auth_headers(stack.settings.rasa_token),
    )
    assert response.status_code == 200, response.text[:200]
    assert response.json()["intent"]["name"]


def test_the_portal_holds_the_token(stack: Stack) -> None:
    response = httpx.get(f"{stack.portal_url}/readyz", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["rasa"]["status"] == "up"


def test_no_secret_is_on_a_command_line(stack: Stack) -> None:
    secrets = [stack.settings.rasa_token, stack.settings.bot_service_token]
    secrets.append(stack.settings.secret_key)
    for process in stack.processes:
        assert process.popen is not None
        cmdline = Path(f"/proc/{process.popen.pid}/cmdline").read_bytes().decode(errors="replace")
        assert not [s for s in secrets if s in cmdline], process.name
    rasa = next(p for p in stack.processes if p.name == "rasa")
    assert rasa.popen is not None
    environ = Path(f"/proc/{rasa.popen.pid}/environ").read_bytes().split(b"\0")
    # The bot's processes get only what they need: not the portal's session key.
    assert not [e for e in environ if e.startswith(b"SECRET_KEY=")]
