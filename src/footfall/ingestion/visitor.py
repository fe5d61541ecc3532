"""Cookieless visitor identity: a keyed hash of (daily salt, website, IP, user agent).

Salts rotate at UTC midnight. Today's and yesterday's salts are kept so that a visitor active
across midnight is not split in two: ingestion also computes the id under yesterday's salt and
keeps using it while that visitor's visit is still running. Older salts are deleted, after
which nobody (not even the operator) can link an old visitor id to an IP address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class SaltSource(Protocol):
    async def salts_for(self, today: str, yesterday: str) -> tuple[bytes, bytes | None]: ...


def _to_int64(digest: bytes) -> int:
    return int.from_bytes(digest, "big", signed=True)


def visitor_hash(salt: bytes, site_id: str, ip: str, user_agent: str) -> int:
    """A 64-bit visitor id; changes with the salt, so it cannot follow anyone past two days."""
    h = hashlib.blake2b(key=salt, digest_size=8)
    h.update(site_id.encode())
    h.update(b"\x00")
    h.update(ip.encode())
    h.update(b"\x00")
    h.update(user_agent.encode("utf-8", "replace"))
    return _to_int64(h.digest())


def explicit_visitor_id(site_id: str, visitor_id: str) -> int:
    """The id for a visitor named by a server-side caller (`visitorId`): stable, per site."""
    h = hashlib.blake2b(digest_size=8, person=b"footfall-vid")
    h.update(site_id.encode())
    h.update(b"\x00")
    h.update(visitor_id.encode())
    return _to_int64(h.digest())


@dataclass(frozen=True, slots=True)
class DaySalts:
    day: str
    current: bytes
    previous: bytes | None


class SaltRing:
    """Today's and yesterday's salts, fetched once per UTC day from the shared `SaltSource`."""

    def __init__(self, source: SaltSource) -> None:
        self._source = source
        self._cached: DaySalts | None = None
        self._day_start = self._day_end = 0.0

    async def for_time(self, ts: float) -> DaySalts:
        cached = self._cached
        if cached is not None and self._day_start <= ts < self._day_end:
            return cached  # the hot path: two float comparisons
        day = datetime.fromtimestamp(ts, UTC).date()
        yesterday = (day - timedelta(days=1)).isoformat()
        current, previous = await self._source.salts_for(day.isoformat(), yesterday)
        self._cached = DaySalts(day=day.isoformat(), current=current, previous=previous)
        self._day_start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        self._day_end = self._day_start + 86_400
        return self._cached
