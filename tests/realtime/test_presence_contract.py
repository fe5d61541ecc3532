"""One contract for every `Presence`: `MemoryPresence` and `RedisPresence` answer alike.

The Redis parametrisation runs on a real Redis under a fresh key prefix (tests/backends.py);
the tests after the contract cover what only a shared backend has: key layout and TTLs,
several instances on one prefix, the rebuild after Redis lost its data, and outages.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import pytest
import redis.asyncio as aioredis

from footfall.errors import BackendUnavailable
from footfall.realtime.base import Presence, Touch
from footfall.realtime.memory import MemoryPresence
from footfall.realtime.paths import PathPattern
from footfall.realtime.redis import RedisPresence, redis_client
from tests.conftest import FakeClock

pytest_plugins = ["tests.backends"]

WINDOW = 180.0
Loader = Callable[[], Awaitable[Iterable[Touch]]]
MakePresence = Callable[..., Presence]


def brute_force(touches: Iterable[tuple[int, float]], now: float, window: float) -> int:
    latest: dict[int, float] = {}
    for visitor, ts in touches:
        ts = min(ts, now)
        latest[visitor] = max(latest.get(visitor, ts), ts)
    return sum(1 for ts in latest.values() if ts > now - window)


@pytest.fixture(params=["memory", "redis"])
async def make_presence(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[MakePresence]:
    """Builds presences on one backend; with Redis, every one shares the test's prefix
    (several "instances" of one cluster)."""
    made: list[Presence] = []

    def make(loader: Loader | None = None) -> Presence:
        presence: Presence
        if request.param == "memory":
            presence = MemoryPresence(clock, window=WINDOW)
        else:
            url: str = request.getfixturevalue("redis_url")
            prefix: str = request.getfixturevalue("redis_prefix")
            presence = RedisPresence.from_url(url, prefix, clock, loader, window=WINDOW)
        made.append(presence)
        return presence

    yield make
    for presence in made:
        await presence.close()


@pytest.fixture
def presence(make_presence: MakePresence) -> Presence:
    return make_presence()


# --- the contract ---------------------------------------------------------------------------


async def test_counts_each_visitor_once(presence: Presence, clock: FakeClock) -> None:
    now = clock.now()
    await presence.touch_many(
        [("s", 1, now - 20, "/"), ("s", 1, now - 10, "/"), ("s", 2, now, "/")]
    )
    await presence.touch_many([("s", 1, now, "/"), ("s", 3, now - 1, "/")])
    assert await presence.count("s") == 3
    assert await presence.count("nobody-here") == 0


async def test_window_is_less_than_180_seconds(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many([("s", 1, start, "/")])
    clock.value = start + 170
    assert await presence.count("s") == 1
    clock.value = start + 179.999
    assert await presence.count("s") == 1
    clock.value = start + 180
    assert await presence.count("s") == 0
    clock.value = start + 190
    assert await presence.count("s") == 0


async def test_pageviews_already_out_of_the_window_are_ignored(
    presence: Presence, clock: FakeClock
) -> None:
    now = clock.now()
    await presence.touch_many(
        [("s", 1, now - 170, "/"), ("s", 2, now - 180, "/"), ("s", 3, now - 190, "/")]
    )
    assert await presence.count("s") == 1


async def test_late_timestamps_never_lower_the_latest(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many([("s", 1, start, "/")])
    await presence.touch_many([("s", 1, start - 100, "/")])  # backfilled, arrives later
    await presence.touch_many([("s", 2, start - 5, "/"), ("s", 2, start - 150, "/")])  # one batch
    clock.value = start + 170
    assert await presence.count("s") == 2  # ages 170 and 175
    clock.value = start + 176
    assert await presence.count("s") == 1  # visitor 1 (age 176), not its backfill (276)
    clock.value = start + 180
    assert await presence.count("s") == 0


async def test_future_timestamps_count_as_now(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many([("s", 1, start + 240, "/")])
    clock.value = start + 179
    assert await presence.count("s") == 1
    clock.value = start + 180
    assert await presence.count("s") == 0


async def test_sites_are_isolated(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many(
        [("a", 1, start - 100, "/"), ("b", 1, start, "/"), ("b", 2, start, "/")]
    )
    assert await presence.count("a") == 1
    assert await presence.count("b") == 2
    clock.value = start + 85
    assert await presence.count("a") == 0  # touching site b kept nobody on site a
    assert await presence.count("b") == 2


async def test_matches_brute_force(presence: Presence, clock: FakeClock) -> None:
    rng = random.Random(11)
    touches: dict[str, list[tuple[int, float]]] = {"x": [], "y": []}
    for _ in range(150):
        batch: list[Touch] = []
        for _ in range(rng.randint(0, 20)):
            # Mostly current, some backfilled up to 5 minutes late, some slightly ahead.
            ts = clock.now() - rng.choice([0, 0, 0, rng.uniform(0, 300), -rng.uniform(0, 30)])
            site, visitor = rng.choice("xy"), rng.randint(1, 60)
            batch.append((site, visitor, ts, "/"))
            touches[site].append((visitor, min(ts, clock.now())))  # clamped when received
        await presence.touch_many(batch)
        clock.advance(rng.choice([0, rng.uniform(0, 8), rng.uniform(0, 60)]))
        for site in "xy":
            assert await presence.count(site) == brute_force(touches[site], clock.now(), WINDOW)


async def test_rebuild_loads_recent_pageviews(presence: Presence, clock: FakeClock) -> None:
    now = clock.now()
    await presence.rebuild(
        [
            ("s", 1, now - 10, "/"),
            ("s", 1, now - 300, "/"),  # an older pageview of the same visitor
            ("s", 2, now - 179, "/"),
            ("s", 3, now - 180, "/"),  # out of the window
            ("s", 4, now + 60, "/"),  # future: counts as now
            ("t", 1, now - 5, "/"),
        ]
    )
    assert await presence.count("s") == 3  # right after the rebuild: exact
    assert await presence.count("t") == 1
    clock.value = now + 171
    assert await presence.count("s") == 1  # visitor 4, clamped to now (age 171); 1 is 181


# --- per-page counts: a visitor is on the page of their latest pageview ---------------------


def pattern(text: str) -> PathPattern:
    return PathPattern.parse(text)


def brute_force_pages(
    touches: Iterable[tuple[int, float, str]], now: float, window: float, text: str
) -> int:
    """Visitors whose latest pageview (the last recorded of equal times) is in the window and on a
    page `text` matches; touches in the order they were recorded, already clamped."""
    latest: dict[int, tuple[float, str]] = {}
    for visitor, ts, path in touches:
        if visitor not in latest or ts >= latest[visitor][0]:
            latest[visitor] = (ts, path)
    wanted = pattern(text)
    return sum(1 for ts, path in latest.values() if ts > now - window and wanted.matches(path))


async def test_a_visitor_is_on_the_page_of_their_latest_pageview(
    presence: Presence, clock: FakeClock
) -> None:
    now = clock.now()
    await presence.touch_many([("s", 1, now - 30, "/pricing"), ("s", 2, now - 20, "/pricing")])
    assert await presence.count_path("s", pattern("/pricing")) == 2
    await presence.touch_many([("s", 1, now - 10, "/signup")])  # visitor 1 moves on
    assert await presence.count_path("s", pattern("/pricing")) == 1
    assert await presence.count_path("s", pattern("/signup")) == 1
    await presence.touch_many([("s", 2, now - 25, "/about")])  # older than its latest: ignored
    assert await presence.count_path("s", pattern("/about")) == 0
    assert await presence.count_path("s", pattern("/pricing")) == 1
    await presence.touch_many([("s", 1, now, "/pricing")])  # and back
    assert await presence.count_path("s", pattern("/pricing")) == 2
    assert await presence.count_path("s", pattern("/signup")) == 0
    assert await presence.count("s") == 2


async def test_of_two_pageviews_at_the_same_time_the_last_recorded_wins(
    presence: Presence, clock: FakeClock
) -> None:
    now = clock.now()
    await presence.touch_many([("s", 1, now, "/a"), ("s", 1, now, "/b")])  # one batch
    assert await presence.count_path("s", pattern("/b")) == 1
    await presence.touch_many([("s", 1, now, "/c")])  # another batch
    assert await presence.count_path("s", pattern("/c")) == 1
    assert await presence.count_path("s", pattern("/*")) == 1
    assert sum([await presence.count_path("s", pattern(p)) for p in ("/a", "/b", "/c")]) == 1


async def test_patterns_exact_and_prefix(presence: Presence, clock: FakeClock) -> None:
    now = clock.now()
    pages = ["/pricing", "/pricing/", "/pricing/team", "/pricing/team/annual", "/pricing-old", "/"]
    await presence.touch_many([("s", n, now, path) for n, path in enumerate(pages)])
    await presence.touch_many([("other", 99, now, "/pricing")])
    expected = {
        "/pricing": 1,
        "/pricing/": 1,
        "/pricing/*": 3,
        "/pricing/team/*": 1,
        "/pricing*": 5,
        "/*": 6,
        "/nothing": 0,
        "/nothing/*": 0,
        "/": 1,
    }
    for text, count in expected.items():
        assert await presence.count_path("s", pattern(text)) == count, text
    assert await presence.count_path("other", pattern("/pricing/*")) == 0
    assert await presence.count_path("other", pattern("/pricing")) == 1
    assert await presence.count_path("nobody", pattern("/*")) == 0


async def test_page_counts_follow_the_window(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many([("s", 1, start, "/a"), ("s", 2, start - 100, "/a/b")])
    clock.value = start + 79.999
    assert await presence.count_path("s", pattern("/a*")) == 2
    clock.value = start + 80  # visitor 2 is 180 s old
    assert await presence.count_path("s", pattern("/a*")) == 1
    assert await presence.count_path("s", pattern("/a/b")) == 0
    clock.value = start + 179.999
    assert await presence.count_path("s", pattern("/a")) == 1
    clock.value = start + 180
    assert await presence.count_path("s", pattern("/a")) == 0
    assert await presence.count_path("s", pattern("/*")) == 0
    await presence.touch_many([("s", 1, clock.now(), "/a")])  # comes back: counted again
    assert await presence.count_path("s", pattern("/a")) == 1


async def test_page_counts_match_brute_force(presence: Presence, clock: FakeClock) -> None:
    rng = random.Random(23)
    paths = ["/", "/pricing", "/pricing/team", "/pricing/", "/blog/a", "/blog/b", "/blog"]
    patterns = ["/pricing", "/pricing/*", "/pricing*", "/blog/*", "/blog", "/", "/*"]
    touches: dict[str, list[tuple[int, float, str]]] = {"x": [], "y": []}
    for _ in range(120):
        batch: list[Touch] = []
        for _ in range(rng.randint(0, 20)):
            ts = clock.now() - rng.choice([0, 0, rng.uniform(0, 60), rng.uniform(0, 300)])
            site, visitor, path = rng.choice("xy"), rng.randint(1, 40), rng.choice(paths)
            batch.append((site, visitor, ts, path))
            touches[site].append((visitor, min(ts, clock.now()), path))
        await presence.touch_many(batch)
        clock.advance(rng.choice([0, rng.uniform(0, 8), rng.uniform(0, 60)]))
        for site in "xy":
            now = clock.now()
            for text in patterns:
                expected = brute_force_pages(touches[site], now, WINDOW, text)
                assert await presence.count_path(site, pattern(text)) == expected, text
            pages = [await presence.count_path(site, pattern(path)) for path in paths]
            assert sum(pages) == await presence.count(site)  # one page per visitor


async def test_rebuild_puts_visitors_on_their_latest_page(
    presence: Presence, clock: FakeClock
) -> None:
    now = clock.now()
    await presence.rebuild(
        [("s", 1, now - 10, "/pricing"), ("s", 2, now - 20, "/pricing/team"), ("s", 3, now, "/")]
    )
    assert await presence.count_path("s", pattern("/pricing")) == 1
    assert await presence.count_path("s", pattern("/pricing*")) == 2
    await presence.touch_many([("s", 1, now, "/")])
    assert await presence.count_path("s", pattern("/pricing*")) == 1
    assert await presence.count_path("s", pattern("/")) == 2


async def test_sweep_keeps_page_counts(presence: Presence, clock: FakeClock) -> None:
    start = clock.now()
    await presence.touch_many([("s", 1, start - 170, "/a"), ("s", 2, start, "/b")])
    clock.value = start + 20  # visitor 1 left the window
    await presence.sweep()
    assert await presence.count_path("s", pattern("/a")) == 0
    assert await presence.count_path("s", pattern("/*")) == 1
    assert await presence.count_path("s", pattern("/b")) == 1
    await presence.touch_many([("s", 1, clock.now(), "/a")])
    assert await presence.count_path("s", pattern("/a")) == 1


# --- Redis only: a backend shared by every instance ----------------------------------------


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client to look at (and break) the keys under the test's prefix."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def instances(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> AsyncIterator[Callable[..., RedisPresence]]:
    """Builds RedisPresence "instances" sharing the test's prefix."""
    made: list[RedisPresence] = []

    def make(loader: Loader | None = None) -> RedisPresence:
        presence = RedisPresence.from_url(redis_url, redis_prefix, clock, loader, window=WINDOW)
        made.append(presence)
        return presence

    yield make
    for presence in made:
        await presence.close()


class CountingLoader:
    """A loader standing for the event store: returns fixed touches, counts its calls."""

    def __init__(self, touches: list[Touch], delay: float = 0.0) -> None:
        self.touches = touches
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> Iterable[Touch]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return list(self.touches)


async def keys_under(raw: aioredis.Redis, prefix: str) -> set[str]:
    return {key.decode() async for key in raw.scan_iter(match=f"{prefix}:*", count=1000)}


async def test_keys_are_namespaced_and_expire(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    presence = instances()
    now = clock.now()
    await presence.touch_many([("site-a", 12345678901234, now, "/"), ("site-b", 7, now, "/x")])
    await presence.rebuild([])
    p = f"{redis_prefix}:presence"
    assert await keys_under(raw, redis_prefix) == {
        *(f"{p}:{site}{part}" for site in ("site-a", "site-b") for part in ("", ":at", ":pages")),
        f"{p}:site-a:page:/",
        f"{p}:site-b:page:/x",
        f"{p}:loaded",
    }
    for site in ("site-a", "site-b"):
        for part in ("", ":at", ":pages"):
            assert 0 < await raw.ttl(f"{p}:{site}{part}") <= WINDOW + 60
    assert WINDOW + 60 < await raw.ttl(f"{p}:site-b:page:/x") <= WINDOW + 600
    members = await raw.zrange(f"{p}:site-a", 0, -1, withscores=True)
    assert members == [(b"12345678901234", now)]
    assert await raw.hgetall(f"{p}:site-b:at") == {b"7": b"/x"}
    assert await raw.zrange(f"{p}:site-b:page:/x", 0, -1, withscores=True) == [(b"7", now)]
    assert await raw.zrange(f"{p}:site-b:pages", 0, -1, withscores=True) == [(b"/x", now)]


async def test_count_trims_what_left_the_window(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    presence = instances()
    start = clock.now()
    await presence.touch_many([("s", 1, start - 100, "/"), ("s", 2, start, "/")])
    clock.value = start + 80  # visitor 1 is exactly 180 s old
    assert await presence.count("s") == 1
    assert await raw.zcard(f"{redis_prefix}:presence:s") == 1


async def test_instances_share_one_answer(
    instances: Callable[..., RedisPresence], clock: FakeClock
) -> None:
    first, second = instances(), instances()
    await first.touch_many([("s", 1, clock.now(), "/")])
    assert await second.count("s") == 1
    await second.touch_many([("s", 2, clock.now(), "/"), ("s", 1, clock.now() - 50, "/")])
    assert await first.count("s") == 2
    clock.advance(179)
    assert await first.count("s") == await second.count("s") == 2


async def test_instances_move_visitors_between_pages(
    instances: Callable[..., RedisPresence], clock: FakeClock
) -> None:
    first, second = instances(), instances()
    now = clock.now()
    await first.touch_many([("s", 1, now - 5, "/a"), ("s", 2, now - 5, "/a")])
    await second.touch_many([("s", 1, now, "/b")])
    await first.touch_many([("s", 2, now - 50, "/c")])  # older than visitor 2's latest
    for presence in (first, second):
        assert await presence.count_path("s", pattern("/a")) == 1
        assert await presence.count_path("s", pattern("/b")) == 1
        assert await presence.count_path("s", pattern("/c")) == 0


async def test_sweep_forgets_pages_and_visitors_that_left(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    presence = instances()
    start = clock.now()
    await presence.touch_many(
        [("s", n, start - 100, f"/old/{n}") for n in range(50)]
        + [("s", 100, start - 100, "/kept"), ("s", 101, start, "/kept")]
    )
    clock.value = start + 90  # everyone but visitor 101 left the window
    await presence.sweep()
    p = f"{redis_prefix}:presence:s"
    assert await raw.hgetall(f"{p}:at") == {b"101": b"/kept"}
    assert await raw.zrange(f"{p}:pages", 0, -1) == [b"/kept"]
    assert await raw.zrange(f"{p}:page:/kept", 0, -1) == [b"101"]
    assert not any(":page:/old/" in key for key in await keys_under(raw, redis_prefix))
    assert await presence.count_path("s", pattern("/kept")) == 1
    assert await presence.count_path("s", pattern("/old/*")) == 0
    await presence.sweep()  # nothing touched since: nothing to do
    await presence.touch_many([("s", 7, clock.now(), "/old/7")])
    assert await presence.count_path("s", pattern("/old/*")) == 1


async def test_lost_data_is_rebuilt_by_the_next_page_count(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    now = clock.now()
    loader = CountingLoader([("s", 1, now - 10, "/pricing"), ("s", 2, now - 5, "/")])
    presence = instances(loader)
    await presence.rebuild([])
    await raw.delete(*await keys_under(raw, redis_prefix))  # Redis lost everything
    assert await presence.count_path("s", pattern("/pricing")) == 1
    assert loader.calls == 1
    assert await presence.count_path("s", pattern("/*")) == 2
    assert loader.calls == 1


async def test_rebuild_merges_without_wiping_live_state(
    instances: Callable[..., RedisPresence], clock: FakeClock
) -> None:
    live, restarted = instances(), instances()
    start = clock.now()
    await live.touch_many([("s", 1, start, "/")])
    # Another instance starts and merges what the event store has (older for visitor 1).
    await restarted.rebuild([("s", 1, start - 100, "/"), ("s", 2, start - 10, "/")])
    assert await live.count("s") == 2
    clock.value = start + 175
    assert await live.count("s") == 1  # visitor 1 kept its newer time (age 175)


async def test_lost_data_is_rebuilt_by_the_next_count(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    now = clock.now()
    store = [
        ("s", 1, now - 10, "/"),
        ("s", 2, now - 20, "/"),
        ("s", 3, now - 400, "/"),
        ("t", 4, now - 1, "/"),
    ]
    loader = CountingLoader(store)
    presence = instances(loader)
    await presence.rebuild(store)  # start-up
    assert await presence.count("s") == 2
    assert loader.calls == 0

    # Redis restarts empty (only this test's keys: the shared Redis is never flushed).
    await raw.delete(*await keys_under(raw, redis_prefix))
    await presence.touch_many([("s", 5, now, "/")])  # live traffic right after the loss is kept
    assert await presence.count("s") == 3
    assert loader.calls == 1
    assert await raw.exists(f"{redis_prefix}:presence:loaded") == 1
    assert await raw.exists(f"{redis_prefix}:presence:rebuilding") == 0  # lock released
    assert await presence.count("t") == 1
    assert loader.calls == 1


async def test_one_instance_rebuilds_while_the_others_answer(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    now = clock.now()
    loader = CountingLoader([("s", visitor, now - visitor, "/") for visitor in range(1, 51)], 0.2)
    fleet = [instances(loader) for _ in range(4)]
    await fleet[0].touch_many([("s", 1, now, "/")])
    answers = await asyncio.gather(*(presence.count("s") for presence in fleet * 3))
    assert loader.calls == 1
    assert 50 in answers  # the rebuilding instance answers from the rebuilt set
    assert all(answer in (1, 50) for answer in answers)  # the others answered meanwhile
    assert [await presence.count("s") for presence in fleet] == [50, 50, 50, 50]
    assert loader.calls == 1


async def test_a_held_lock_defers_the_rebuild(
    instances: Callable[..., RedisPresence],
    raw: aioredis.Redis,
    redis_prefix: str,
    clock: FakeClock,
) -> None:
    loader = CountingLoader([("s", 1, clock.now(), "/"), ("s", 2, clock.now(), "/")])
    presence = instances(loader)
    await raw.set(f"{redis_prefix}:presence:rebuilding", "someone-else", ex=30)
    assert await presence.count("s") == 0
    assert loader.calls == 0
    await raw.delete(f"{redis_prefix}:presence:rebuilding")  # that instance died
    assert await presence.count("s") == 2
    assert loader.calls == 1


async def test_a_failed_rebuild_releases_the_lock(
    instances: Callable[..., RedisPresence], raw: aioredis.Redis, redis_prefix: str
) -> None:
    async def broken() -> Iterable[Touch]:
        raise BackendUnavailable("event store")

    presence = instances(broken)
    with pytest.raises(BackendUnavailable):
        await presence.count("s")
    assert await raw.exists(f"{redis_prefix}:presence:rebuilding") == 0
    assert await raw.exists(f"{redis_prefix}:presence:loaded") == 0


async def test_without_a_loader_counts_what_redis_has(
    instances: Callable[..., RedisPresence], clock: FakeClock
) -> None:
    presence = instances()
    await presence.touch_many([("s", 1, clock.now(), "/")])
    assert await presence.count("s") == 1


async def test_unreachable_redis_is_backend_unavailable(clock: FakeClock) -> None:
    presence = RedisPresence.from_url("redis://127.0.0.1:1/0", "p", clock)
    try:
        for call in (
            presence.ping(),
            presence.count("s"),
            presence.touch_many([("s", 1, clock.now(), "/")]),
            presence.rebuild([("s", 1, clock.now(), "/")]),
        ):
            with pytest.raises(BackendUnavailable) as info:
                await call
            assert info.value.backend == "presence"
            assert info.value.status == 503
    finally:
        await presence.close()


async def test_unresponsive_redis_times_out_as_backend_unavailable(clock: FakeClock) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = redis_client(f"redis://127.0.0.1:{port}/0", socket_timeout=0.2)
    presence = RedisPresence(client, "p", clock, owns_client=True)
    try:
        with pytest.raises(BackendUnavailable):
            await presence.count("s")
    finally:
        await presence.close()
        server.close()
        await server.wait_closed()


async def test_reconnects_after_the_connection_drops(
    redis_url: str, redis_prefix: str, raw: aioredis.Redis, clock: FakeClock
) -> None:
    client = redis_client(redis_url)
    presence = RedisPresence(client, redis_prefix, clock)
    try:
        await presence.touch_many([("s", 1, clock.now(), "/")])
        connection_id = await client.client_id()
        await raw.client_kill_filter(_id=str(connection_id))  # as a Redis restart would
        assert await presence.count("s") == 1
        await presence.close()  # the caller owns the client: still usable
        assert await client.ping()
    finally:
        await client.aclose()
