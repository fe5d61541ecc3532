"""`SiteVisitors`: one site's current visitors, each on the page of their latest pageview.

What `MemoryPresence` keeps per site. A visitor is on one page at a time — the page of their
most recent pageview — so per-page counts add up to the site count and never exceed it. Like
`footfall.expiring.ExpiringLatest` (which it specialises), costs are:

- `touch`: O(1) amortised for timestamps arriving in order; an older timestamp than the newest
  queued (backfill) goes to a heap, O(log n);
- `expire(cutoff)`: amortised O(1) per touch, each queued entry is popped once;
- `len()` (the site count) and the count of one exact page: O(1);
- the count of a prefix pattern: O(pages with current visitors).

Each visitor's latest pageview is one `(ts, visitor, path)` tuple, shared by the visitor map
and the expiry queue, so the path costs one tuple slot per visitor, not a dict of its own.
Queued entries of a visitor who moved on stay queued until they expire and are then skipped
(they are no longer the visitor's entry). Paths are interned: a page's path is held once
however many visitors are on it.
"""

from __future__ import annotations

import heapq
import sys
from collections import deque
from itertools import count

from footfall.realtime.paths import PathPattern

Entry = tuple[float, int, str]
"""(timestamp, visitor id, path) of a visitor's latest pageview."""


class SiteVisitors:
    """Visitors with their latest pageview time and page; counts per page kept up to date."""

    __slots__ = ("_late", "_latest", "_queue", "_seq", "pages")

    def __init__(self) -> None:
        self._latest: dict[int, Entry] = {}
        self._queue: deque[Entry] = deque()
        self._late: list[tuple[float, int, Entry]] = []
        self._seq = count()
        self.pages: dict[str, int] = {}
        """Path -> number of tracked visitors whose latest pageview is on it (never 0)."""

    def __len__(self) -> int:
        return len(self._latest)

    def touch(self, visitor: int, ts: float, path: str) -> bool:
        """Record a pageview; returns False (and changes nothing) if the visitor has a later
        one. Of two pageviews at the same time, the one recorded last wins (navigation within
        one clock tick ends on the second page)."""
        latest = self._latest
        current = latest.get(visitor)
        if current is not None:
            if current[0] > ts:
                return False
            self._leave(current[2])
        path = sys.intern(path)
        entry = (ts, visitor, path)
        latest[visitor] = entry
        pages = self.pages
        pages[path] = pages.get(path, 0) + 1
        queue = self._queue
        if not queue or ts >= queue[-1][0]:
            queue.append(entry)
        else:
            heapq.heappush(self._late, (ts, next(self._seq), entry))
        return True

    def _leave(self, path: str) -> None:
        left = self.pages[path] - 1
        if left:
            self.pages[path] = left
        else:
            del self.pages[path]

    def expire(self, cutoff: float) -> None:
        """Forget every visitor whose latest pageview is at or before `cutoff`."""
        queue, latest = self._queue, self._latest
        while queue and queue[0][0] <= cutoff:
            entry = queue.popleft()
            if latest.get(entry[1]) is entry:
                del latest[entry[1]]
                self._leave(entry[2])
        late = self._late
        while late and late[0][0] <= cutoff:
            entry = heapq.heappop(late)[2]
            if latest.get(entry[1]) is entry:
                del latest[entry[1]]
                self._leave(entry[2])

    def count(self, pattern: PathPattern) -> int:
        """Tracked visitors whose latest pageview is on a page `pattern` matches."""
        if not pattern.prefix:
            return self.pages.get(pattern.base, 0)
        if pattern.everything:
            return len(self._latest)
        base = pattern.base
        return sum(n for path, n in self.pages.items() if path.startswith(base))
