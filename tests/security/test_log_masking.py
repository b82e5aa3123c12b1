"""Issue 18, finding 6: secrets and personal data out of the logs. Rasa's token never travels
in a URL (so httpx's request log cannot print it); access lines carry no query string; one
filter on every handler masks phones, codes, tokens, visitor ids and openids."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from portal.config import Settings
from portal.conversations.rasa import RasaClient, verify_rasa_jwt
from portal.observability.logs import configure_logging
from portal.observability.masking import Masker, MaskingFilter, mask_phone
from portal.stack import NGINX_CONF, Stack

TOKEN = "rasa-token-that-must-not-leak-71c9"
OPENID = "oQ9Xx5ZkFp3v2yN1aT8cRw6bLm0E"
VISITOR = "v" + "3f9a" * 8


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("customer 13800138000 called", "customer 138****8000 called"),
        ("phone=138-0013-8000", "phone=138****8000"),
        ("一位客户 13912345678。", "一位客户 139****5678。"),
        ("order 202612070001234 and SR20261207-0001", "order 202612070001234 and SR20261207-0001"),
        (f"wechat message to {OPENID} failed", "wechat message to oQ9X**** failed"),
        (f"hub failed on a frame from {VISITOR}", "hub failed on a frame from v3f9****"),
        ("GET /x?token=abc123def&visitor_id=v1 200", "GET /x?token=****&visitor_id=**** 200"),
        (
            "POST https://api.weixin.qq.com/cgi-bin/x?access_token=ACCESS-9z",
            "POST https://api.weixin.qq.com/cgi-bin/x?access_token=****",
        ),
        ('{"secret": "s3cr3t-value", "code": "123456"}', '{"secret": "****", "code": "****"}'),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer ****"),
        ("您的验证码是 482913，5分钟内有效", "您的验证码是 ****，5分钟内有效"),
        ("one-time code 482913 sent", "one-time code **** sent"),
        ("wechat errcode=40001 errmsg", "wechat errcode=40001 errmsg"),
        (f"the configured token {TOKEN} leaked", "the configured token **** leaked"),
    ],
)
def test_the_masker(raw: str, masked: str) -> None:
    assert Masker([TOKEN])(raw) == masked


def test_demo_mode_keeps_the_code_but_not_the_phone() -> None:
    line = "demo mode: one-time code for 13912345678 is 482913"
    assert Masker(reveal_codes=True)(line) == "demo mode: one-time code for 139****5678 is 482913"
    assert mask_phone("13912345678") == "139****5678"


@pytest.fixture
def strict_logging(tmp_path: Path) -> Iterator[io.StringIO]:
    """The portal's logging outside demo mode, with our handler writing to a buffer."""
    settings = Settings(_env_file=None, var_dir=tmp_path, rasa_token=TOKEN, demo_mode=False)
    configure_logging(settings)
    (ours,) = [h for h in logging.getLogger().handlers if getattr(h, "_portal_observability", 0)]
    assert isinstance(ours, logging.StreamHandler)
    buffer = io.StringIO()
    old = ours.setStream(buffer)
    yield buffer
    ours.setStream(old)


def test_every_handler_masks(strict_logging: io.StringIO) -> None:
    extra = logging.StreamHandler(io.StringIO())
    logging.getLogger("uvicorn.access").addHandler(extra)
    try:
        configure_logging(Settings(_env_file=None, rasa_token=TOKEN, demo_mode=False))
        loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
        handlers = [h for lg in loggers for h in lg.handlers]
        assert extra in handlers
        for handler in handlers:
            assert any(isinstance(f, MaskingFilter) for f in handler.filters), handler
        # uvicorn's own access line: the query string (visitor id, openid, signature) is gone.
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/channels/web/history?visitor_id={VISITOR}&after_id=3",
            "1.1",
            200,
        )
        written = extra.stream.getvalue()  # type: ignore[attr-defined]
        assert '"GET /channels/web/history HTTP/1.1" 200' in written
        assert VISITOR not in written and "?" not in written
    finally:
        logging.getLogger("uvicorn.access").removeHandler(extra)


def test_a_log_line_is_masked_before_it_is_written(strict_logging: io.StringIO) -> None:
    log = logging.getLogger("portal.customers.service")
    log.warning("code for %s is %s; rasa token %s", "13800138000", "482913", TOKEN)
    try:
        raise RuntimeError(f"GET http://rasa/status?token={TOKEN} failed for {OPENID}")
    except RuntimeError:
        log.exception("could not reach Rasa")
    written = strict_logging.getvalue()
    assert "138****8000" in written and "13800138000" not in written
    assert "482913" not in written and TOKEN not in written and OPENID not in written


def test_the_rasa_token_is_never_in_a_url_nor_logged(
    strict_logging: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Request] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async def takeover() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as http:
            client = RasaClient(base_url="http://rasa:5005", http=http, timeout_s=5, token=TOKEN)
            return await client.append_event(sender="conv-1", event="pause")

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(takeover())
    (request,) = seen
    assert TOKEN not in str(request.url) and "token" not in request.url.params
    assert verify_rasa_jwt(request.headers["authorization"], TOKEN)
    assert TOKEN not in caplog.text and TOKEN not in strict_logging.getvalue()


def test_the_access_log_has_no_query_string(
    client: TestClient, strict_logging: io.StringIO
) -> None:
    client.get(f"/livez?visitor_id={VISITOR}&token=abc&phone=13800138000")
    (line,) = [x for x in strict_logging.getvalue().splitlines() if "GET /livez" in x]
    assert "?" not in line and VISITOR not in line and "13800138000" not in line


def test_the_portal_is_served_without_uvicorns_access_log(tmp_path: Path) -> None:
    stack = Stack(Settings(_env_file=None, var_dir=tmp_path), model=None, with_bot=False)
    (portal,) = [p for p in stack.processes if p.name == "portal"]
    assert "--no-access-log" in portal.argv


def test_the_proxys_access_log_has_no_query_string() -> None:
    # nginx's $request is the whole request line, query string included; $uri is not.
    log_format = NGINX_CONF.split("log_format", 1)[1].split(";", 1)[0]
    assert "$request " not in log_format and '$request"' not in log_format
    assert "$uri" in log_format and "$args" not in log_format
