"""WeChat official account channel: the callback, translated to ChannelMessage.

`build_router(hub, config=..., deliver_later=...)` mounts `/channels/wechat`;
`WeChatApi` is wechatpy's API client with a shared token cache and a configurable base URL.
"""

from channels.wechat.adapter import WeChatConfig, build_router
from channels.wechat.client import MemoryTokenCache, TokenCache, WeChatApi
from channels.wechat.wire import CHANNEL, Menu, MenuInvalid, MenuItem, default_menu

__all__ = [
    "CHANNEL",
    "Menu",
    "MenuInvalid",
    "MenuItem",
    "MemoryTokenCache",
    "TokenCache",
    "WeChatApi",
    "WeChatConfig",
    "build_router",
    "default_menu",
]
