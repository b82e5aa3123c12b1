"""wechatpy's API client against a configurable base URL, with the access token kept in a
cache shared by every worker (the portal passes one backed by its database).

WeChat invalidates the previous access token whenever a new one is fetched, and limits how
often one may be: so the token must be shared, and refreshed by one caller at a time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from channels.base import ChannelMessage
from channels.wechat.wire import Menu, reply_text

# invalid credential, invalid token, expired token: fetch a new one and try once more.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Refresh this long before the stated expiry, so no call goes out with a dying token.
REFRESH_MARGIN_S = 300

# media/get answers an error as JSON (or text) instead of the file.
ERROR_TYPES = ("application/json", "text/plain", "text/html")

# Fetches a new token from WeChat: (access_token, expires_in seconds).
Fetch = Callable[[], tuple[str, int]]


class TokenCache(Protocol):
    """Where the access token lives; `token` refreshes it at most once for many callers."""

    def token(self, app_id: str, fetch: Fetch, *, stale: str | None = None) -> str:
        """A valid token; calls `fetch` only when none is stored, it is about to expire, or
        the stored one is `stale` (WeChat just refused it)."""
        ...


class MemoryTokenCache:
    """A token cache for one process (a lock serialises refreshes); tests and tools."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._clock = clock

    def token(self, app_id: str, fetch: Fetch, *, stale: str | None = None) -> str:
        """See TokenCache.token."""
        with self._lock:
            current = self._tokens.get(app_id)
            now = self._clock()
            if current and current[0] != stale and current[1] - REFRESH_MARGIN_S > now:
                return current[0]
            token, expires_in = fetch()
            self._tokens[app_id] = (token, now + expires_in)
            return token


class MediaTooLarge(Exception):
    """A media file over the size we keep; nothing of it is stored."""


class WeChatApi(WeChatClient):  # type: ignore[misc]
    """The official account's API (wechatpy) with a shared token cache and base URL."""

    def __init__(
        self,
        app_id: str,
        secret: str,
        *,
        api_base_url: str,
        tokens: TokenCache,
        timeout: float = 5.0,
    ) -> None:
        # auto_retry off: wechatpy would refetch on every token error, endlessly and
        # without telling the other workers; `_request` retries once through the cache.
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self.tokens = tokens

    def _fetch_token(self) -> tuple[str, int]:
        response = self._http.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            raise WeChatClientException(
                None, None, client=self, request=response.request, response=response
            )
        data = response.json()
        if not isinstance(data, dict) or not data.get("access_token"):
            errcode = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
            errmsg = str(data.get("errmsg", "")) if isinstance(data, dict) else ""
            raise WeChatClientException(
                errcode, errmsg, client=self, request=response.request, response=response
            )
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    @property
    def access_token(self) -> str:
        """The shared token, refreshed through the cache when needed."""
        return self.tokens.token(self.appid, self._fetch_token)

    def fetch_access_token(self) -> dict[str, Any]:
        """Force a new token (wechatpy's name); other workers pick it up from the cache."""
        stale = self.tokens.token(self.appid, self._fetch_token)
        return {"access_token": self.tokens.token(self.appid, self._fetch_token, stale=stale)}

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        params = kwargs.setdefault("params", {})
        body = kwargs.get("data")
        try:
            return super()._request(method, url_or_endpoint, **kwargs)
        except WeChatClientException as exc:
            used = params.get("access_token") if isinstance(params, dict) else None
            if exc.errcode not in TOKEN_ERRORS or not used:
                raise
            self.tokens.token(self.appid, self._fetch_token, stale=used)
            params.pop("access_token", None)
            kwargs["data"] = body
            return super()._request(method, url_or_endpoint, **kwargs)

    def download_media(self, media_id: str, *, max_bytes: int) -> tuple[bytes, str]:
        """A temporary media file (临时素材, media/get) by its MediaId: (bytes, content type).

        Read in chunks and abandoned past `max_bytes`, so a huge file is never held whole.
        WeChat answers errors as JSON instead of the file: raised as WeChatClientException;
        a refused token is refreshed through the shared cache and the call made once more.
        """
        for attempt in (1, 2):
            token = self.access_token
            response = self._http.get(
                self.API_BASE_URL + "media/get",
                params={"access_token": token, "media_id": media_id},
                timeout=self.timeout,
                stream=True,
            )
            with response:
                if response.status_code >= 400:
                    raise WeChatClientException(
                        None, None, client=self, request=response.request, response=response
                    )
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge(f"{declared} bytes")
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > max_bytes:
                        raise MediaTooLarge(f"over {max_bytes} bytes")
            if content_type.lower() not in ERROR_TYPES:
                return bytes(data), content_type
            try:
                error = json.loads(bytes(data) or b"{}")
            except ValueError:
                error = {}
            errcode = int(error.get("errcode", -1)) if isinstance(error, dict) else -1
            errmsg = str(error.get("errmsg", "")) if isinstance(error, dict) else ""
            if errcode in TOKEN_ERRORS and attempt == 1:
                self.tokens.token(self.appid, self._fetch_token, stale=token)
                continue
            raise WeChatClientException(
                errcode, errmsg, client=self, request=response.request, response=response
            )
        raise AssertionError("unreachable")  # the loop returns or raises

    def send(self, messages: Sequence[ChannelMessage]) -> None:
        """Messages to one follower as one customer-service text (客服消息)."""
        if not messages:
            return
        text = reply_text(messages)
        if text:
            self.message.send_text(messages[0].sender_id, text)

    def typing(self, openid: str, on: bool) -> Any:
        """Show or stop "对方正在输入" in the follower's chat (客服输入状态)."""
        command = "Typing" if on else "CancelTyping"
        return self.post("message/custom/typing", data={"touser": openid, "command": command})

    def create_menu(self, menu: Menu) -> Any:
        """Publish the custom menu, validated first (MenuInvalid: nothing is sent)."""
        return self.menu.create(menu.definition())
