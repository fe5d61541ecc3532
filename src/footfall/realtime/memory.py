"""`MemoryPresence`: presence in this process's memory (the embedded tier).

One `SiteVisitors` per site maps visitor -> latest pageview (time and page); counting expires
what left the window and returns the number of visitors left (or of those on matching pages),
so touch and count are O(1) amortised (a prefix pattern adds O(pages with visitors)).
Timestamps later than now (allowed backfill skew) are clamped to now so that a visitor is never
held in the window longer than the window itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from footfall.clock import Clock
from footfall.realtime.base import WINDOW_SECONDS, Touch
from footfall.realtime.paths import PathPattern
from footfall.realtime.site_visitors import SiteVisitors


class MemoryPresence:
    """Exact per-site and per-page live visitor counts held in a dict of `SiteVisitors`."""

    def __init__(self, clock: Clock, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._clock = clock
        self._sites: dict[str, SiteVisitors] = {}

    def _touch(self, touches: Iterable[Touch], now: float) -> None:
        cutoff = now - self.window
        for site_id, visitor_id, ts, path in touches:
            ts = min(ts, now)
            if ts <= cutoff:
                continue
            visitors = self._sites.get(site_id)
            if visitors is None:
                visitors = self._sites[site_id] = SiteVisitors()
            visitors.touch(visitor_id, ts, path)

    async def touch_many(self, touches: Sequence[Touch]) -> None:
        self._touch(touches, self._clock.now())

    async def count(self, site_id: str) -> int:
        visitors = self._sites.get(site_id)
        if visitors is None:
            return 0
        visitors.expire(self._clock.now() - self.window)
        return len(visitors)

    async def count_path(self, site_id: str, pattern: PathPattern) -> int:
        visitors = self._sites.get(site_id)
        if visitors is None:
            return 0
        visitors.expire(self._clock.now() - self.window)
        return visitors.count(pattern)

    async def rebuild(self, touches: Iterable[Touch]) -> None:
        self._sites.clear()
        # Oldest first keeps the queues in order (no heap work for rebuilt entries).
        self._touch(sorted(touches, key=lambda t: t[2]), self._clock.now())

    async def sweep(self) -> None:
        cutoff = self._clock.now() - self.window
        for site_id in list(self._sites):
            visitors = self._sites[site_id]
            visitors.expire(cutoff)
            if not visitors:
                del self._sites[site_id]

    async def ping(self) -> None:
        """Memory is always reachable."""

    async def close(self) -> None:
        self._sites.clear()
