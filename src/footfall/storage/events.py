"""The event record and the `EventStore` interface every event backend implements.

An `Event` is what ingestion produced: enriched, with a visitor id and visit id, and holding no
raw IP address or full user-agent string. Stores append events in batches (one transaction per
batch: the group-commit writer acknowledges requests only after that commit) and answer the
queries presence and visits need to rebuild after a restart.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

PAGEVIEW = "pageview"

# The column order of the events table; `Event.row()` yields values in this order.
COLUMNS: tuple[str, ...] = (
    "ts",
    "site_id",
    "visitor_id",
    "visit_id",
    "name",
    "hostname",
    "pathname",
    "referrer",
    "referrer_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "country",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "screen_size",
    "props",
    # Added by schema version 2 (appended, so the table's column order stays COLUMNS).
    "region",  # ISO 3166-2 subdivision code, only with a user-supplied city/region database
    "city",
    "event_id",  # the client's id for the event: a retried event is stored once
)

# Position of `props` in `COLUMNS`: stores encode it (JSON) unlike every other field.
PROPS_INDEX = COLUMNS.index("props")


@dataclass(slots=True)
class Event:
    """One stored event. `ts` is Unix seconds (UTC); `props` holds scalar custom properties."""

    ts: float
    site_id: str
    visitor_id: int
    name: str
    hostname: str
    pathname: str
    visit_id: int = 0
    referrer: str | None = None
    referrer_source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    country: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_type: str | None = None
    screen_size: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    city: str | None = None
    event_id: str | None = None

    @property
    def is_pageview(self) -> bool:
        return self.name == PAGEVIEW

    def values(self) -> tuple[Any, ...]:
        """The fields in `COLUMNS` order (ts in Unix seconds, props a dict): what stores write."""
        return _VALUES(self)


_VALUES = operator.attrgetter(*COLUMNS)


@dataclass(frozen=True, slots=True)
class RecentVisit:
    """The latest visit of a visitor, as the store remembers it (for rebuilding state)."""

    site_id: str
    visitor_id: int
    visit_id: int
    last_ts: float
    last_pageview_ts: float | None
    last_pageview_path: str | None = None  # the page of that latest pageview


class EventStore(Protocol):
    """Append-only event storage, one implementation per backend (DuckDB, PostgreSQL).

    Every method is a coroutine; blocking drivers run on a thread of their own inside the
    implementation. Backend outages raise `footfall.errors.BackendUnavailable`.
    """

    name: str
    """The backend's name in `/healthz` ("events")."""

    dialect: str
    """The SQL dialect `query_stats` speaks: "duckdb" or "postgres"."""

    async def append(self, events: Sequence[Event]) -> None:
        """Store all `events` in one transaction; return only once it is committed."""
        ...

    async def recent_visits(self, since: float) -> list[RecentVisit]:
        """Each visitor's latest visit among events at or after `since`, per site."""
        ...

    async def count(self, site_id: str | None = None) -> int:
        """Number of stored events (of one site, or all)."""
        ...

    async def events(self, site_id: str, limit: int = 1000) -> list[Event]:
        """The site's events, oldest first (for export and tests)."""
        ...

    def export_batches(self, batch_size: int = 10_000) -> AsyncIterator[list[Event]]:
        """Every event, oldest first, in batches (streamed: never all in memory)."""
        ...

    def export_range(
        self, site_id: str, start: float, end: float, batch_size: int = 10_000
    ) -> AsyncGenerator[list[Event], None]:
        """The site's events with `start <= ts < end` (Unix seconds), oldest first, in batches
        of at most `batch_size`, from one snapshot (streamed: never all in memory). Close the
        iterator (`aclose`) if it is not read to the end: it holds a cursor."""
        ...

    async def purge_sites(self, site_ids: Sequence[str]) -> int:
        """Delete every event of these sites; returns how many were deleted."""
        ...

    async def delete_before(self, site_id: str, ts: float) -> int:
        """Delete the site's events older than `ts` (retention); returns how many were deleted.
        Works in chunks, so appends are never held up for long."""
        ...

    async def recent_event_ids(self, since: float) -> list[tuple[str, str, float]]:
        """(site id, event id, ts) of the events with a client event id at or after `since`
        (to rebuild deduplication after a restart)."""
        ...

    async def query_stats(
        self, sql: str, params: Sequence[Any], *, time_limit: float
    ) -> list[tuple[Any, ...]]:
        """Run one read-only statement of `footfall.stats` (`$n` parameters) and return its
        rows; past `time_limit` seconds it is cancelled and `QueryTimeout` raised."""
        ...

    async def ping(self) -> None:
        """Raise `BackendUnavailable` if the store cannot answer a trivial query."""
        ...

    async def close(self) -> None: ...
