"""Login throttling on the shared rate limiter: `LIMIT` failed sign-ins per key at once, then
one more every `WINDOW / LIMIT` seconds (5 per 15 minutes sustained).

Two keys are counted per attempt: the account (its email) and the client (its IP address),
so neither guessing one account's password from many addresses nor trying many accounts from
one address gets more than a handful of tries. While a key is throttled, even the right
password is refused: otherwise the throttle would only slow the attacker down until their
guess is right.

The buckets live in the project's `RateLimiter` (`footfall.ratelimit`): in memory on the
embedded tier, in Redis in cluster mode, so every instance counts the same failures. A bucket
holds `WINDOW` seconds and refills one second per second; a failure costs `WINDOW / LIMIT`
seconds of it. GCRA buckets only ever *take*, so the check made before verifying a password
is a take of cost 0 from a bucket one failure smaller over the same key: it changes nothing
and is refused exactly when the recorded failures have emptied the real bucket. (Counting in
seconds keeps the backends within a second of each other: Redis remembers a refusal locally
for as long as a take of one unit would be refused, here one second.)

Keys are stored as keyed BLAKE2b digests under the day's visitor salt, as the API's limits do:
neither an email address nor an IP address is written to the limiter (nor to Redis).

**Redis outages fail closed.** The API's rate limits let requests through while Redis is
unreachable (a cache outage must not become an API outage). A login throttle that did the same
would let an attacker guess passwords at full speed for as long as Redis is down, so while the
limiter reports that it is failing open (`FailsOpen`), `retry_after` raises
`BackendUnavailable`: sign-in and password changes answer 503 with `Retry-After`, and every
other page (sessions live in the metadata database) keeps working.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from footfall.errors import BackendUnavailable
from footfall.ratelimit.base import RateLimit, RateLimiter

LIMIT = 5
"""Failed sign-ins a key may have at once before it is refused."""

WINDOW = 15 * 60.0
"""Seconds in which `LIMIT` failures drain again (one every `WINDOW / LIMIT`)."""


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()


def client_key(address: str) -> str:
    return "client:" + address


class LoginThrottle(Protocol):
    """What the sign-in and password forms need from a throttle."""

    async def retry_after(self, keys: Sequence[str], now: float) -> float:
        """Whole seconds until every key may try again (0: allowed now). Changes nothing.
        Raises `BackendUnavailable` when failures cannot be counted (Redis unreachable)."""
        ...

    async def record_failure(self, keys: Sequence[str], now: float) -> None: ...


@runtime_checkable
class FailsOpen(Protocol):
    """A limiter that allows requests without checking while its backend is unreachable
    (`RedisRateLimiter`)."""

    def failing_open(self, now: float) -> bool: ...


OUTAGE_RETRY_AFTER = 5
"""Seconds a refused sign-in asks the browser to wait while failures cannot be counted."""

SecretFor = Callable[[float], Awaitable[bytes]]
"""The secret keys are hashed with at a time (the day's visitor salt)."""


class RateLimitLoginThrottle:
    """`LoginThrottle` over a `RateLimiter` shared by the installation."""

    def __init__(
        self,
        limiter: RateLimiter,
        secret_for: SecretFor,
        limit: int = LIMIT,
        window: float = WINDOW,
    ) -> None:
        if limit < 2:
            raise ValueError("a login throttle needs a limit of at least 2")
        self._limiter = limiter
        self._secret_for = secret_for
        self._cost = max(1, round(window / limit))  # seconds of the bucket one failure takes
        self._failures = RateLimit(1.0, limit * self._cost)
        self._probe = RateLimit(1.0, (limit - 1) * self._cost)  # one failure smaller

    async def _bucket(self, key: str, now: float) -> str:
        digest = hashlib.blake2b(
            key.encode(), key=await self._secret_for(now), digest_size=12, person=b"ff-login"
        )
        return "login:" + digest.hexdigest()

    async def retry_after(self, keys: Sequence[str], now: float) -> float:
        wait = 0.0
        for key in keys:
            bucket = await self._bucket(key, now)
            decision = await self._limiter.acquire(((bucket, self._probe),), now, cost=0)
            if not decision.allowed:
                wait = max(wait, decision.retry_after)
            elif isinstance(self._limiter, FailsOpen) and self._limiter.failing_open(now):
                # "Allowed" only because Redis could not be asked: fail closed (module doc).
                raise BackendUnavailable("sign-in throttle", OUTAGE_RETRY_AFTER)
        return float(math.ceil(wait))

    async def record_failure(self, keys: Sequence[str], now: float) -> None:
        for key in keys:  # one by one: a full bucket of one key must not spare the other
            bucket = await self._bucket(key, now)
            await self._limiter.acquire(((bucket, self._failures),), now, cost=self._cost)
