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


class MemoryVisits:
    """Visit assignment for one process (the embedded tier)."""

    def __init__(self, timeout: float = 1800.0) -> None:
        self.timeout = timeout
        self._latest: ExpiringLatest[tuple[str, int], int] = ExpiringLatest()
        self._backfill: OrderedDict[tuple[str, int], tuple[float, int]] = OrderedDict()

    def assign(
        self, site_id: str, visitor_id: int, previous_visitor_id: int | None, ts: float, now: float
    ) -> tuple[int, int]:
        """The (visitor id, visit id) an event at `ts` belongs to; records the event."""
        cutoff = now - self.timeout
        if ts <= cutoff:
            return visitor_id, self._assign_backfill((site_id, visitor_id), ts)
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

    def _assign_backfill(self, key: tuple[str, int], ts: float) -> int:
        memo = self._backfill.pop(key, None)
        if memo is not None and abs(ts - memo[0]) <= self.timeout:
            visit_id = memo[1]
        else:
            visit_id = new_visit_id()
        self._backfill[key] = (ts, visit_id)
        if len(self._backfill) > BACKFILL_MEMO_SIZE:
            self._backfill.popitem(last=False)
        return visit_id

    def rebuild(self, recent: Iterable[RecentVisit]) -> None:
        """Replace state with the visits the event store remembers."""
        self._latest.clear()
        for visit in sorted(recent, key=lambda v: v.last_ts):
            self._latest.touch((visit.site_id, visit.visitor_id), visit.last_ts, visit.visit_id)

    def __len__(self) -> int:
        return len(self._latest)
