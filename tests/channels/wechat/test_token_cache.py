"""The access token: one shared copy for every worker, refreshed by one caller at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from channels.wechat import MemoryTokenCache, WeChatApi
from portal.database import Database, utcnow
from portal.wechat.models import WeChatAccessToken
from portal.wechat.service import DatabaseTokenCache
from tests.channels.wechat.fake_api import FakeWeChatApi
from tests.channels.wechat.support import APP_ID, OPENID, SECRET

CALLERS = 50


@pytest.fixture
def slow_token_api() -> Iterator[FakeWeChatApi]:
    """WeChat taking 0.3 s to issue a token, so that concurrent callers overlap."""
    with FakeWeChatApi(app_id=APP_ID, secret=SECRET, token_delay_s=0.3).running() as fake:
        fake.interacted(OPENID)  # the follower just wrote: customer-service messages may go
        yield fake


def worker_client(db: Database, fake: FakeWeChatApi, *, secret: str = SECRET) -> WeChatApi:
    """What one worker process builds: its own client, its own cache object, one database."""
    return WeChatApi(
        APP_ID,
        secret,
        api_base_url=fake.base_url,
        tokens=DatabaseTokenCache(db, lease_s=5.0, poll_s=0.02),
        timeout=10,
    )


def run_together(count: int, work: object) -> list[object]:
    barrier = threading.Barrier(count)

    def start(i: int) -> object:
        barrier.wait()
        return work(i)  # type: ignore[operator]

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def token_row(db: Database) -> WeChatAccessToken:
    with db.session() as session:
        return session.scalars(select(WeChatAccessToken)).one()


def test_fifty_concurrent_callers_cause_one_refresh(
    db: Database, slow_token_api: FakeWeChatApi
) -> None:
    clients = [worker_client(db, slow_token_api) for _ in range(CALLERS)]

    def send(i: int) -> object:
        return clients[i].message.send_text(OPENID, f"消息{i}")

    results = run_together(CALLERS, send)
    assert slow_token_api.token_calls == 1
    assert all(r["errcode"] == 0 for r in results)  # type: ignore[index]
    assert len(slow_token_api.sent) == CALLERS
    row = token_row(db)
    assert (row.access_token, row.refresh_count) == ("ACCESS_TOKEN_001", 1)
    assert row.lease_until is None and row.lease_holder == ""


def test_a_token_refused_by_wechat_is_refreshed_once_for_everyone(
    db: Database, slow_token_api: FakeWeChatApi
) -> None:
    clients = [worker_client(db, slow_token_api) for _ in range(CALLERS)]
    clients[0].message.send_text(OPENID, "预热")
    slow_token_api.invalidate_token()  # every caller's next request gets 40001
    run_together(CALLERS, lambda i: clients[i].message.send_text(OPENID, f"重试{i}"))
    assert slow_token_api.token_calls == 2
    assert len(slow_token_api.sent) == CALLERS + 1
    assert token_row(db).access_token == "ACCESS_TOKEN_002"


def test_a_claim_left_by_a_dead_worker_expires(db: Database, slow_token_api: FakeWeChatApi) -> None:
    with db.session() as session:
        session.add(
            WeChatAccessToken(
                app_id=APP_ID,
                access_token="",
                lease_holder="dead-worker",
                lease_until=utcnow() + timedelta(seconds=1),
                refresh_count=0,
            )
        )
    client = worker_client(db, slow_token_api)
    assert client.access_token == "ACCESS_TOKEN_001"
    assert slow_token_api.token_calls == 1
    assert token_row(db).lease_holder == ""


def test_an_expiring_token_is_refreshed_ahead_of_time(
    db: Database, slow_token_api: FakeWeChatApi
) -> None:
    client = worker_client(db, slow_token_api)
    first = client.access_token
    assert client.access_token == first and slow_token_api.token_calls == 1  # cached
    with db.session() as session:
        row = session.scalars(select(WeChatAccessToken)).one()
        row.expires_at = utcnow() + timedelta(seconds=60)  # inside the refresh margin
    assert client.access_token == "ACCESS_TOKEN_002"


def test_a_failed_refresh_releases_the_claim(db: Database, slow_token_api: FakeWeChatApi) -> None:
    client = worker_client(db, slow_token_api, secret="wrong-secret")
    with pytest.raises(WeChatClientException) as refused:
        client.message.send_text(OPENID, "x")
    assert refused.value.errcode == 40125
    row = token_row(db)
    assert row.lease_until is None and row.access_token == ""
    # The next caller (right secret) does not have to wait for a lease to run out.
    assert worker_client(db, slow_token_api).access_token == "ACCESS_TOKEN_001"


def test_the_in_process_cache_also_refreshes_once(slow_token_api: FakeWeChatApi) -> None:
    cache = MemoryTokenCache()
    clients = [
        WeChatApi(APP_ID, SECRET, api_base_url=slow_token_api.base_url, tokens=cache)
        for _ in range(CALLERS)
    ]
    run_together(CALLERS, lambda i: clients[i].access_token)
    assert slow_token_api.token_calls == 1
