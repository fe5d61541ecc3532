"""`RedisPresence`: presence shared by every instance of a cluster, in Redis sorted sets.

Key layout (every key under the installation's `prefix`; `{site}` is the site id):

| key | type | content |
|---|---|---|
| `{prefix}:presence:{site}` | sorted set | visitor id (decimal) → latest pageview (Unix s) |
| `{prefix}:presence:{site}:at` | hash | visitor id → path of that latest pageview |
| `{prefix}:presence:{site}:page:{path}` | sorted set | visitors whose latest view is on it → time |
| `{prefix}:presence:{site}:pages` | sorted set | path → latest pageview on that page |
| `{prefix}:presence:loaded` | string | marker: presence was rebuilt from the event store |
| `{prefix}:presence:rebuilding` | string | lock (30 s) of the one instance rebuilding |

- `touch_many`: one Lua script per site and round trip (atomic against other instances): for
  each pageview newer than the visitor's latest (`ZSCORE`; backfilled or reordered pageviews
  never lower it), the site set gets the new time, the visitor moves from the page set of
  their previous page to that of the new one, and `at` and `pages` follow. Keys expire by
  themselves `window + 60` s after the site's last pageview (page sets 10 minutes later still,
  so `sweep` finds them first).
- `count` (site-wide, the Realtime API's hot path, unchanged by pages): one pipelined round
  trip, `ZREMRANGEBYSCORE key -inf cutoff` (trims what left the window, the boundary
  included), `ZCOUNT key (cutoff +inf` (exact: the visitors whose latest pageview is less than
  `window` seconds old, whatever other clients do in between) and `EXISTS` of the marker.
- `count_path`: one Lua script: `ZCOUNT` of the page's set (exact pattern), or the sum over
  the pages in `pages` visited in the window whose path starts with the prefix.
- `sweep` (housekeeping): for each site this instance touched since its last sweep, one script
  drops what left the window from page sets, `at` and `pages` (the site set is trimmed by
  `count`). Counts never depend on it; it bounds memory on busy sites.
- Data loss (a Redis restart without persistence, a flush): the marker is gone, so the next
  count takes the rebuild lock (`SET NX EX 30`), loads the recent pageviews from the event
  store through `loader`, merges them (the touch script: never wiping live state written
  meanwhile by other instances), sets the marker and answers from the rebuilt set. Instances
  that do not get the lock keep answering from what Redis has.

Page keys are built inside the scripts from the site's key, so a Redis Cluster (which needs
every key declared) is not supported; one Redis (with replicas) is.

Every connection error or timeout becomes `BackendUnavailable("presence")`; redis-py
reconnects by itself, so the first call after Redis comes back succeeds.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from footfall.clock import Clock
from footfall.errors import BackendUnavailable
from footfall.realtime.base import WINDOW_SECONDS, Touch
from footfall.realtime.paths import PathPattern

log = logging.getLogger(__name__)

SOCKET_TIMEOUT = 2.0
"""Seconds a Redis command may take before the backend counts as unavailable."""

CONNECT_TIMEOUT = 1.0
"""Seconds to open a connection (a LAN connect takes well under a millisecond)."""

RETRIES = 1
"""Retries of a failed command (after reconnecting). redis-py also retries the connect inside
each attempt, so an unresponsive Redis fails a call after about (RETRIES + 1)² timeouts."""

HEALTH_CHECK_INTERVAL = 30
"""A connection idle for longer than this is PINGed before use (drops dead sockets early)."""

KEY_TTL_MARGIN = 60.0
"""A site's sorted set outlives its newest pageview by the window plus this margin."""

REBUILD_LOCK_SECONDS = 30
"""How long one instance may hold the rebuild lock before another may take over."""

PAGE_TTL_MARGIN = 600.0
"""A page's sorted set outlives its newest pageview by the window plus this margin: longer
than the site's keys, so that `sweep` (every minute) drops it and its visitors first."""

TOUCH_CHUNK = 10_000
"""Pageviews per touch script call when rebuilding, to keep each Redis stall short."""

SWEEP_LIMIT = 1_000
"""Stale pages one sweep script call drops (it is called again while more remain)."""

# Redis down, unreachable, too slow, or (after a failover) a read-only replica.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    OSError,
)

# Deletes the lock only if this instance still holds it (it may have expired and been taken).
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: site set, at, pages. ARGV: page key prefix, site TTL, page TTL, then (visitor, ts,
# path) triples. Newest pageview per visitor wins; of equal times the last given (as in memory).
_TOUCH = """
local site, at, pages = KEYS[1], KEYS[2], KEYS[3]
local page_prefix, page_ttl = ARGV[1], ARGV[3]
for i = 4, #ARGV, 3 do
    local visitor, ts, path = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local current = redis.call('ZSCORE', site, visitor)
    if not current or tonumber(current) <= tonumber(ts) then
        redis.call('ZADD', site, ts, visitor)
        local previous = redis.call('HGET', at, visitor)
        if previous and previous ~= path then
            redis.call('ZREM', page_prefix .. previous, visitor)
        end
        local page = page_prefix .. path
        redis.call('ZADD', page, ts, visitor)
        redis.call('EXPIRE', page, page_ttl)
        redis.call('HSET', at, visitor, path)
        redis.call('ZADD', pages, 'GT', ts, path)
    end
end
redis.call('EXPIRE', site, ARGV[2])
redis.call('EXPIRE', at, ARGV[2])
redis.call('EXPIRE', pages, ARGV[2])
return 0
"""

# KEYS: pages, marker. ARGV: page key prefix, cutoff, "exact" | "prefix", path or prefix.
# Returns {count, marker exists}.
_COUNT_PAGES = """
local after = '(' .. ARGV[2]
local n = 0
if ARGV[3] == 'exact' then
    n = redis.call('ZCOUNT', ARGV[1] .. ARGV[4], after, '+inf')
else
    local base = ARGV[4]
    for _, path in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], after, '+inf')) do
        if string.sub(path, 1, #base) == base then
            n = n + redis.call('ZCOUNT', ARGV[1] .. path, after, '+inf')
        end
    end
end
return {n, redis.call('EXISTS', KEYS[2])}
"""

# KEYS: at, pages. ARGV: page key prefix, cutoff, limit. Drops pages nobody visited in the
# window (with their visitors' `at` entries), and the visitors who left the window from the
# pages still visited. Returns 1 while stale pages remain beyond `limit`.
_SWEEP = """
local at, pages, page_prefix, cutoff = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local function forget(path, visitors)
    for _, visitor in ipairs(visitors) do
        if redis.call('HGET', at, visitor) == path then
            redis.call('HDEL', at, visitor)
        end
    end
end
local stale = redis.call('ZRANGEBYSCORE', pages, '-inf', cutoff, 'LIMIT', 0, ARGV[3])
for _, path in ipairs(stale) do
    local page = page_prefix .. path
    forget(path, redis.call('ZRANGE', page, 0, -1))
    redis.call('DEL', page)
    redis.call('ZREM', pages, path)
end
if #stale == tonumber(ARGV[3]) then
    return 1
end
for _, path in ipairs(redis.call('ZRANGEBYSCORE', pages, '(' .. cutoff, '+inf')) do
    local page = page_prefix .. path
    local gone = redis.call('ZRANGEBYSCORE', page, '-inf', cutoff)
    if #gone > 0 then
        forget(path, gone)
        redis.call('ZREMRANGEBYSCORE', page, '-inf', cutoff)
    end
end
return 0
"""

Loader = Callable[[], Awaitable[Iterable[Touch]]]
"""Reads the recent pageviews from the event store (the app wires it)."""


def redis_client(url: str, *, socket_timeout: float = SOCKET_TIMEOUT) -> aioredis.Redis:
    """A client for the shared backends: short timeouts, health checks, one quick retry.

    A down Redis must fail a request within seconds (a 503), not hang it; a refused connection
    fails at once. redis-py reconnects by itself on the next command once Redis is back (the
    retry also hides a connection dropped by a Redis restart from the command that finds it).
    """
    client: aioredis.Redis = aioredis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=min(CONNECT_TIMEOUT, socket_timeout),
        health_check_interval=HEALTH_CHECK_INTERVAL,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=RETRIES),
    )
    return client


@contextlib.contextmanager
def unavailable_as(backend: str) -> Iterator[None]:
    """Turn Redis connection errors and timeouts into `BackendUnavailable(backend)`."""
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        raise BackendUnavailable(backend) from exc


class RedisPresence:
    """Exact per-site and per-page live visitor counts in Redis, shared by every instance.

    Ownership: a client passed to the constructor belongs to the caller (it may be shared
    with other Redis backends) and `close()` leaves it open unless `owns_client=True`;
    `from_url` creates a client that the presence owns and closes.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        clock: Clock,
        loader: Loader | None = None,
        window: float = WINDOW_SECONDS,
        *,
        owns_client: bool = False,
    ) -> None:
        self.window = window
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._loader = loader
        self._owns_client = owns_client
        self._ttl = math.ceil(window + KEY_TTL_MARGIN)
        self._page_ttl = math.ceil(window + PAGE_TTL_MARGIN)
        self._marker = f"{prefix}:presence:loaded"
        self._lock = f"{prefix}:presence:rebuilding"
        self._release_lock = client.register_script(_RELEASE_LOCK)
        self._touch = client.register_script(_TOUCH)
        self._count_pages = client.register_script(_COUNT_PAGES)
        self._sweep = client.register_script(_SWEEP)
        self._touched: set[str] = set()  # sites to sweep

    @classmethod
    def from_url(
        cls,
        url: str,
        prefix: str,
        clock: Clock,
        loader: Loader | None = None,
        window: float = WINDOW_SECONDS,
    ) -> RedisPresence:
        """A presence with its own client (closed by `close()`)."""
        return cls(redis_client(url), prefix, clock, loader, window, owns_client=True)

    def key(self, site_id: str) -> str:
        """The sorted set of a site."""
        return f"{self._prefix}:presence:{site_id}"

    def _page_keys(self, site_id: str) -> tuple[str, str, str]:
        """A site's `at` hash, `pages` set, and the prefix of its page sets' keys."""
        key = self.key(site_id)
        return f"{key}:at", f"{key}:pages", f"{key}:page:"

    def _by_site(
        self, touches: Iterable[Touch], now: float
    ) -> dict[str, dict[str, tuple[float, str]]]:
        """Clamped, in-window touches grouped by site, keeping each visitor's newest one."""
        cutoff = now - self.window
        sites: defaultdict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
        for site_id, visitor_id, ts, path in touches:
            ts = min(ts, now)
            if ts <= cutoff:
                continue
            members = sites[site_id]
            member = str(visitor_id)
            known = members.get(member)
            if known is None or ts >= known[0]:
                members[member] = (ts, path)
        return sites

    async def _merge(
        self, sites: dict[str, dict[str, tuple[float, str]]], *, mark_loaded: bool
    ) -> None:
        """One pipelined round trip: the touch script per site (and the marker, last)."""
        if not sites and not mark_loaded:
            return
        with unavailable_as("presence"):
            async with self._client.pipeline(transaction=False) as pipe:
                for site_id, members in sites.items():
                    at, pages, page_prefix = self._page_keys(site_id)
                    keys = [self.key(site_id), at, pages]
                    items = list(members.items())
                    for start in range(0, len(items), TOUCH_CHUNK):
                        args: list[str | float] = [page_prefix, self._ttl, self._page_ttl]
                        for member, (ts, path) in items[start : start + TOUCH_CHUNK]:
                            args += (member, repr(ts), path)
                        await self._touch(keys=keys, args=args, client=pipe)
                if mark_loaded:
                    pipe.set(self._marker, 1)
                await pipe.execute()
        self._touched.update(sites)

    async def touch_many(self, touches: Iterable[Touch]) -> None:
        await self._merge(self._by_site(touches, self._clock.now()), mark_loaded=False)

    async def count(self, site_id: str) -> int:
        key = self.key(site_id)
        cutoff = self._clock.now() - self.window
        with unavailable_as("presence"):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(key, "-inf", cutoff)
                pipe.zcount(key, f"({cutoff!r}", "+inf")
                pipe.exists(self._marker)
                results: list[Any] = await pipe.execute()
        current, loaded = int(results[1]), int(results[2])
        if loaded or self._loader is None:
            return current
        if not await self._rebuild_from_store():
            return current  # another instance is rebuilding: answer with what Redis has
        cutoff = self._clock.now() - self.window
        with unavailable_as("presence"):
            return int(await self._client.zcount(key, f"({cutoff!r}", "+inf"))

    async def count_path(self, site_id: str, pattern: PathPattern) -> int:
        if pattern.everything:
            return await self.count(site_id)
        current, loaded = await self._count_path(site_id, pattern)
        if loaded or self._loader is None:
            return current
        if not await self._rebuild_from_store():
            return current  # another instance is rebuilding: answer with what Redis has
        return (await self._count_path(site_id, pattern))[0]

    async def _count_path(self, site_id: str, pattern: PathPattern) -> tuple[int, int]:
        _, pages, page_prefix = self._page_keys(site_id)
        mode = "prefix" if pattern.prefix else "exact"
        cutoff = repr(self._clock.now() - self.window)
        with unavailable_as("presence"):
            result = await self._count_pages(
                keys=[pages, self._marker], args=[page_prefix, cutoff, mode, pattern.base]
            )
        return int(result[0]), int(result[1])

    async def _rebuild_from_store(self) -> bool:
        """Rebuild from the event store under the lock; False if another instance holds it."""
        assert self._loader is not None
        token = secrets.token_hex(16)
        with unavailable_as("presence"):
            acquired = await self._client.set(self._lock, token, nx=True, ex=REBUILD_LOCK_SECONDS)
        if not acquired:
            return False
        try:
            log.warning("presence data missing in Redis; rebuilding from the event store")
            await self.rebuild(await self._loader())
        finally:
            with unavailable_as("presence"):
                await self._release_lock(keys=[self._lock], args=[token])
        return True

    async def rebuild(self, touches: Iterable[Touch]) -> None:
        """Merge pageviews from the event store (the newest per visitor wins) and set the
        marker. Shared state: live touches of other instances are never wiped."""
        await self._merge(self._by_site(touches, self._clock.now()), mark_loaded=True)

    async def ping(self) -> None:
        with unavailable_as("presence"):
            await self._client.ping()

    async def sweep(self) -> None:
        """Drop what left the window from the page keys of the sites this instance touched
        since its last sweep (every active site is touched, so swept, by some instance; an
        idle site's keys expire by themselves). Site sets need nothing: `count` trims them.
        Scanning every site from every instance would cost O(keys) of Redis time."""
        sites, self._touched = self._touched, set()
        cutoff = repr(self._clock.now() - self.window)
        for site_id in sites:
            at, pages, page_prefix = self._page_keys(site_id)
            with unavailable_as("presence"):
                while await self._sweep(keys=[at, pages], args=[page_prefix, cutoff, SWEEP_LIMIT]):
                    pass

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
