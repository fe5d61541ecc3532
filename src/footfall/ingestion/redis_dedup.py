"""`RedisSeenIds`: the event ids of a cluster, shared by every instance (see `dedup.py`).

One key per id, `{prefix}:eid:{site_id}:{event_id}`, holding `p:{claimed at}` (PENDING) or
`s:{stored at}` (STORED). `claim` is one Lua script for a request's ids: it reads each key,
decides its state from the times in it and the caller's clock (as `RedisVisits` does, so that
behaviour does not hang on Redis's own clock) and sets the unknown ones to PENDING, atomically,
so that of two instances claiming the same id at once exactly one gets NEW. Keys expire by
themselves once they stop mattering (`PENDING_TTL` or the window, plus a margin): Redis holds
about 100 bytes per id of the last hour. Connection errors and timeouts raise
`BackendUnavailable("event ids")`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis

from footfall.ingestion.dedup import DEFAULT_WINDOW, PENDING_TTL, Claim, Key, StoredId
from footfall.realtime.redis import redis_client, unavailable_as

BACKEND = "event ids"

TTL_MARGIN = 60
"""Seconds a key outlives the moment it stops mattering (clock skew between instances)."""

CHUNK = 1_000
"""Keys per script call when rebuilding."""

# KEYS = ids; ARGV = now, window, pending TTL, EX of a new claim. Returns a state per key.
CLAIM = """
local now = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
    local value = redis.call('GET', key)
    local state = 'new'
    if value then
        local kind, at = string.sub(value, 1, 1), tonumber(string.sub(value, 3))
        if kind == 's' and at > now - tonumber(ARGV[2]) then
            state = 'stored'
        elseif kind == 'p' and at > now - tonumber(ARGV[3]) then
            state = 'pending'
        end
    end
    if state == 'new' then
        redis.call('SET', key, 'p:' .. ARGV[1], 'EX', ARGV[4])
    end
    result[i] = state
end
return result
"""

# KEYS = ids; deletes each that is still a claim (never a stored id).
RELEASE = """
for _, key in ipairs(KEYS) do
    local value = redis.call('GET', key)
    if value and string.sub(value, 1, 1) == 'p' then
        redis.call('DEL', key)
    end
end
return 0
"""

# KEYS = ids; ARGV = per key: stored at, TTL. Keeps a newer stored time already there.
MERGE = """
for i, key in ipairs(KEYS) do
    local at, ttl = ARGV[2 * i - 1], ARGV[2 * i]
    local value = redis.call('GET', key)
    if not value or string.sub(value, 1, 1) == 'p'
            or tonumber(string.sub(value, 3)) < tonumber(at) then
        redis.call('SET', key, 's:' .. at, 'EX', ttl)
    end
end
return 0
"""

_STATES = {b"new": Claim.NEW, b"stored": Claim.STORED, b"pending": Claim.PENDING}


class RedisSeenIds:
    """Event ids in Redis, shared by every instance.

    Ownership: a client passed to the constructor belongs to the caller and `close()` leaves
    it open unless `owns_client=True`; `from_url` creates a client that `close()` closes.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        window: float = DEFAULT_WINDOW,
        pending_ttl: float = PENDING_TTL,
        *,
        owns_client: bool = False,
    ) -> None:
        self.window = window
        self._client = client
        self._prefix = prefix
        self._pending_ttl = pending_ttl
        self._owns_client = owns_client
        self._claim = client.register_script(CLAIM)
        self._release = client.register_script(RELEASE)
        self._merge = client.register_script(MERGE)

    @classmethod
    def from_url(
        cls, url: str, prefix: str, window: float = DEFAULT_WINDOW, pending_ttl: float = PENDING_TTL
    ) -> RedisSeenIds:
        """Ids with their own client (closed by `close()`)."""
        return cls(redis_client(url), prefix, window, pending_ttl, owns_client=True)

    def key(self, site_id: str, event_id: str) -> str:
        return f"{self._prefix}:eid:{site_id}:{event_id}"

    async def claim(self, keys: Sequence[Key], now: float) -> list[Claim]:
        if not keys:
            return []
        args: list[str | int] = [
            repr(float(now)),
            repr(float(self.window)),
            repr(float(self._pending_ttl)),
            math.ceil(self._pending_ttl) + TTL_MARGIN,
        ]
        with unavailable_as(BACKEND):
            states: list[Any] = await self._claim(keys=[self.key(*key) for key in keys], args=args)
        return [_STATES[state] for state in states]

    async def confirm(self, keys: Sequence[Key], now: float) -> None:
        if not keys:
            return
        value = f"s:{float(now)!r}"
        ttl = math.ceil(self.window) + TTL_MARGIN
        with unavailable_as(BACKEND):
            async with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self.key(*key), value, ex=ttl)
                await pipe.execute()

    async def release(self, keys: Sequence[Key]) -> None:
        if not keys:
            return
        with unavailable_as(BACKEND):
            await self._release(keys=[self.key(*key) for key in keys])

    async def rebuild(self, stored: Iterable[StoredId], now: float) -> None:
        """Merge the ids the event store holds: each becomes STORED (a claim left by a process
        that died after its commit included), unless a newer stored time is there already."""
        cutoff = now - self.window
        newest: dict[str, float] = {}
        for site_id, event_id, ts in stored:
            ts = min(ts, now)
            key = self.key(site_id, event_id)
            if ts > cutoff and ts > newest.get(key, cutoff):
                newest[key] = ts
        items = list(newest.items())
        with unavailable_as(BACKEND):
            async with self._client.pipeline(transaction=False) as pipe:
                for start in range(0, len(items), CHUNK):
                    chunk = items[start : start + CHUNK]
                    args: list[str | int] = []
                    for _, ts in chunk:
                        args += [repr(ts), math.ceil(ts - cutoff) + TTL_MARGIN]
                    await self._merge(keys=[key for key, _ in chunk], args=args, client=pipe)
                await pipe.execute()

    async def sweep(self, now: float) -> None:
        """Nothing to do: every key expires by itself once it stops mattering."""

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
