"""The Rasa server's HTTP API (trackers, models, parsing) answers only callers holding its
token; the portal, which holds it, gets through. Against the real Rasa of the e2e stack.

Rasa's REST channel (/webhooks/rest/webhook) has no token by design: the stack binds Rasa
to loopback, and only the portal's hub talks to it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

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
@pytest.mark.parametrize("credentials", ["none", "wrong"])
def test_calls_without_the_token_are_refused(
    rasa: httpx.Client, method: str, path: str, body: object, credentials: str
) -> None:
    params = {"token": "not-the-token"} if credentials == "wrong" else None
    response = rasa.request(method, path, json=body, params=params)
    assert response.status_code in (401, 403), (response.status_code, response.text[:200])


@pytest.mark.parametrize(("method", "path"), READ_ONLY, ids=[p[1] for p in READ_ONLY])
def test_the_token_opens_them(rasa: httpx.Client, stack: Stack, method: str, path: str) -> None:
    response = rasa.request(
        method,
        path,
        params={"token": stack.settings.rasa_token},
        headers={"Accept": "application/json"},  # /domain answers JSON or YAML, as asked
    )
    assert response.status_code == 200, response.text[:200]


def test_parsing_with_the_token_reaches_the_model(rasa: httpx.Client, stack: Stack) -> None:
    response = rasa.post(
        "/model/parse", json={"text": "洗衣机不转了"}, params={"token": stack.settings.rasa_token}
    )
    assert response.status_code == 200, response.text[:200]
    assert response.json()["intent"]["name"]


def test_the_portal_holds_the_token(stack: Stack) -> None:
    response = httpx.get(f"{stack.portal_url}/readyz", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["rasa"]["status"] == "up"
