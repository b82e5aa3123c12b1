"""The client's address behind trusted proxies: what rate limits count per client.

A proxy in TRUSTED_PROXIES appends the address it saw to X-Forwarded-For; walking that list
from the right, the first address that is not a trusted proxy is the client. Without a
trusted proxy in front, the connecting address is the client and the header is ignored
(anyone can write it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.0.0.1, 192.168.0.0/16` as networks; ValueError names a malformed entry."""
    out = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {item!r}") from exc
    return tuple(out)


def _trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy, then the right-most
    X-Forwarded-For entry that is not one."""
    if not proxies or not _trusted(peer, proxies) or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def request_address(request: HTTPConnection, proxies: tuple[Network, ...]) -> str:
    """The client's address of a request or socket (see `client_address`)."""
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.get("x-forwarded-for"), proxies)
