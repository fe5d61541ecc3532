"""One contract for every `RateLimiter`: `MemoryRateLimiter` and `RedisRateLimiter` alike.

The Redis parametrisation runs on a real Redis under a fresh key prefix (tests/backends.py),
with several limiter "instances" sharing it as the instances of a cluster do. Time is the
test's: each check is made at an instant the test chooses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from footfall.ratelimit.base import RateLimit, RateLimiter
from footfall.ratelimit.memory import MemoryRateLimiter
from footfall.ratelimit.redis import RedisRateLimiter
from footfall.realtime.redis import redis_client

pytest_plugins = ["tests.backends"]

T0 = 1_790_000_000.0
MakeLimiter = Callable[[], RateLimiter]


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Builds limiters on one backend; with Redis, all share the test's prefix."""
    clients: list[aioredis.Redis] = []
    made: list[RateLimiter] = []
    memory = MemoryRateLimiter()

    def make() -> RateLimiter:
        if request.param == "memory":
            return memory  # one process: every "instance" is the same buckets
        client = redis_client(request.getfixturevalue("redis_url"))
        clients.append(client)
        limiter = RedisRateLimiter(client, request.getfixturevalue("redis_prefix"))
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()
    for client in clients:
        await client.aclose()


async def take(limiter: RateLimiter, key: str, limit: RateLimit, now: float, n: int) -> int:
    """Send `n` requests at `now`; how many were allowed."""
    allowed = 0
    for _ in range(n):
        allowed += (await limiter.acquire([(key, limit)], now)).allowed
    return allowed


async def test_burst_then_one_per_interval(make_limiter: MakeLimiter) -> None:
    limiter, limit = make_limiter(), RateLimit(rate=10, burst=5)
    assert await take(limiter, "k", limit, T0, 8) == 5
    assert await take(limiter, "k", limit, T0 + 0.099, 1) == 0
    assert await take(limiter, "k", limit, T0 + 0.1, 2) == 1
    # After the bucket had time to fill (burst / rate), a full burst again, no more.
    assert await take(limiter, "k", limit, T0 + 10, 7) == 5


async def test_decision_fields_and_headers(make_limiter: MakeLimiter) -> None:
    limiter, limit = make_limiter(), RateLimit(rate=2, burst=3)
    first = await limiter.acquire([("k", limit)], T0)
    assert (first.allowed, first.remaining, first.reset_after) == (True, 2, 0.5)
    assert first.headers() == {
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "2",
        "RateLimit-Reset": "1",
        "RateLimit-Policy": "3;w=2",
    }
    await take(limiter, "k", limit, T0, 2)
    denied = await limiter.acquire([("k", limit)], T0)
    assert not denied.allowed
    assert denied.remaining == 0
    assert denied.retry_after == pytest.approx(0.5)
    assert denied.reset_after == pytest.approx(1.5)
    assert denied.headers()["Retry-After"] == "1"
    assert denied.headers()["RateLimit-Remaining"] == "0"


async def test_keys_are_independent(make_limiter: MakeLimiter) -> None:
    limiter, limit = make_limiter(), RateLimit(rate=1, burst=2)
    assert await take(limiter, "a", limit, T0, 3) == 2
    assert await take(limiter, "b", limit, T0, 3) == 2


async def test_cost_takes_several(make_limiter: MakeLimiter) -> None:
    limiter, limit = make_limiter(), RateLimit(rate=100, burst=1000)
    assert (await limiter.acquire([("site", limit)], T0, cost=600)).allowed
    refused = await limiter.acquire([("site", limit)], T0, cost=600)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(2.0)  # 200 more events at 100/s
    small = await limiter.acquire([("site", limit)], T0, cost=400)
    assert small.allowed and small.remaining == 0


async def test_several_buckets_all_or_nothing(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    site, client = RateLimit(rate=1, burst=10), RateLimit(rate=1, burst=2)
    checks = [("site", site), ("client", client)]
    decisions = [await limiter.acquire(checks, T0) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    # The client's bucket refused the third: the site's gave nothing for it.
    assert decisions[1].remaining == 0  # the tighter bucket is reported
    assert await take(limiter, "site", site, T0, 10) == 8


async def test_exact_at_high_rates(make_limiter: MakeLimiter) -> None:
    """Thousands of requests at one instant: exactly the burst, no rounding drift."""
    limiter, limit = make_limiter(), RateLimit(rate=1000, burst=3000)
    assert await take(limiter, "one-by-one", limit, T0, 3001) == 3000
    decision = await limiter.acquire([("k", limit)], T0, cost=2999)
    assert decision.allowed and decision.remaining == 1
    assert await take(limiter, "k", limit, T0, 2) == 1
    assert await take(limiter, "k", limit, T0 + 0.001, 2) == 1


async def test_instances_share_buckets(make_limiter: MakeLimiter) -> None:
    """Requests spread over instances (concurrently) get exactly one burst in total."""
    limit = RateLimit(rate=1, burst=20)
    instances = [make_limiter() for _ in range(3)]
    results = await asyncio.gather(
        *(take(instances[i % 3], "shared", limit, T0, 10) for i in range(6))
    )
    assert sum(results) == 20


async def test_denial_lasts_exactly_until_retry_after(make_limiter: MakeLimiter) -> None:
    limiter, limit = make_limiter(), RateLimit(rate=4, burst=1)
    assert (await limiter.acquire([("k", limit)], T0)).allowed
    for _ in range(5):  # repeated denials (answered locally by Redis's pre-check) agree
        denied = await limiter.acquire([("k", limit)], T0 + 0.1)
        assert not denied.allowed and denied.retry_after == pytest.approx(0.15)
    assert (await limiter.acquire([("k", limit)], T0 + 0.25)).allowed


def test_rate_limit_values() -> None:
    assert RateLimit(50, 500).policy == "500;w=10"
    assert RateLimit.optional(0, 10) is None
    with pytest.raises(ValueError):
        RateLimit(0, 10)
    with pytest.raises(ValueError):
        RateLimit(1, 0)
