"""Visits (sessions): a visitor's events belong to one visit until 30 minutes pass without one.

`MemoryVisits` keeps each active visitor's latest event time and visit id in an
`ExpiringLatest`, so assignment is O(1) amortised and memory holds only visitors seen within
the timeout. It is rebuilt from the event store on start so a restart does not split visits.
It also carries visitors across the daily salt rotation: if today's id has no running visit
but yesterday's has, the visitor keeps yesterday's id until that visit ends.

Backfilled events older than the timeout cannot be in the live structure (it forgets them at
once), so they are joined into visits through a bounded LRU memo instead: an import sent in
time order, across any number of requests, gets the same visits as live traffic would.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterable

from footfall.expiring import ExpiringLatest
from footfall.storage.events import RecentVisit

BACKFILL_MEMO_SIZE = 100_000


def new_visit_id() -> int:
    """A random positive 63-bit visit id."""
    return random.getrandbits(63)


class BackfillMemo:
    """Visits of backfilled events older than the timeout, in a bounded LRU per process.

    Live structures forget such events at once, so an import sent in time order is joined into
    visits here: (site, visitor) -> (latest ts, visit id).
    """

    def __init__(self, timeout: float, size: int = BACKFILL_MEMO_SIZE) -> None:
        self.timeout = timeout
        self._size = size
        self._memo: OrderedDict[tuple[str, int], tuple[float, int]] = OrderedDict()

    def assign(self, key: tuple[str, int], ts: float) -> int:
        """The visit id of a backfilled event at `ts`; records it."""
        memo = self._memo.pop(key, None)
        if memo is not None and abs(ts - memo[0]) <= self.timeout:
            visit_id = memo[1]
        else:
            visit_id = new_visit_id()
        self._memo[key] = (ts, visit_id)
        if len(self._memo) > self._size:
            self._memo.popitem(last=False)
        return visit_id

    def clear(self) -> None:
        self._memo.clear()


class MemoryVisits:
    """Visit assignment for one process (the embedded tier)."""

    def __init__(self, timeout: float = 1800.0) -> None:
        self.timeout = timeout
        self._latest: ExpiringLatest[tuple[str, int], int] = ExpiringLatest()
        self._backfill = BackfillMemo(timeout)

    async def assign(
        self, site_id: str, visitor_id: int, previous_visitor_id: int | None, ts: float, now: float
    ) -> tuple[int, int]:
        """The (visitor id, visit id) an event at `ts` belongs to; records the event."""
        cutoff = now - self.timeout
        if ts <= cutoff:
            return visitor_id, self._backfill.assign((site_id, visitor_id), ts)
        self._latest.expire(cutoff)
        key = (site_id, visitor_id)
        entry = self._latest.get(key)
        if entry is None and previous_visitor_id is not None:
            previous = self._latest.get((site_id, previous_visitor_id))
            if previous is not None:
                key, entry, visitor_id = (
                    (site_id, previous_visitor_id),
                    previous,
                    previous_visitor_id,
                )
        if entry is not None and abs(ts - entry[0]) <= self.timeout:
            visit_id = entry[1]
        else:
            visit_id = new_visit_id()
        self._latest.touch(key, ts, visit_id)
        return visitor_id, visit_id

    async def rebuild(self, recent: Iterable[RecentVisit]) -> None:
        """Replace state with the visits the event store remembers."""
        self._latest.clear()
        for visit in sorted(recent, key=lambda v: v.last_ts):
            self._latest.touch((visit.site_id, visit.visitor_id), visit.last_ts, visit.visit_id)

    async def close(self) -> None:
        self._latest.clear()
        self._backfill.clear()

    def __len__(self) -> int:
        return len(self._latest)
