"""Password hashing (argon2id) and the password policy.

argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 3 passes, 64 MiB,
4 lanes): tens of milliseconds per hash, so hashing runs in a worker thread and never stalls
the event loop. Hashes carry their parameters, so raising them later only needs
`needs_rehash` at the next successful login.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1000  # argon2 takes any length; the bound keeps a request from costing much more

_hasher = PasswordHasher()


def check_policy(password: str) -> None:
    """ValueError (naming the field) unless the password is acceptable."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password: must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"password: must be at most {MAX_LENGTH} characters")
    if not password.strip():
        raise ValueError("password: must not be only spaces")


async def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable password (checks the policy first)."""
    check_policy(password)
    return await hash_password_unchecked(password)


async def hash_password_unchecked(password: str) -> str:
    """The argon2id hash of a password already known to be right (rehashing at login)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify(password_hash: str, password: str) -> bool:
    """True when `password` matches the hash; constant time by construction of argon2."""
    if len(password) > MAX_LENGTH:
        return False
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("footfall: no such user")


async def burn_verification(password: str) -> None:
    """Spend what a verification costs, for unknown emails: a login must not reveal which
    email addresses have accounts by answering faster for the others."""
    await asyncio.to_thread(_verify, _dummy_hash(), password[:MAX_LENGTH])
