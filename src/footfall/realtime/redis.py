"""`RedisPresence`: presence shared by every instance of a cluster, in Redis sorted sets.

Key layout (every key under the installation's `prefix`):

| key | type | content |
|---|---|---|
| `{prefix}:presence:{site_id}` | sorted set | visitor id (decimal) → latest pageview (Unix s) |
| `{prefix}:presence:loaded` | string | marker: presence was rebuilt from the event store |
| `{prefix}:presence:rebuilding` | string | lock (30 s) of the one instance rebuilding |

- `touch_many`: one pipelined round trip, per site `ZADD key GT` (a member's score only ever
  rises, so backfilled or reordered pageviews never lower a visitor's latest time) and
  `EXPIRE key window + 60` (an idle site's key disappears by itself).
- `count`: one pipelined round trip, `ZREMRANGEBYSCORE key -inf cutoff` (trims what left the
  window, the boundary included), `ZCOUNT key (cutoff +inf` (exact: the visitors whose latest
  pageview is less than `window` seconds old, whatever other clients do in between) and
  `EXISTS` of the marker.
- Data loss (a Redis restart without persistence, a flush): the marker is gone, so the next
  `count` takes the rebuild lock (`SET NX EX 30`), loads the recent pageviews from the event
  store through `loader`, merges them (`ZADD GT`, never wiping live state written meanwhile by
  other instances), sets the marker and answers from the rebuilt set. Instances that do not
  get the lock keep answering from what Redis has.

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

ZADD_CHUNK = 10_000
"""Members per ZADD when rebuilding, to keep single commands (and Redis stalls) small."""

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
    """Exact per-site live visitor counts in Redis, shared by every instance.

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
        self._marker = f"{prefix}:presence:loaded"
        self._lock = f"{prefix}:presence:rebuilding"
        self._release_lock = client.register_script(_RELEASE_LOCK)

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

    def _by_site(self, touches: Iterable[Touch], now: float) -> dict[str, dict[str, float]]:
        """Clamped, in-window touches grouped by site, keeping each visitor's newest time."""
        cutoff = now - self.window
        sites: defaultdict[str, dict[str, float]] = defaultdict(dict)
        for site_id, visitor_id, ts in touches:
            ts = min(ts, now)
            if ts <= cutoff:
                continue
            members = sites[site_id]
            member = str(visitor_id)
            if ts > members.get(member, cutoff):
                members[member] = ts
        return sites

    async def _merge(self, sites: dict[str, dict[str, float]], *, mark_loaded: bool) -> None:
        """One pipelined round trip: ZADD GT + EXPIRE per site (and the marker, last)."""
        if not sites and not mark_loaded:
            return
        with unavailable_as("presence"):
            async with self._client.pipeline(transaction=False) as pipe:
                for site_id, members in sites.items():
                    key = self.key(site_id)
                    items = list(members.items())
                    for start in range(0, len(items), ZADD_CHUNK):
                        pipe.zadd(key, dict(items[start : start + ZADD_CHUNK]), gt=True)
                    pipe.expire(key, self._ttl)
                if mark_loaded:
                    pipe.set(self._marker, 1)
                await pipe.execute()

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
        """Merge pageviews from the event store (newest time per visitor wins) and set the
        marker. Shared state: live touches of other instances are never wiped."""
        await self._merge(self._by_site(touches, self._clock.now()), mark_loaded=True)

    async def ping(self) -> None:
        with unavailable_as("presence"):
            await self._client.ping()

    async def sweep(self) -> None:
        """Nothing to do: `count` trims a site's set and every key expires by itself
        `window + 60` s after its last touch. Scanning all sites from every instance would
        cost O(keys) of Redis time for no gain."""

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
