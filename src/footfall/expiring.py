"""`ExpiringLatest`: the latest timestamp (and a value) per key, forgetting keys as time passes.

Both live presence (visitors with a pageview in the last 3 minutes) and visit tracking (a visit
ends after 30 minutes without events) need the same structure: "when did I last see this key,
and which keys are still recent". Costs:

- `touch`: O(1) amortised for timestamps arriving in order; a timestamp older than the newest
  seen so far (backfilled events) goes to a small heap instead, O(log n).
- `expire(cutoff)`: amortised O(1) per touch — every queued entry is popped at most once.
- `len()`: O(1) — the number of keys still tracked.

Entries for a key touched again stay queued until they expire; they are skipped because the
key's latest timestamp moved on. Memory is therefore proportional to touches within the
window, not to every key ever seen. Values are kept in a dict of their own and only when not
None, so that presence (which needs none) pays for a timestamp per visitor and nothing more.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable, Iterator
from itertools import count
from typing import Generic, TypeVar, cast

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringLatest(Generic[K, V]):
    """Keys with their latest timestamp and a value; keys at or before a cutoff are dropped."""

    __slots__ = ("_late", "_latest", "_queue", "_seq", "_values")

    def __init__(self) -> None:
        self._latest: dict[K, float] = {}
        self._values: dict[K, V] = {}
        self._queue: deque[tuple[float, K]] = deque()
        self._late: list[tuple[float, int, K]] = []
        self._seq = count()

    def __len__(self) -> int:
        return len(self._latest)

    def __iter__(self) -> Iterator[K]:
        return iter(self._latest)

    def get(self, key: K) -> tuple[float, V] | None:
        """The key's latest (timestamp, value), or None when unknown or expired."""
        ts = self._latest.get(key)
        if ts is None:
            return None
        return ts, cast(V, self._values.get(key))

    def touch(self, key: K, ts: float, value: V) -> bool:
        """Record `key` at `ts`; returns False (and changes nothing) if it has a later one."""
        current = self._latest.get(key)
        if current is not None and current >= ts:
            return False
        self._latest[key] = ts
        if value is not None:
            self._values[key] = value
        if not self._queue or ts >= self._queue[-1][0]:
            self._queue.append((ts, key))
        else:
            heapq.heappush(self._late, (ts, next(self._seq), key))
        return True

    def expire(self, cutoff: float) -> None:
        """Forget every key whose latest timestamp is at or before `cutoff`."""
        queue, latest, values = self._queue, self._latest, self._values
        while queue and queue[0][0] <= cutoff:
            ts, key = queue.popleft()
            if latest.get(key) == ts:
                del latest[key]
                values.pop(key, None)
        late = self._late
        while late and late[0][0] <= cutoff:
            ts, _, key = heapq.heappop(late)
            if latest.get(key) == ts:
                del latest[key]
                values.pop(key, None)

    def clear(self) -> None:
        self._latest.clear()
        self._values.clear()
        self._queue.clear()
        self._late.clear()
