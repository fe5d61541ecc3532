"""`LiveHub` and `RedisLiveBus`: topics, fan-out, coalescing, and instances telling each other.

The hub runs over real presences (memory, and Redis shared by two "instances" on one prefix);
computations are counted by the hub itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from footfall.errors import ServiceUnavailable
from footfall.realtime.live import CLOSED, HEARTBEAT, UPDATE, LiveHub, redis_bus
from footfall.realtime.live_bus import RedisLiveBus
from footfall.realtime.memory import MemoryPresence
from footfall.realtime.paths import PathPattern
from footfall.realtime.redis import RedisPresence
from tests.conftest import FakeClock

pytest_plugins = ["tests.backends"]

PRICING = PathPattern.parse("/pricing")


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def hub(clock: FakeClock) -> AsyncIterator[LiveHub]:
    made = LiveHub(MemoryPresence(clock), clock, coalesce=0.01, refresh=3600, heartbeat=3600)
    await made.start()
    yield made
    await made.close()


async def test_subscribers_of_a_topic_share_its_computations(
    hub: LiveHub, clock: FakeClock
) -> None:
    subs = await asyncio.gather(*(hub.subscribe("s", PRICING) for _ in range(20)))
    assert hub.computations == 1  # concurrent first subscribers wait for one computation
    assert (hub.streams, hub.topics) == (20, 1)
    assert {sub.count for sub in subs} == {0}
    await hub.presence.touch_many([("s", 1, clock.now(), "/pricing")])
    hub.touched({"s"})
    assert await asyncio.gather(*(sub.wait() for sub in subs)) == [UPDATE] * 20
    assert {sub.count for sub in subs} == {1}
    assert hub.computations == 2


async def test_only_the_changed_sites_topics_are_recomputed(hub: LiveHub, clock: FakeClock) -> None:
    mine = await hub.subscribe("s", None)
    other = await hub.subscribe("t", None)
    hub.changed(["s", "unknown"])
    await until(lambda: hub.computations == 3)
    await asyncio.sleep(0.05)  # a few rounds: nothing else is due
    assert hub.computations == 3
    assert (mine.topic.version, other.topic.version) == (1, 1)  # counted, unchanged: no wake


async def test_a_burst_is_coalesced(clock: FakeClock) -> None:
    hub = LiveHub(MemoryPresence(clock), clock, coalesce=0.2, refresh=3600, heartbeat=3600)
    await hub.start()
    try:
        sub = await hub.subscribe("s", None)
        for n in range(50):
            await hub.presence.touch_many([("s", n, clock.now(), "/")])
            hub.touched({"s"})
        assert await sub.wait() == UPDATE
        await asyncio.sleep(0.5)  # two more rounds at most
        assert sub.count == 50
        assert hub.computations <= 4  # not 50
    finally:
        await hub.close()


async def test_counts_are_refreshed_as_time_passes(clock: FakeClock) -> None:
    hub = LiveHub(MemoryPresence(clock), clock, coalesce=0.01, refresh=0.05, heartbeat=3600)
    await hub.presence.touch_many([("s", 1, clock.now(), "/pricing")])
    await hub.start()
    try:
        sub = await hub.subscribe("s", PRICING)
        assert sub.count == 1
        clock.advance(180)  # the visitor left the window; no event says so
        assert await sub.wait() == UPDATE
        assert sub.count == 0
    finally:
        await hub.close()


async def test_heartbeats_come_from_one_timer(clock: FakeClock) -> None:
    hub = LiveHub(MemoryPresence(clock), clock, coalesce=0.01, refresh=3600, heartbeat=0.05)
    await hub.start()
    try:
        subs = [await hub.subscribe("s", None) for _ in range(3)]
        assert await asyncio.gather(*(sub.wait() for sub in subs)) == [HEARTBEAT] * 3
    finally:
        await hub.close()


async def test_leaving_forgets_topics_and_closing_ends_streams(hub: LiveHub) -> None:
    one, two = await hub.subscribe("s", None), await hub.subscribe("s", PRICING)
    hub.unsubscribe(one)
    hub.unsubscribe(one)  # twice: no harm
    assert (hub.streams, hub.topics) == (1, 1)
    hub.close_streams()
    assert await two.wait() == CLOSED
    with pytest.raises(ServiceUnavailable, match="shutting down"):
        await hub.subscribe("s", None)


async def test_streams_beyond_the_limit_are_refused(clock: FakeClock) -> None:
    hub = LiveHub(MemoryPresence(clock), clock, max_streams=2)
    await hub.subscribe("s", None)
    await hub.subscribe("t", None)
    with pytest.raises(ServiceUnavailable, match="Too many live streams"):
        await hub.subscribe("u", None)
    assert hub.streams == 2


# -- cluster mode: two instances on one Redis ------------------------------------------------


@pytest.fixture
async def two_hubs(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> AsyncIterator[tuple[LiveHub, LiveHub]]:
    hubs = []
    for _ in range(2):
        presence = RedisPresence.from_url(redis_url, redis_prefix, clock)
        bus = redis_bus(redis_url, redis_prefix)
        hubs.append(LiveHub(presence, clock, coalesce=0.01, refresh=3600, bus=bus))
    for hub in hubs:
        await hub.start()
    yield hubs[0], hubs[1]
    for hub in hubs:
        await hub.close()
        await hub.presence.close()


async def test_a_change_on_one_instance_reaches_streams_on_the_other(
    two_hubs: tuple[LiveHub, LiveHub], clock: FakeClock
) -> None:
    a, b = two_hubs
    on_b = await b.subscribe("s", PRICING)
    assert on_b.count == 0
    await a.presence.touch_many([("s", 1, clock.now(), "/pricing")])  # ingested by A
    started = time.monotonic()
    a.touched({"s"})
    assert await asyncio.wait_for(on_b.wait(), 1.0) == UPDATE
    assert on_b.count == 1
    assert time.monotonic() - started < 1.0
    assert isinstance(b.bus, RedisLiveBus) and b.bus.received >= 1
    assert isinstance(a.bus, RedisLiveBus) and a.bus.received == 0  # its own messages skipped


async def test_an_unreachable_redis_never_breaks_the_hub(clock: FakeClock) -> None:
    bus = RedisLiveBus("redis://127.0.0.1:1/0", "nowhere")
    hub = LiveHub(MemoryPresence(clock), clock, coalesce=0.01, refresh=3600, bus=bus)
    await hub.start()  # gives up waiting for the subscription after a short while
    try:
        sub = await hub.subscribe("s", None)
        await hub.presence.touch_many([("s", 1, clock.now(), "/")])
        hub.touched({"s"})  # publishing fails in the background, quietly
        assert await sub.wait() == UPDATE  # this instance's own streams still update
        assert bus.published == 0
    finally:
        await hub.close()
