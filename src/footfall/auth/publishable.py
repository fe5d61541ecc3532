"""Publishable keys: `pk_` + 24 random base62 characters + a 6-character base62 CRC32 checksum.

A publishable key is meant to be seen: it sits in the HTML of a site owner's pages, where the
live-counter widget reads it. It can only read the live visitor count of its site (optionally
of some paths only) from the origins it names, so showing it to every visitor gives nothing
away beyond the number the page displays anyway. It is therefore stored as it is (no hash) and
listed in full; its own prefix and checksum keep it apart from secret `vt_` tokens, let a
mistyped key be refused without a lookup, and let secret scanners ignore it.

Origins are compared in one normal form, `scheme://host[:port]` in lower case without a default
port, the form browsers send in the `Origin` header; `*` stands for any origin.
"""

from __future__ import annotations

import hmac
import secrets
import zlib
from urllib.parse import urlsplit

from footfall.auth.tokens import ALPHABET

PREFIX = "pk_"
RANDOM_LENGTH = 24  # ~143 random bits: unguessable, so keys cannot be enumerated
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
ANY_ORIGIN = "*"
_ALPHABET_SET = frozenset(ALPHABET)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _checksum(body: str) -> str:
    number, digits = zlib.crc32(body.encode("ascii")), []
    for _ in range(CHECKSUM_LENGTH):
        number, rem = divmod(number, 62)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits))


def generate_key() -> str:
    """A new publishable key."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    """True when `key` has the prefix, length, alphabet and a matching checksum."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return False
    rest = key[len(PREFIX) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    return hmac.compare_digest(_checksum(rest[:RANDOM_LENGTH]), rest[RANDOM_LENGTH:])


def normalise_origin(text: str) -> str:
    """`https://Shop.Example.com:443/` -> `https://shop.example.com`; `*` stays `*`.

    ValueError (naming what is wrong) for anything that is not an http(s) origin.
    """
    value = text.strip()
    if value == ANY_ORIGIN:
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"not an origin: {text!r} (expected https://host[:port])") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an origin: {text!r} (expected https://host[:port])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin has no path, query or user: {text!r}")
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def request_origin(header: str | None) -> str | None:
    """The normal form of an `Origin` request header, or None when absent, `null` (sandboxed
    frames, files) or not an http(s) origin."""
    if not header or header == "null" or header.strip() == ANY_ORIGIN:
        return None
    try:
        return normalise_origin(header)
    except ValueError:
        return None
