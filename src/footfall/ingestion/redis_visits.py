"""`RedisVisits`: visit assignment shared by every instance of a cluster.

A visitor whose requests land on different instances stays in one visit: each (site, visitor)
has one key, `{prefix}:visit:{site_id}:{visitor_id}`, holding `"{visit_id}:{last_ts}"`. One Lua
script (`ASSIGN`) reads, decides and writes atomically, so two instances assigning the same
visitor at the same moment agree on one visit id. Behaviour matches `MemoryVisits`:

- an event continues the visitor's visit while `|ts - last_ts| <= timeout`, else starts a new
  one (a random 63-bit id); a key counts only while `last_ts > now - timeout`;
- `last_ts` only moves forward (an out-of-order event joins the visit without moving it back);
- if today's visitor id has no running visit but yesterday's (previous salt) has, the visitor
  keeps yesterday's id until that visit ends;
- backfilled events at or before `now - timeout` would write keys that expire at once, so they
  are joined into visits by a bounded LRU memo local to this instance, like `MemoryVisits`.

A key expires `last_ts + timeout - now` seconds after it is written (plus a margin): as long as
it can matter. Visit ids stay strings inside Lua (its numbers are doubles: 63-bit ids would
lose precision). Connection errors and timeouts raise `BackendUnavailable("visits")`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from footfall.ingestion.visits import BackfillMemo, new_visit_id
from footfall.realtime.redis import redis_client, unavailable_as
from footfall.storage.events import RecentVisit

"""Visitors remembered for joining backfilled events into visits (as `MemoryVisits`)."""

TTL_MARGIN = 60
"""Seconds a visit key outlives the moment it stops mattering (clock skew between instances)."""

MAX_FUTURE_SKEW = 300.0
"""How far in the future an event may be (`ingestion.hits.MAX_FUTURE_SKEW`; not imported, to
keep this module free of the HTTP-facing ingestion modules)."""

REBUILD_CHUNK = 1_000
"""Keys per MERGE script call when rebuilding."""

# KEYS[1] = the visitor's key, KEYS[2] (optional) = its key under the previous salt.
# ARGV = ts, cutoff (now - timeout), timeout, candidate new visit id, TTL margin.
# Returns {1 if the previous visitor id was kept else 0, visit id}.
ASSIGN = """
local ts = tonumber(ARGV[1])
local cutoff = tonumber(ARGV[2])
local timeout = tonumber(ARGV[3])

local function live(key)
    local value = redis.call('GET', key)
    if not value then return nil, nil end
    local sep = string.find(value, ':', 1, true)
    local last = tonumber(string.sub(value, sep + 1))
    if last <= cutoff then return nil, nil end
    return string.sub(value, 1, sep - 1), last
end

local key, kept_previous = KEYS[1], 0
local visit, last = live(key)
if visit == nil and #KEYS > 1 then
    local previous_visit, previous_last = live(KEYS[2])
    if previous_visit ~= nil then
        key, kept_previous, visit, last = KEYS[2], 1, previous_visit, previous_last
    end
end
if visit == nil or math.abs(ts - last) > timeout then
    visit = ARGV[4]
end
if last == nil or ts > last then
    local ttl = math.ceil(ts - cutoff) + tonumber(ARGV[5])
    redis.call('SET', key, visit .. ':' .. ARGV[1], 'EX', ttl)
end
return {kept_previous, visit}
"""

# KEYS = visit keys; ARGV = TTL, then per key: visit id, last_ts.
# Sets a key only if it is missing or holds an older last_ts (other instances are live).
MERGE = """
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
    local visit, last = ARGV[2 * i], ARGV[2 * i + 1]
    local value = redis.call('GET', key)
    local older = true
    if value then
        local sep = string.find(value, ':', 1, true)
        older = tonumber(string.sub(value, sep + 1)) < tonumber(last)
    end
    if older then
        redis.call('SET', key, visit .. ':' .. last, 'EX', ttl)
    end
end
return 0
"""


class RedisVisits:
    """Visit assignment in Redis, shared by every instance.

    Ownership: a client passed to the constructor belongs to the caller and `close()` leaves
    it open unless `owns_client=True`; `from_url` creates a client that is closed by `close()`.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        timeout: float = 1800.0,
        *,
        owns_client: bool = False,
    ) -> None:
        self.timeout = timeout
        self._client = client
        self._prefix = prefix
        self._owns_client = owns_client
        self._assign = client.register_script(ASSIGN)
        self._merge = client.register_script(MERGE)
        self._backfill = BackfillMemo(timeout)

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout: float = 1800.0) -> RedisVisits:
        """Visits with their own client (closed by `close()`)."""
        return cls(redis_client(url), prefix, timeout, owns_client=True)

    def key(self, site_id: str, visitor_id: int) -> str:
        return f"{self._prefix}:visit:{site_id}:{visitor_id}"

    async def assign(
        self, site_id: str, visitor_id: int, previous_visitor_id: int | None, ts: float, now: float
    ) -> tuple[int, int]:
        """The (visitor id, visit id) an event at `ts` belongs to; records the event."""
        cutoff = now - self.timeout
        if ts <= cutoff:
            return visitor_id, self._backfill.assign((site_id, visitor_id), ts)
        keys = [self.key(site_id, visitor_id)]
        if previous_visitor_id is not None and previous_visitor_id != visitor_id:
            keys.append(self.key(site_id, previous_visitor_id))
        args: list[str | int] = [
            repr(float(ts)),
            repr(cutoff),
            repr(self.timeout),
            new_visit_id(),
            TTL_MARGIN,
        ]
        with unavailable_as("visits"):
            result: list[Any] = await self._assign(keys=keys, args=args)
        kept_previous, visit_id = int(result[0]), int(result[1])
        if kept_previous:
            assert previous_visitor_id is not None
            visitor_id = previous_visitor_id
        return visitor_id, visit_id

    async def rebuild(self, recent: Iterable[RecentVisit]) -> None:
        """Merge the visits the event store remembers: a key is set only when it is missing
        or older (other instances keep assigning meanwhile). Without a `now`, rebuilt keys live
        as long as any visit can matter: `timeout` plus the allowed future skew (+ a margin);
        whether a visit still runs is decided from `last_ts`, never from the TTL."""
        ttl = math.ceil(self.timeout + MAX_FUTURE_SKEW) + TTL_MARGIN
        newest: dict[str, tuple[float, int]] = {}
        for visit in recent:
            key = self.key(visit.site_id, visit.visitor_id)
            current = newest.get(key)
            if current is None or visit.last_ts > current[0]:
                newest[key] = (visit.last_ts, visit.visit_id)
        if not newest:
            return
        items = list(newest.items())
        with unavailable_as("visits"):
            async with self._client.pipeline(transaction=False) as pipe:
                for start in range(0, len(items), REBUILD_CHUNK):
                    chunk = items[start : start + REBUILD_CHUNK]
                    args: list[str | int] = [ttl]
                    for _, (last_ts, visit_id) in chunk:
                        args += [visit_id, repr(float(last_ts))]
                    await self._merge(keys=[key for key, _ in chunk], args=args, client=pipe)
                await pipe.execute()

    async def close(self) -> None:
        self._backfill.clear()
        if self._owns_client:
            await self._client.aclose()
