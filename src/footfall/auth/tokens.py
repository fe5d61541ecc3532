"""API tokens: `vt_` + 30 random base62 characters + a 6-character base62 CRC32 checksum.

The format (like GitHub's tokens) lets a mistyped or truncated token be refused as
`Invalid token format` without touching storage, and lets secret scanners recognise a leaked
token by its prefix, length and checksum. 30 base62 characters carry ~178 random bits.

Tokens exist at rest only as SHA-256 digests: a token is high-entropy random, so a fast hash is
enough (no dictionary to guard against) and keeps verification cheap on the hot path. Digests
are compared with `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "vt_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(PREFIX) + 6
_ALPHABET_SET = frozenset(ALPHABET)
_TOKEN_LIKE = re.compile(r"vt_[0-9A-Za-z]{6,}")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_token() -> str:
    """A new secret token. Show it once; store only `hash_token(token)`."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return PREFIX + body + _checksum(body)


def is_well_formed(token: str) -> bool:
    """True when `token` has the prefix, length, alphabet and a matching checksum."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return False
    rest = token[len(PREFIX) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, check = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return hmac.compare_digest(_checksum(body), check)


def hash_token(token: str) -> str:
    """The digest stored for a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def display_prefix(token: str) -> str:
    """The non-secret start of a token shown in listings (`vt_AbC123…`)."""
    return token[:DISPLAY_PREFIX_LENGTH]


def redact(text: str) -> str:
    """`text` with every token-shaped string cut to its display prefix (`vt_AbC123…`).

    The last line of defence for logs and error bodies: a client that puts its token where a
    token does not belong (a URL path, a query value that an error message names) must not
    have it written to a log or echoed back."""
    if PREFIX not in text:
        return text
    return _TOKEN_LIKE.sub(lambda found: found.group(0)[:DISPLAY_PREFIX_LENGTH] + "…", text)


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))
