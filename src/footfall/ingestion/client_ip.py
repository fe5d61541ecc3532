"""The client's IP address: the socket peer, or `X-Forwarded-For` behind trusted proxies only.

Believing `X-Forwarded-For` from anyone would let any client choose its own visitor identity,
so it is read only when the peer is a configured trusted proxy, and then from the right: the
first address (walking right to left) that is not itself a trusted proxy is the client.

An IPv4 client reaching a dual-stack socket is reported as IPv4-mapped IPv6 (`::ffff:1.2.3.4`);
the address is given in its IPv4 form (`1.2.3.4`) so that one client has one identity however
it connected, and such an address is trusted when either form is in a trusted network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from footfall.config import IPNetwork
from footfall.ingestion.addresses import Address, parse_address, unmapped


class Client(NamedTuple):
    """Who sent a request: the identity text, and the address parsed for geolocation."""

    ip: str
    """The canonical address text (IPv4-mapped given as IPv4); for a peer that is no IP
    address (a unix socket, a test client) its text as given; "" when there is no peer."""
    address: Address | None
    """`ip` parsed (its `text` is `ip`), None when `ip` is no IP address."""


_NOBODY = Client("", None)


def _in(address: Address, proxies: Sequence[IPNetwork]) -> bool:
    # `address in network` of `ipaddress`, on the integers (no address object to build).
    version, value = address.version, address.value
    return any(
        network.version == version and value & int(network.netmask) == int(network.network_address)
        for network in proxies
    )


def trusted(address: Address, proxies: Sequence[IPNetwork]) -> bool:
    """Whether `address` (in its written or its IPv4 form) is in one of the `proxies`."""
    if _in(address, proxies):
        return True
    ipv4 = unmapped(address)
    return ipv4 is not address and _in(ipv4, proxies)


def _client(address: Address) -> Client:
    address = unmapped(address)
    return Client(address.text, address)


def resolve_client(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]
) -> Client:
    """The client of a request from the socket `peer` with the `X-Forwarded-For` header
    `forwarded_for`; each address is parsed once."""
    if not peer:
        return _NOBODY
    peer_address = parse_address(peer.strip())
    if peer_address is None:
        return Client(peer, None)
    if not forwarded_for or not proxies or not trusted(peer_address, proxies):
        return _client(peer_address)  # the common case: nothing to believe but the socket
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop.strip())
        if address is None:
            break
        if not trusted(address, proxies):
            return _client(address)
    return _client(peer_address)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]) -> str:
    """The address to identify the visitor by (never stored, only hashed): `resolve_client`'s
    text."""
    return resolve_client(peer, forwarded_for, proxies).ip
