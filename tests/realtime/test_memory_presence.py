"""`MemoryPresence`, the `SiteVisitors` structure under it, and `ExpiringLatest`."""

from __future__ import annotations

import random

from footfall.expiring import ExpiringLatest
from footfall.realtime.memory import MemoryPresence
from footfall.realtime.paths import PathPattern
from footfall.realtime.site_visitors import SiteVisitors
from tests.conftest import FakeClock


def brute_force(touches: list[tuple[int, float]], now: float, window: float) -> int:
    latest: dict[int, float] = {}
    for visitor, ts in touches:
        ts = min(ts, now)
        latest[visitor] = max(latest.get(visitor, ts), ts)
    return sum(1 for ts in latest.values() if ts > now - window)


async def test_matches_brute_force_with_out_of_order_timestamps() -> None:
    rng = random.Random(7)
    clock = FakeClock(1_000_000.0)
    presence = MemoryPresence(clock, window=180)
    touches: list[tuple[int, float]] = []
    for _ in range(300):
        batch = []
        for _ in range(rng.randint(0, 20)):
            # Mostly current, some backfilled up to 5 minutes late, some slightly ahead.
            ts = clock.now() - rng.choice([0, 0, 0, rng.uniform(0, 300), -rng.uniform(0, 30)])
            visitor = rng.randint(1, 60)
            batch.append(("site", visitor, ts, "/"))
            touches.append((visitor, ts))
        await presence.touch_many(batch)
        clock.advance(rng.uniform(0, 8))
        assert await presence.count("site") == brute_force(touches, clock.now(), 180)


async def test_window_is_exclusive_at_180_seconds() -> None:
    clock = FakeClock(1000.0)
    presence = MemoryPresence(clock, window=180)
    await presence.touch_many([("s", 1, 1000.0, "/")])
    clock.value = 1179.999
    assert await presence.count("s") == 1
    clock.value = 1180.0
    assert await presence.count("s") == 0


async def test_future_timestamps_are_clamped_to_now() -> None:
    clock = FakeClock(1000.0)
    presence = MemoryPresence(clock, window=180)
    await presence.touch_many([("s", 1, 1000.0 + 240, "/")])
    clock.advance(181)
    assert await presence.count("s") == 0


async def test_rebuild_replaces_state_and_sweep_forgets_idle_sites() -> None:
    clock = FakeClock(1000.0)
    presence = MemoryPresence(clock, window=180)
    await presence.touch_many([("a", 1, 1000.0, "/"), ("b", 2, 1000.0, "/")])
    await presence.rebuild([("a", 5, 990.0, "/"), ("a", 6, 700.0, "/")])
    assert await presence.count("a") == 1
    assert await presence.count("b") == 0
    clock.advance(200)
    await presence.sweep()
    assert presence._sites == {}


def test_expiring_latest_memory_is_bounded_by_the_window() -> None:
    structure: ExpiringLatest[int, None] = ExpiringLatest()
    for second in range(10_000):
        structure.touch(second % 500, float(second), None)
        structure.expire(second - 180.0)
    assert len(structure) == 180
    assert len(structure._queue) <= 181


def test_expiring_latest_keeps_the_newest_value() -> None:
    structure: ExpiringLatest[str, int] = ExpiringLatest()
    assert structure.touch("k", 10.0, 1)
    assert not structure.touch("k", 5.0, 2)  # older: ignored
    assert structure.get("k") == (10.0, 1)
    assert structure.touch("k", 11.0, 3)
    structure.expire(10.5)
    assert structure.get("k") == (11.0, 3)
    structure.expire(11.0)
    assert structure.get("k") is None


def test_site_visitors_memory_is_bounded_by_the_window() -> None:
    visitors = SiteVisitors()
    for second in range(10_000):
        visitors.touch(second % 500, float(second), f"/page/{second % 7}")
        visitors.expire(second - 180.0)
    assert len(visitors) == 180
    assert len(visitors._queue) <= 181
    assert sum(visitors.pages.values()) == 180
    visitors.expire(20_000.0)
    assert len(visitors) == 0
    assert visitors.pages == {}  # pages without visitors are forgotten


def test_site_visitors_share_one_copy_of_each_path() -> None:
    visitors = SiteVisitors()
    for n in range(3):
        visitors.touch(n, 1.0, "".join(["/pri", "cing"]))  # a new string each time
    paths = {id(entry[2]) for entry in visitors._latest.values()}
    assert len(paths) == 1
    assert visitors.count(PathPattern.parse("/pricing")) == 3
