"""One contract for every `Visits`: `MemoryVisits` and `RedisVisits` assign visits alike.

The Redis parametrisation runs on a real Redis under a fresh key prefix (tests/backends.py);
the tests after the contract cover what only a shared backend has: several instances agreeing
on one visit (also concurrently), key layout and expiry, merging rebuilds, and outages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from footfall.errors import BackendUnavailable
from footfall.ingestion.redis_visits import RedisVisits
from footfall.ingestion.visits import MemoryVisits
from footfall.ingestion.visits_base import Visits
from footfall.storage.events import RecentVisit
from tests.conftest import START

pytest_plugins = ["tests.backends"]

TIMEOUT = 1800.0
MakeVisits = Callable[[], Visits]


@pytest.fixture(params=["memory", "redis"])
async def make_visits(request: pytest.FixtureRequest) -> AsyncIterator[MakeVisits]:
    """Builds visit trackers on one backend; with Redis, every one shares the test's prefix
    (several "instances" of one cluster)."""
    made: list[Visits] = []

    def make() -> Visits:
        visits: Visits
        if request.param == "memory":
            visits = MemoryVisits(timeout=TIMEOUT)
        else:
            url: str = request.getfixturevalue("redis_url")
            prefix: str = request.getfixturevalue("redis_prefix")
            visits = RedisVisits.from_url(url, prefix, timeout=TIMEOUT)
        made.append(visits)
        return visits

    yield make
    for visits in made:
        await visits.close()


@pytest.fixture
def visits(make_visits: MakeVisits) -> Visits:
    return make_visits()


async def at(visits: Visits, ts: float, visitor: int = 1, site: str = "s") -> int:
    """The visit of a live event of `visitor` at `ts` (received at `ts`)."""
    visitor_id, visit_id = await visits.assign(site, visitor, None, ts, ts)
    assert visitor_id == visitor
    return visit_id


# --- the contract ---------------------------------------------------------------------------


async def test_a_visit_continues_within_the_timeout(visits: Visits) -> None:
    first = await at(visits, START)
    assert 0 < first < 2**63
    assert await at(visits, START + 1799) == first
    assert await at(visits, START + 1799 + 1799) == first


async def test_a_new_visit_starts_after_the_timeout(visits: Visits) -> None:
    first = await at(visits, START)
    second = await at(visits, START + TIMEOUT)  # exactly 30 idle minutes: the visit ended
    assert second != first
    third = await at(visits, START + TIMEOUT + 2000)
    assert third not in (first, second)


async def test_visitors_and_sites_have_their_own_visits(visits: Visits) -> None:
    one = await at(visits, START, visitor=1)
    two = await at(visits, START, visitor=2)
    elsewhere = await at(visits, START, visitor=1, site="other")
    assert len({one, two, elsewhere}) == 3
    assert await at(visits, START + 10, visitor=1) == one
    assert await at(visits, START + 10, visitor=1, site="other") == elsewhere


async def test_late_events_join_without_moving_the_visit_back(visits: Visits) -> None:
    first = await at(visits, START)
    late = await visits.assign("s", 1, None, START - 600, START)  # sent late, same visit
    assert late == (1, first)
    # 1,700 s after the latest event (2,300 after the late one): still the same visit.
    assert await at(visits, START + 1700) == first


async def test_backfilled_events_are_joined_by_the_memo(visits: Visits) -> None:
    now = START
    old = now - 10 * TIMEOUT  # long gone from the live structure
    first = await visits.assign("s", 1, None, old, now)
    assert first[0] == 1
    assert await visits.assign("s", 1, None, old + 600, now) == first
    assert await visits.assign("s", 1, None, old + 600 + 1700, now) == first
    later = await visits.assign("s", 1, None, old + 600 + 1700 + 1801, now)
    assert later[1] != first[1]
    other = await visits.assign("s", 2, None, old + 1, now)
    assert other[1] not in (first[1], later[1])
    # Backfill does not touch live visits.
    assert await at(visits, now) not in (first[1], later[1])


async def test_a_visitor_keeps_yesterdays_id_across_the_salt_rotation(visits: Visits) -> None:
    before = await visits.assign("s", 111, None, START, START)
    # Midnight: the salt changed, today's id is 222 and 111 is the previous one.
    assert await visits.assign("s", 222, 111, START + 60, START + 60) == before
    assert await visits.assign("s", 222, 111, START + 120, START + 120) == before
    # Once yesterday's visit ended, today's id takes over.
    after = await visits.assign("s", 222, 111, START + 120 + 1801, START + 120 + 1801)
    assert after[0] == 222 and after[1] != before[1]
    assert await visits.assign("s", 222, 111, START + 2000, START + 2000) == after


async def test_todays_running_visit_wins_over_yesterdays(visits: Visits) -> None:
    yesterday = await at(visits, START, visitor=111)
    today = await at(visits, START, visitor=222)
    assert await visits.assign("s", 222, 111, START + 5, START + 5) == (222, today)
    assert await at(visits, START + 6, visitor=111) == yesterday
    # A previous id on another site is not this site's visitor.
    fresh = await visits.assign("other", 222, 111, START + 7, START + 7)
    assert fresh[0] == 222 and fresh[1] not in (yesterday, today)


async def test_rebuild_restores_running_visits(visits: Visits) -> None:
    big = 2**63 - 25  # 63-bit ids survive exactly (no float on the way)
    await visits.rebuild(
        [
            RecentVisit("s", 1, big, START - 100, START - 100),
            RecentVisit("s", 2, 42, START - 2000, None),  # ended
            RecentVisit("s", 3, 7, START - 500, None),
            RecentVisit("s", 3, 8, START - 100, None),  # the newer visit of visitor 3
        ]
    )
    assert await at(visits, START, visitor=1) == big
    assert await at(visits, START, visitor=2) != 42
    assert await at(visits, START, visitor=3) == 8
    assert await visits.assign("s", 9, 1, START + 1, START + 1) == (1, big)


# --- Redis only: a backend shared by every instance ----------------------------------------


@pytest.fixture
async def instances(redis_url: str, redis_prefix: str) -> AsyncIterator[Callable[[], RedisVisits]]:
    made: list[RedisVisits] = []

    def make() -> RedisVisits:
        visits = RedisVisits.from_url(redis_url, redis_prefix, timeout=TIMEOUT)
        made.append(visits)
        return visits

    yield make
    for visits in made:
        await visits.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_instances_agree_on_a_visit(instances: Callable[[], RedisVisits]) -> None:
    first, second = instances(), instances()
    visit = await at(first, START)
    assert await at(second, START + 30) == visit
    assert await at(first, START + 60) == visit
    assert await second.assign("s", 2, 1, START + 90, START + 90) == (1, visit)


async def test_concurrent_assignments_agree(instances: Callable[[], RedisVisits]) -> None:
    fleet = [instances() for _ in range(4)]
    for visitor in range(1, 21):
        results = await asyncio.gather(
            *(
                visits.assign("s", visitor, None, START + offset, START + offset)
                for offset, visits in enumerate(fleet * 5)
            )
        )
        assert len(set(results)) == 1, results


async def test_keys_are_namespaced_and_expire(
    instances: Callable[[], RedisVisits], raw: aioredis.Redis, redis_prefix: str
) -> None:
    visits = instances()
    visit = await at(visits, START, visitor=12345678901234)
    await visits.assign("s", 5, None, START + 300, START)  # 5 minutes ahead (allowed skew)
    await visits.assign("s", 6, None, START - TIMEOUT - 1, START)  # backfill: no key
    keys = {key.decode() async for key in raw.scan_iter(match=f"{redis_prefix}:*")}
    assert keys == {f"{redis_prefix}:visit:s:12345678901234", f"{redis_prefix}:visit:s:5"}
    assert await raw.get(f"{redis_prefix}:visit:s:12345678901234") == f"{visit}:{START!r}".encode()
    ttl = await raw.ttl(f"{redis_prefix}:visit:s:12345678901234")
    assert TIMEOUT < ttl <= TIMEOUT + 60
    # A future event matters until 30 minutes after its own time.
    assert TIMEOUT + 300 < await raw.ttl(f"{redis_prefix}:visit:s:5") <= TIMEOUT + 360


async def test_rebuild_merges_with_live_visits(
    instances: Callable[[], RedisVisits], raw: aioredis.Redis, redis_prefix: str
) -> None:
    live, restarted = instances(), instances()
    current = await at(live, START, visitor=1)
    await at(live, START - 1000, visitor=2)
    await restarted.rebuild(
        [
            RecentVisit("s", 1, 99, START - 50, None),  # older than the live key: ignored
            RecentVisit("s", 2, 98, START - 10, None),  # newer: replaces
            RecentVisit("s", 3, 97, START - 20, None),  # missing: set
        ]
    )
    assert await at(live, START + 1, visitor=1) == current
    assert await at(live, START + 1, visitor=2) == 98
    assert await at(restarted, START + 1, visitor=3) == 97
    assert TIMEOUT < await raw.ttl(f"{redis_prefix}:visit:s:3") <= TIMEOUT + 300 + 60


async def test_unreachable_redis_is_backend_unavailable() -> None:
    visits = RedisVisits.from_url("redis://127.0.0.1:1/0", "p")
    try:
        for call in (
            visits.assign("s", 1, None, START, START),
            visits.rebuild([RecentVisit("s", 1, 5, START, None)]),
        ):
            with pytest.raises(BackendUnavailable) as info:
                await call
            assert info.value.backend == "visits"
        # Backfill needs no Redis.
        assert (await visits.assign("s", 1, None, START - 4000, START))[0] == 1
    finally:
        await visits.close()
