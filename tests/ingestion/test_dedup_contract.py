"""One contract for every `SeenIds`: `MemorySeenIds` and `RedisSeenIds` deduplicate alike.

The Redis parametrisation runs on a real Redis under a fresh key prefix (tests/backends.py),
with several "instances" (clients) sharing it. Time is the test's: both backends decide from
the times they are given, never from their own clock. After the contract: the `Deduplicator`
that ingestion calls, and what only the shared backend has (expiry in Redis, outages).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from footfall.errors import BackendUnavailable, ServiceUnavailable
from footfall.ingestion.dedup import PENDING_TTL, Claim, Deduplicator, MemorySeenIds, SeenIds
from footfall.ingestion.drops import DropCounter
from footfall.ingestion.redis_dedup import RedisSeenIds
from footfall.storage.events import Event
from tests.conftest import START, FakeClock
from tests.serverproc import free_port

pytest_plugins = ["tests.backends"]

WINDOW = 3600.0
MakeSeen = Callable[[], SeenIds]
A = ("site-a", "k7Qw2-_x9ZbT0pLm")
B = ("site-a", "second-id")
A_ELSEWHERE = ("site-b", "k7Qw2-_x9ZbT0pLm")  # the same event id on another site


@pytest.fixture(params=["memory", "redis"])
async def make_seen(request: pytest.FixtureRequest) -> AsyncIterator[MakeSeen]:
    """Builds id registries on one backend; with Redis every one shares the test's prefix
    (several instances of one cluster). Memory registries are one process: one is shared."""
    made: list[SeenIds] = []
    shared = MemorySeenIds(window=WINDOW)

    def make() -> SeenIds:
        seen: SeenIds
        if request.param == "memory":
            seen = shared
        else:
            url: str = request.getfixturevalue("redis_url")
            prefix: str = request.getfixturevalue("redis_prefix")
            seen = RedisSeenIds.from_url(url, prefix, window=WINDOW)
        made.append(seen)
        return seen

    yield make
    for seen in made:
        await seen.close()


@pytest.fixture
def seen(make_seen: MakeSeen) -> SeenIds:
    return make_seen()


# --- the contract ---------------------------------------------------------------------------


async def test_an_id_is_new_then_pending_then_stored(seen: SeenIds) -> None:
    assert await seen.claim([A], START) == [Claim.NEW]
    assert await seen.claim([A], START + 1) == [Claim.PENDING]
    await seen.confirm([A], START + 2)
    assert await seen.claim([A], START + 3) == [Claim.STORED]
    assert await seen.claim([A_ELSEWHERE, B], START + 3) == [Claim.NEW, Claim.NEW]


async def test_a_released_claim_can_be_claimed_again(seen: SeenIds) -> None:
    assert await seen.claim([A, B], START) == [Claim.NEW, Claim.NEW]
    await seen.release([A, B])
    assert await seen.claim([A], START + 1) == [Claim.NEW]
    await seen.confirm([A], START + 2)
    await seen.release([A])  # a stored id is never released
    assert await seen.claim([A], START + 3) == [Claim.STORED]


async def test_a_stored_id_is_known_for_the_window_then_forgotten(seen: SeenIds) -> None:
    await seen.claim([A], START)
    await seen.confirm([A], START)
    assert await seen.claim([A], START + WINDOW - 1) == [Claim.STORED]
    await seen.sweep(START + WINDOW - 1)
    assert await seen.claim([A], START + WINDOW - 1) == [Claim.STORED]
    # Forgotten at most a sixth of the window later (the memory backend's buckets).
    later = START + WINDOW + WINDOW / 6 + 1
    await seen.sweep(later)
    assert await seen.claim([A], later) == [Claim.NEW]


async def test_an_unsettled_claim_lapses(seen: SeenIds) -> None:
    """A process that died between claim and commit does not block retries for ever."""
    assert await seen.claim([A], START) == [Claim.NEW]
    assert await seen.claim([A], START + PENDING_TTL - 1) == [Claim.PENDING]
    await seen.sweep(START + PENDING_TTL + 1)
    assert await seen.claim([A], START + PENDING_TTL + 1) == [Claim.NEW]


async def test_rebuild_loads_the_stored_ids_of_the_window(seen: SeenIds) -> None:
    now = START + 10_000
    await seen.rebuild([(*A, now - 60), (*B, now - WINDOW - 1), (*A_ELSEWHERE, now)], now)
    assert await seen.claim([A, B, A_ELSEWHERE], now + 1) == [
        Claim.STORED,
        Claim.NEW,  # older than the window
        Claim.STORED,
    ]


async def test_rebuild_turns_a_claim_whose_event_was_stored_into_a_stored_id(
    make_seen: MakeSeen,
) -> None:
    """An instance killed between its commit and its confirmation left a claim behind."""
    crashed, restarted = make_seen(), make_seen()
    assert await crashed.claim([A], START) == [Claim.NEW]
    await restarted.rebuild([(*A, START)], START + 5)
    assert await restarted.claim([A], START + 6) == [Claim.STORED]


async def test_concurrent_claims_of_one_id_give_one_new(make_seen: MakeSeen) -> None:
    instances = [make_seen() for _ in range(4)]
    results = await asyncio.gather(
        *(instances[n % 4].claim([A, (A[0], f"id-{n}")], START) for n in range(40))
    )
    firsts = [states[0] for states in results]
    assert firsts.count(Claim.NEW) == 1
    assert firsts.count(Claim.PENDING) == 39
    assert all(states[1] is Claim.NEW for states in results)


# --- the Deduplicator -----------------------------------------------------------------------


def event(event_id: str | None, n: int = 0, site_id: str = "site-a") -> Event:
    return Event(
        ts=START,
        site_id=site_id,
        visitor_id=n,
        name="pageview",
        hostname="example.com",
        pathname=f"/{n}",
        event_id=event_id,
    )


async def test_deduplicator_lets_through_new_events_once(seen: SeenIds) -> None:
    drops = DropCounter()
    dedup = Deduplicator(seen, FakeClock(), drops)
    batch = [event(None, 0), event("one", 1), event("two", 2), event("one", 3), event(None, 4)]
    admitted = await dedup.admit(batch)
    assert [e.visitor_id for e in admitted] == [0, 1, 2, 4]  # the repeat within the batch
    await dedup.committed(admitted)
    again = await dedup.admit([event("one", 5), event("three", 6), event(None, 7)])
    assert [e.visitor_id for e in again] == [6, 7]
    assert drops.snapshot()["duplicate"] == 2


async def test_deduplicator_refuses_a_copy_of_an_event_not_yet_committed(seen: SeenIds) -> None:
    dedup = Deduplicator(seen, FakeClock(), DropCounter())
    assert len(await dedup.admit([event("one")])) == 1
    with pytest.raises(ServiceUnavailable) as refused:
        await dedup.admit([event("two", 1), event("one", 2)])
    assert refused.value.retry_after == 1
    assert "eventId" in refused.value.message
    # The refused request's own claim ("two") was released: its retry is stored.
    assert len(await dedup.admit([event("two", 1)])) == 1
    # The first copy could not be stored: its retry is let through.
    await dedup.abandoned([event("one")])
    assert len(await dedup.admit([event("one", 3)])) == 1


# --- the shared backend ---------------------------------------------------------------------


async def test_redis_keys_expire_by_themselves(redis_url: str, redis_prefix: str) -> None:
    seen = RedisSeenIds.from_url(redis_url, redis_prefix, window=WINDOW)
    client = aioredis.Redis.from_url(redis_url)
    try:
        await seen.claim([A, B], START)
        await seen.confirm([A], START)
        assert 0 < await client.ttl(seen.key(*A)) <= WINDOW + 60
        assert 0 < await client.ttl(seen.key(*B)) <= PENDING_TTL + 60
        assert await client.get(seen.key(*A)) == f"s:{START!r}".encode()
    finally:
        await client.aclose()
        await seen.close()


async def test_redis_outage_is_backend_unavailable() -> None:
    seen = RedisSeenIds.from_url(f"redis://127.0.0.1:{free_port()}/0", "down")
    try:
        with pytest.raises(BackendUnavailable) as down:
            await seen.claim([A], START)
        assert down.value.backend == "event ids"
        with pytest.raises(BackendUnavailable):
            await seen.confirm([A], START)
    finally:
        await seen.close()
