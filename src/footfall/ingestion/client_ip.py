"""The client's IP address: the socket peer, or `X-Forwarded-For` behind trusted proxies only.

Believing `X-Forwarded-For` from anyone would let any client choose its own visitor identity,
so it is read only when the peer is a configured trusted proxy, and then from the right: the
first address (walking right to left) that is not itself a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from footfall.config import IPNetwork


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[IPNetwork]
) -> bool:
    return any(address in network for network in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]) -> str:
    """The address to identify the visitor by (never stored, only hashed)."""
    if not forwarded_for or not proxies:
        return peer or ""  # the common case: nothing to believe but the socket
    peer_address = _parse(peer) if peer else None
    if peer_address is None:
        return peer or ""
    if not _trusted(peer_address, proxies):
        return str(peer_address)
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            break
        if not _trusted(address, proxies):
            return str(address)
    return str(peer_address)
