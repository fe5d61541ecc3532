"""`RateLimitLoginThrottle` on both rate limiters (memory; Redis shared by two instances):
5 failures per key at once, then one more every 3 minutes; checking changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from footfall.accounts.login_throttle import (
    LIMIT,
    WINDOW,
    RateLimitLoginThrottle,
    account_key,
    client_key,
)
from footfall.ratelimit.base import RateLimiter
from footfall.ratelimit.memory import MemoryRateLimiter
from footfall.ratelimit.redis import RedisRateLimiter
from footfall.realtime.redis import redis_client

T0 = 1_790_000_000.0
INTERVAL = WINDOW / LIMIT
MakeThrottle = Callable[[], RateLimitLoginThrottle]


async def _secret(_now: float) -> bytes:
    return b"s" * 32


@pytest.fixture(params=["memory", "redis"])
async def make_throttle(request: pytest.FixtureRequest) -> AsyncIterator[MakeThrottle]:
    """Throttles sharing one backend, as the instances of an installation do."""
    memory = MemoryRateLimiter()
    limiters: list[RateLimiter] = []
    clients = []

    def make() -> RateLimitLoginThrottle:
        limiter: RateLimiter = memory
        if request.param == "redis":
            client = redis_client(request.getfixturevalue("redis_url"))
            clients.append(client)
            limiter = RedisRateLimiter(client, request.getfixturevalue("redis_prefix"))
            limiters.append(limiter)
        return RateLimitLoginThrottle(limiter, _secret)

    yield make
    for limiter in limiters:
        await limiter.close()
    for client in clients:
        await client.aclose()


async def test_fifth_failure_throttles_until_one_drains(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    keys = [account_key("A@example.org"), client_key("203.0.113.9")]
    for _ in range(3):  # checking takes nothing
        assert await throttle.retry_after(keys, T0) == 0
    for _ in range(LIMIT):
        assert await throttle.retry_after(keys, T0) == 0
        await throttle.record_failure(keys, T0)
    assert await throttle.retry_after(keys, T0) == INTERVAL
    # Redis may answer a repeated refusal from its local memory: up to a second longer.
    later = await throttle.retry_after([account_key("a@example.org ")], T0 + 10)
    assert INTERVAL - 10 <= later <= INTERVAL - 9
    assert await throttle.retry_after([client_key("203.0.113.10")], T0) == 0
    # A fresh throttle sees the same buckets (another instance of the installation).
    other = make_throttle()
    assert await other.retry_after(keys, T0 + INTERVAL / 2) > 0
    assert await other.retry_after(keys, T0 + INTERVAL + 1) == 0
    await other.record_failure(keys, T0 + INTERVAL + 1)  # the drained cell is used again
    assert await throttle.retry_after(keys, T0 + INTERVAL + 2) > 0


async def test_keys_are_independent(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle()
    for _ in range(LIMIT):
        await throttle.record_failure([client_key("198.51.100.1")], T0)
    assert await throttle.retry_after([client_key("198.51.100.1")], T0) > 0
    assert await throttle.retry_after([account_key("a@example.org")], T0) == 0
    assert await throttle.retry_after([client_key("198.51.100.2")], T0) == 0


def test_a_limit_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        RateLimitLoginThrottle(MemoryRateLimiter(), _secret, limit=1)
