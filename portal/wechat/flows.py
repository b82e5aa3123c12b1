"""The WeChat channel put together: the callback adapter (channels/wechat) in front of the
desk (`desk`: what the portal decides itself, binding and the location offer in `binding`
and `places`), sending through the outbox (`push`), with the menu and the nonce memory.

`mount` is called by the app factory; `WeChatChannel` (on `app.state.wechat`) holds the
parts, and its `outbox` loop is started and stopped with the app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from channels.base import Hub
from channels.wechat import Menu, WeChatApi, WeChatConfig, build_router, default_menu
from channels.wechat.wire import CHANNEL
from portal.config import Settings
from portal.database import Database
from portal.wechat.desk import WeChatDesk
from portal.wechat.push import NotDelivered, WeChatOutbox, WeChatPush, install
from portal.wechat.service import DatabaseNonces, build_api

log = logging.getLogger(__name__)

# How long past the passive window a turn's replies wait for the adapter's word.
HOLD_MARGIN_S = 2.0

__all__ = ["NotDelivered", "WeChatChannel", "build_api", "menu_for", "mount"]


@dataclass
class WeChatChannel:
    """The mounted WeChat channel's parts, kept on `app.state.wechat`."""

    config: WeChatConfig
    desk: WeChatDesk
    push: WeChatPush
    outbox: WeChatOutbox
    api: WeChatApi | None
    router: Any


def menu_for(settings: Settings) -> Menu:
    """The custom menu of these settings (WECHAT_MENU, else the built-in one), validated:
    MenuInvalid says which button the platform would refuse."""
    if settings.wechat_menu.strip():
        return Menu.parse(settings.wechat_menu, base_url=settings.public_url)
    return default_menu(settings.public_url)


def mount(
    app: FastAPI,
    *,
    settings: Settings,
    db: Database,
    hub: Hub,
    clock: Callable[[], float] | None = None,
) -> WeChatChannel | None:
    """Mount `/channels/wechat` when a callback token is configured; register the sender
    for agent messages with the hub when the hub takes senders."""
    if not settings.wechat_token:
        return None
    api = build_api(settings, db)
    push = WeChatPush(db=db, api=api, window=timedelta(hours=settings.wechat_service_window_h))
    install(db, hold=timedelta(seconds=settings.wechat_passive_reply_s + HOLD_MARGIN_S))
    desk = WeChatDesk(hub=hub, db=db, settings=settings, api=api)
    outbox = WeChatOutbox(db=db, push=push, turns=desk, settings=settings)
    options: dict[str, Any] = {"clock": clock} if clock is not None else {}
    config = WeChatConfig(
        token=settings.wechat_token,
        app_id=settings.wechat_app_id,
        aes_key=settings.wechat_aes_key,
        timestamp_window_s=settings.wechat_timestamp_window_s,
        passive_reply_s=settings.wechat_passive_reply_s,
        menu=menu_for(settings),
        **options,
    )
    nonces = None
    if not config.safe_mode:
        # Twice the window: a timestamp may be that far off either way.
        nonces = DatabaseNonces(db, keep_s=2 * settings.wechat_timestamp_window_s)
    router = build_router(
        desk,
        config=config,
        deliver_later=push.deliver_later,
        answered=push.answered,
        nonces=nonces,
    )
    app.include_router(router)
    register = getattr(hub, "register_sender", None)
    if callable(register):
        register(CHANNEL, push.send)
    register_typing = getattr(hub, "register_typing", None)
    if callable(register_typing):
        register_typing(CHANNEL, push.typing)
    channel = WeChatChannel(
        config=config, desk=desk, push=push, outbox=outbox, api=api, router=router
    )
    app.state.wechat = channel
    return channel
