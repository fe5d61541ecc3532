"""The `Presence` interface: the realtime count's only data source.

The Realtime API never scans the event store; it asks a `Presence` for the number of distinct
visitors whose latest pageview falls inside the window `(now - window, now]`. Presence is fed
only with pageviews that were committed to the event store, and rebuilt from the event store
when a process starts.

Per-page counts: a visitor is on the page of their most recent pageview in the window (one page
at a time), so the counts of pages never add up to more than the site count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from footfall.realtime.paths import PathPattern

WINDOW_SECONDS = 180.0
"""The Realtime API's window, fixed by its contract (docs/api/realtime.md)."""

# (site id, visitor id, pageview timestamp in Unix seconds, the page's path)
Touch = tuple[str, int, float, str]


class Presence(Protocol):
    """Live presence per site. Backend outages raise `footfall.errors.BackendUnavailable`."""

    window: float

    async def touch_many(self, touches: Sequence[Touch]) -> None:
        """Record pageviews. Timestamps may arrive out of order (backfill)."""
        ...

    async def count(self, site_id: str) -> int:
        """Distinct visitors of the site with a pageview in the window ending now."""
        ...

    async def count_path(self, site_id: str, pattern: PathPattern) -> int:
        """Distinct visitors of the site whose latest pageview in the window ending now is on
        a page `pattern` matches."""
        ...

    async def rebuild(self, touches: Iterable[Touch]) -> None:
        """Load pageviews read from the event store (at start-up, or after the presence
        backend lost its data). A private backend replaces its state; a shared one merges,
        keeping the newest pageview (time and page) per visitor, since other instances are
        live."""
        ...

    async def ping(self) -> None:
        """Raise `BackendUnavailable` if the presence backend cannot be reached."""
        ...

    async def sweep(self) -> None:
        """Drop expired state of every site (housekeeping)."""
        ...

    async def close(self) -> None: ...
