"""Deduplication of retried events by their client event id (`eventId`), per site.

A client that did not see its request answered (network error, 503, 429) sends the same event
again with the same id. An id stored for the same site within the window (default one hour,
`FOOTFALL_EVENT_ID_WINDOW_SECONDS`) marks a retry: it is acknowledged (202, dropped as
`duplicate`) and neither stored nor counted again. Events without an id are never deduplicated.

An id goes through three states in a `SeenIds` backend:

    claim ─▶ PENDING ─┬─ confirm (committed) ─▶ STORED for `window` seconds
                      └─ release (not stored) ─▶ unknown again

`Deduplicator.admit` claims the ids of the events a request is about to hand to the writer; the
writer's hooks confirm them once committed or release them when they will not be stored
(refused at intake, store failure), whatever became of the request meanwhile. A duplicate that
arrives while its first copy is still PENDING (queued, or being committed) is answered 503 with
`Retry-After: 1`: its sender retries and, once the first copy is committed, gets its 202. It is
never acknowledged before the first copy is durable, so nothing acknowledged can be lost when
that commit fails.

A claim not settled within `PENDING_TTL` seconds (its process died between claim and commit)
lapses, so a later retry is stored. Stored ids are rebuilt from the event store at start-up
(`EventStore.recent_event_ids`), so deduplication survives a crash and restart of the embedded
server; backfilled events (timestamps older than the window) are not reloaded, as the store
keeps the event's time, not its arrival.

`MemorySeenIds` serves one process (embedded tier); `RedisSeenIds` (`ingestion/redis_dedup.py`)
is shared by every instance of a cluster.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from footfall.clock import Clock
from footfall.errors import ServiceUnavailable
from footfall.ingestion.drops import DropCounter, DropReason
from footfall.storage.events import Event

DEFAULT_WINDOW = 3600.0
"""Seconds an id stays known after its event was stored."""

PENDING_TTL = 30.0
"""Seconds a claim waits for its commit before it lapses. The writer settles every claim it was
handed (a PostgreSQL append gives up within 15 s), so only a process that died between claim
and commit leaves one behind: retries of its in-flight events are refused (503) that long."""

Key = tuple[str, str]
"""(site id, event id)."""

StoredId = tuple[str, str, float]
"""(site id, event id, when it was stored) as read back from the event store."""


class Claim(enum.Enum):
    NEW = "new"
    """Unknown id: now claimed by the caller, who stores the event."""
    STORED = "stored"
    """Stored within the window: a retry, to acknowledge without storing."""
    PENDING = "pending"
    """Claimed by a request whose event is not committed yet."""


class SeenIds(Protocol):
    """The ids of recently stored (and claimed) events. Times are Unix seconds."""

    window: float

    async def claim(self, keys: Sequence[Key], now: float) -> list[Claim]:
        """Claim every unknown key (atomically: of concurrent claims one gets NEW); the state
        found per key, in order. Keys must be distinct."""
        ...

    async def confirm(self, keys: Sequence[Key], now: float) -> None:
        """The events of these keys are committed: they are STORED until `now + window`."""
        ...

    async def release(self, keys: Sequence[Key]) -> None:
        """The events of these claimed keys will not be stored: forget the claims."""
        ...

    async def rebuild(self, stored: Iterable[StoredId], now: float) -> None:
        """Load the ids the event store holds (start-up); a shared backend merges."""
        ...

    async def sweep(self, now: float) -> None:
        """Forget what expired (housekeeping)."""
        ...

    async def close(self) -> None: ...


class MemorySeenIds:
    """Ids in this process's memory, for the embedded tier.

    Stored ids sit in time buckets (`window / 6` seconds wide) of 64-bit hashes of the key: a
    claim is at most 7 set lookups (3.4 µs measured, call included), memory about 80 bytes per
    id stored in the last window (measured; ~290 MB for a sustained 1,000 events/s with an
    hour's window: lower `FOOTFALL_EVENT_ID_WINDOW_SECONDS` for such traffic), and expiry drops
    whole buckets; an id stays known between `window` and `window + width` seconds. A new id
    shares the hash of one of the n ids in the window with odds n/2⁶⁴ (at a million events an
    hour, one event in ~10¹³ would be taken for a retry).
    """

    BUCKETS = 6

    def __init__(self, window: float = DEFAULT_WINDOW, pending_ttl: float = PENDING_TTL) -> None:
        self.window = window
        self._width = window / self.BUCKETS
        self._pending_ttl = pending_ttl
        self._buckets: deque[tuple[float, set[int]]] = deque()  # (bucket start, hashes)
        self._pending: dict[int, float] = {}  # hash -> claim time

    @staticmethod
    def _hash(key: Key) -> int:
        return hash(key)

    def _stored(self, h: int, now: float) -> bool:
        cutoff = now - self.window - self._width
        # A plain loop, not any() over a generator: this runs once per tracked event.
        for start, ids in self._buckets:  # noqa: SIM110
            if start > cutoff and h in ids:
                return True
        return False

    def _add(self, h: int, ts: float) -> None:
        start = ts - ts % self._width
        if self._buckets and self._buckets[-1][0] >= start:
            # The newest bucket (an older time only after a clock step back: the id is then
            # kept a little longer than needed, never shorter).
            self._buckets[-1][1].add(h)
        else:
            self._buckets.append((start, {h}))

    async def claim(self, keys: Sequence[Key], now: float) -> list[Claim]:
        result = []
        for key in keys:
            h = self._hash(key)
            claimed_at = self._pending.get(h)
            if claimed_at is not None and claimed_at > now - self._pending_ttl:
                result.append(Claim.PENDING)
            elif self._stored(h, now):
                result.append(Claim.STORED)
            else:
                self._pending[h] = now
                result.append(Claim.NEW)
        return result

    async def confirm(self, keys: Sequence[Key], now: float) -> None:
        for key in keys:
            h = self._hash(key)
            self._pending.pop(h, None)
            self._add(h, now)

    async def release(self, keys: Sequence[Key]) -> None:
        for key in keys:
            self._pending.pop(self._hash(key), None)

    async def rebuild(self, stored: Iterable[StoredId], now: float) -> None:
        self._buckets.clear()
        self._pending.clear()
        cutoff = now - self.window
        for site_id, event_id, ts in sorted(stored, key=lambda item: item[2]):
            if ts > cutoff:
                self._add(self._hash((site_id, event_id)), min(ts, now))

    async def sweep(self, now: float) -> None:
        cutoff = now - self.window - self._width
        while self._buckets and self._buckets[0][0] <= cutoff:
            self._buckets.popleft()
        lapsed = now - self._pending_ttl
        for h in [h for h, claimed_at in self._pending.items() if claimed_at <= lapsed]:
            del self._pending[h]

    def __len__(self) -> int:
        """Stored ids held (expired buckets included until the next sweep)."""
        return sum(len(ids) for _, ids in self._buckets)

    async def close(self) -> None:
        self._buckets.clear()
        self._pending.clear()


class Deduplicator:
    """Lets through the events to store and counts the retries it holds back."""

    def __init__(self, seen: SeenIds, clock: Clock, drops: DropCounter) -> None:
        self.seen = seen
        self._clock = clock
        self._drops = drops

    async def admit(self, events: Sequence[Event]) -> list[Event]:
        """The events to store, in order: those without an id and those whose id was unknown
        (now claimed). Retries of stored events, and repeats of an id within `events`, are
        left out and counted as `duplicate` drops.

        Raises `ServiceUnavailable` (retry in 1 s) if an id is claimed by a request whose event
        is not committed yet; the claims this call made are then released."""
        if len(events) == 1:  # every tracker request: the same answer, without the sets
            return await self._admit_one(events[0])
        if all(event.event_id is None for event in events):
            return list(events)
        to_claim: dict[Key, Event] = {}
        duplicates = 0
        for event in events:
            if event.event_id is not None:
                key = (event.site_id, event.event_id)
                if key in to_claim:
                    duplicates += 1
                else:
                    to_claim[key] = event
        keys = list(to_claim)
        states = await self.seen.claim(keys, self._clock.now())
        if Claim.PENDING in states:
            await self.seen.release(
                [k for k, s in zip(keys, states, strict=True) if s is Claim.NEW]
            )
            raise _still_storing()
        fresh = {id(to_claim[k]) for k, s in zip(keys, states, strict=True) if s is Claim.NEW}
        duplicates += len(keys) - len(fresh)
        if duplicates:
            self._drops.add(DropReason.DUPLICATE, duplicates)
        return [e for e in events if e.event_id is None or id(e) in fresh]

    async def _admit_one(self, event: Event) -> list[Event]:
        if event.event_id is None:
            return [event]
        state = (await self.seen.claim([(event.site_id, event.event_id)], self._clock.now()))[0]
        if state is Claim.PENDING:  # nothing was claimed, so nothing to release
            raise _still_storing()
        if state is Claim.STORED:
            self._drops.add(DropReason.DUPLICATE, 1)
            return []
        return [event]

    async def committed(self, events: Sequence[Event]) -> None:
        """Writer hook: these events are committed."""
        keys = _keys(events)
        if keys:
            await self.seen.confirm(keys, self._clock.now())

    async def abandoned(self, events: Sequence[Event]) -> None:
        """Writer hook: these events will not be stored."""
        keys = _keys(events)
        if keys:
            await self.seen.release(keys)


def _still_storing() -> ServiceUnavailable:
    return ServiceUnavailable(
        "An event with the same eventId is still being stored; retry shortly", retry_after=1
    )


def _keys(events: Sequence[Event]) -> list[Key]:
    return list(dict.fromkeys((e.site_id, e.event_id) for e in events if e.event_id is not None))
