"""IP addresses on the ingestion hot path: parsed once per request, judged public by a table.

`ipaddress` is exact but slow for a per-request path: `ip_address` costs a few microseconds
and `is_global` walks a list of networks. This module gives the same answers faster:

- `parse_address(text)` accepts exactly the strings `ipaddress.ip_address` accepts, and its
  `Address` holds `str(ipaddress.ip_address(text))` as `text`, the version and the integer
  value. The C `inet_pton` does the common work; anything it refuses (and every IPv6 scope id,
  `fe80::1%eth0`, which it does not know) is left to `ipaddress`, which then decides.
- `unmapped(address)`: an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket
  reports for an IPv4 client) as the IPv4 address, as `IPv6Address.ipv4_mapped` gives it.
- `is_global(address)` equals `ipaddress.ip_address(text).is_global` of the unmapped address:
  a binary search over the sorted integer ranges of the non-global space, which are derived at
  import from the standard library itself (see `_non_global_ranges`), so they follow whatever
  the running Python's `ipaddress` considers global.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from bisect import bisect_right
from itertools import pairwise
from typing import NamedTuple


class Address(NamedTuple):
    """A parsed IP address: what `ipaddress.ip_address` would give, without its cost."""

    text: str
    """`str(ipaddress.ip_address(...))`: the canonical text (with its scope id, if any)."""
    version: int
    """4 or 6."""
    value: int
    """The address as an integer, as `int(ipaddress.ip_address(...))` (no scope id)."""


_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6
_inet_pton = socket.inet_pton
_MAPPED_PREFIX = 0xFFFF  # the bits above the IPv4 part of ::ffff:0:0/96


def parse_address(text: str) -> Address | None:
    """`text` parsed as `ipaddress.ip_address(text)` would, or None where that raises.

    No whitespace is stripped (`ip_address` strips none either)."""
    if ":" in text:
        if "%" not in text:
            try:
                packed = _inet_pton(_AF_INET6, text)
            except (OSError, ValueError):  # ValueError: NUL or unencodable characters
                return _parse_slowly(text)
            value = int.from_bytes(packed, "big")
            return Address(_v6_text(value), 6, value)
        return _parse_slowly(text)
    try:
        packed = _inet_pton(_AF_INET, text)
    except (OSError, ValueError):
        return _parse_slowly(text)
    # inet_pton accepts only the dotted quad without leading zeros: the text is canonical.
    return Address(text, 4, int.from_bytes(packed, "big"))


def _parse_slowly(text: str) -> Address | None:
    """`ipaddress` decides what `inet_pton` refused or cannot read (scope ids)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return Address(str(address), address.version, int(address))


def unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address as its IPv4 address (scope id dropped, as `ipv4_mapped`
    does); any other address unchanged."""
    if address.version == 6 and address.value >> 32 == _MAPPED_PREFIX:
        value = address.value & 0xFFFFFFFF
        return Address(socket.inet_ntoa(value.to_bytes(4, "big")), 4, value)
    return address


def parse_client_address(text: str) -> Address | None:
    """`parse_address`, IPv4-mapped addresses given as IPv4: one client, one text."""
    address = parse_address(text)
    return None if address is None else unmapped(address)


# -- canonical IPv6 text -----------------------------------------------------------------------

# A run of two or more zero groups in the uncompressed `%x` form ("1:0:0:2": "0:0").
_ZERO_RUN = re.compile(r"(?<![0-9a-f])0(?::0)+(?![0-9a-f])")


def _v6_text_python(value: int) -> str:
    """RFC 5952 text as `ipaddress` writes it: lowercase, no leading zeros, the longest run of
    two or more zero groups (the first of equals) as `::`, no dotted IPv4 part."""
    groups = ":".join(f"{(value >> shift) & 0xFFFF:x}" for shift in range(112, -16, -16))
    longest = None
    for run in _ZERO_RUN.finditer(groups):
        if longest is None or run.end() - run.start() > longest.end() - longest.start():
            longest = run
    if longest is None:
        return groups
    start, end = longest.span()
    return groups[: max(start - 1, 0)] + "::" + groups[end + 1 :]


def _v6_text_ntop(value: int) -> str:
    text = socket.inet_ntop(_AF_INET6, value.to_bytes(16, "big"))
    # The C library writes ::ffff:1.2.3.4 and ::1.2.3.4 in dotted form; `ipaddress` never does.
    return _v6_text_python(value) if "." in text else text


# Addresses whose text C libraries are known to write differently (a single zero group
# compressed, ties between runs, runs at either end, the dotted forms).
_FORMAT_PROBES = (
    "::",
    "::1",
    "1::",
    "1:0:2:3:4:5:6:7",
    "1:0:0:2:0:0:3:4",
    "1:0:0:2:3:0:0:0",
    "0:0:1:2:3:4:0:0",
    "1:2:3:4:5:6:7:0",
    "::ffff:102:304",
    "::102:304",
    "64:ff9b::102:304",
    "2001:db8:0:0:1:0:0:1",
    "fe80::abcd:0:0:1",
)


def _ntop_agrees() -> bool:
    """Whether this platform's `inet_ntop` writes the probes as `ipaddress` does."""
    return all(
        _v6_text_ntop(int(ipaddress.IPv6Address(probe))) == str(ipaddress.IPv6Address(probe))
        for probe in _FORMAT_PROBES
    )


# inet_ntop is ~6x faster than formatting in Python; it is used where it writes what
# `ipaddress` writes (glibc does), the Python formatter elsewhere.
_v6_text = _v6_text_ntop if _ntop_agrees() else _v6_text_python


# -- is_global ---------------------------------------------------------------------------------


def _non_global_ranges(version: int) -> tuple[list[int], list[int]]:
    """The non-global address space of `version` as sorted, disjoint, non-adjacent inclusive
    ranges (starts, ends), exactly as the running Python's `ipaddress` defines `is_global`.

    `is_global` is decided by membership in the networks (and addresses) of `ipaddress`'s
    constants class for the version (`_IPv4Constants`, `_IPv6Constants`), so it is constant
    between consecutive boundaries of those networks: asking the standard library about one
    address of each such segment gives the whole table. The tests compare it with `is_global`
    at every boundary and on random addresses. (The IPv6 segment ::ffff:0:0/96 is not constant
    — there `ipaddress` asks the IPv4 part — but `is_global` unmaps those addresses first and
    never looks it up.)
    """
    # The constants classes are private to `ipaddress`, but they are the definitions that
    # `is_global` reads; the tests fail if they ever move.
    constants = vars(ipaddress)["_IPv4Constants" if version == 4 else "_IPv6Constants"]
    bounds = {0, 1 << (32 if version == 4 else 128)}
    for value in vars(constants).values():
        for item in value if isinstance(value, list | tuple) else (value,):
            if getattr(item, "version", None) != version:
                continue
            if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
                bounds.add(int(item.network_address))
                bounds.add(int(item.broadcast_address) + 1)
            elif isinstance(item, ipaddress.IPv4Address | ipaddress.IPv6Address):
                bounds.update((int(item), int(item) + 1))
    points = sorted(bounds)
    starts: list[int] = []
    ends: list[int] = []
    for start, end in pairwise(points):
        if _stdlib_is_global(version, start):
            continue
        if ends and ends[-1] == start - 1:
            ends[-1] = end - 1  # adjacent to the previous non-global segment: merge
        else:
            starts.append(start)
            ends.append(end - 1)
    return starts, ends


def _stdlib_is_global(version: int, value: int) -> bool:
    if version == 4:
        return ipaddress.IPv4Address(value).is_global
    return ipaddress.IPv6Address(value).is_global


NON_GLOBAL = {4: _non_global_ranges(4), 6: _non_global_ranges(6)}
"""Per version, the (starts, ends) of the non-global ranges (inclusive, sorted)."""


def is_global(address: Address) -> bool:
    """`ipaddress.ip_address(address.text).is_global`, for an IPv4-mapped address that of its
    IPv4 address (`ipaddress` would judge it by `is_private` alone)."""
    if address.version == 6 and address.value >> 32 == _MAPPED_PREFIX:
        version, value = 4, address.value & 0xFFFFFFFF
    else:
        version, value = address.version, address.value
    starts, ends = NON_GLOBAL[version]
    index = bisect_right(starts, value) - 1
    return index < 0 or value > ends[index]
