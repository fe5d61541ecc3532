"""The `Visits` interface: which visit an event belongs to (a visit ends after 30 idle minutes).

`MemoryVisits` serves one process (embedded tier); `RedisVisits` is shared by every instance of
a cluster so that a visitor whose requests land on different instances stays in one visit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from footfall.storage.events import RecentVisit


class Visits(Protocol):
    timeout: float

    async def assign(
        self, site_id: str, visitor_id: int, previous_visitor_id: int | None, ts: float, now: float
    ) -> tuple[int, int]:
        """The (visitor id, visit id) an event at `ts` belongs to; records the event.

        `previous_visitor_id` is the visitor's id under yesterday's salt: when it has a running
        visit and `visitor_id` has none, the visitor keeps the previous id (no midnight split).
        """
        ...

    async def rebuild(self, recent: Iterable[RecentVisit]) -> None:
        """Load the visits the event store remembers (start-up); shared backends merge."""
        ...

    async def close(self) -> None: ...
