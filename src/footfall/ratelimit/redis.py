"""`RedisRateLimiter`: GCRA buckets in Redis, shared by every instance of a cluster.

Key layout: `{prefix}:ratelimit:{key}` is a string holding the bucket's TAT in microseconds,
expiring (`PX`) a few seconds after the bucket is full again, so idle buckets cost nothing.

One check is one round trip: a Lua script reads every bucket of the check, decides all or
none, and writes the new TATs — atomically, so instances racing on one bucket never let more
through than the limit. The script returns the TATs it read; the decision (remaining, reset,
retry) is then computed in Python with the same arithmetic as `MemoryRateLimiter`.

**Local pre-check (denials only).** Once Redis has denied a key, this instance remembers until
when even the cheapest request (cost 1) would be denied, and answers such requests itself
until then — no round trip for a client that keeps hammering. This never denies a request
Redis would allow: a TAT only moves later (other instances can only take more from the
bucket), so a request denied at time t stays denied until the instant computed then. Allowed
requests always go to Redis, so limits stay exact across instances; the cost is one round
trip per allowed request.

**Outages.** Redis unreachable: the limiter fails open (requests are allowed; limiting must not
turn a cache outage into an API outage — the rest of the request reports its own backend
errors), logs a warning at most once a minute, and leaves Redis alone for a second before
trying again, so an outage does not add a connect timeout to every request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import redis.asyncio as aioredis

from footfall.ratelimit.base import MICROS, Check, Decision, combine, evaluate, micros
from footfall.realtime.redis import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

OUTAGE_BACKOFF = 1.0
"""Seconds the limiter stays open (allows without asking Redis) after Redis failed."""

WARNING_INTERVAL = 60.0
"""At most one outage warning per this many seconds."""

MAX_REMEMBERED_DENIALS = 10_000

TTL_SLACK_MS = 5_000
"""A bucket's key outlives the moment it is full again by this much: expiry runs on Redis's
clock, the arithmetic on the caller's, and an early expiry would hand out a fresh bucket."""

# KEYS: the buckets. ARGV[1]: now (µs); ARGV[2]: cost; ARGV[3]: TTL slack (ms); then for each
# key its interval and capacity (µs). Returns the TAT read for each key ('' if none), then 1 if
# taken, 0 if not.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local read = {}
local new = {}
local taken = 1
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 + 2 * i])
  local capacity = tonumber(ARGV[3 + 2 * i])
  local stored = redis.call('GET', KEYS[i])
  local tat = now
  if stored then
    read[i] = stored
    tat = math.max(tonumber(stored), now)
  else
    read[i] = ''
  end
  new[i] = tat + cost * interval
  if new[i] - capacity > now then
    taken = 0
  end
end
if taken == 1 then
  for i = 1, #KEYS do
    local ttl = math.ceil((new[i] - now) / 1000) + tonumber(ARGV[3])
    redis.call('SET', KEYS[i], string.format('%d', new[i]), 'PX', ttl)
  end
end
read[#KEYS + 1] = taken
return read
"""


class RedisRateLimiter:
    """Buckets shared through Redis. The client belongs to the caller (it is shared with the
    presence backend); `close()` leaves it open."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}:ratelimit:"
        self._script = client.register_script(_ACQUIRE)
        self._denied: dict[str, tuple[int, int]] = {}  # key -> (denied until, TAT), µs
        self._open_until = 0.0
        self._last_warning = -WARNING_INTERVAL

    async def acquire(self, checks: Sequence[Check], now: float, cost: int = 1) -> Decision:
        now_us = micros(now)
        local = self._remembered_denials(checks, now_us)
        if local is not None:
            return local
        if now < self._open_until:
            return _open(checks)
        args: list[int] = [now_us, cost, TTL_SLACK_MS]
        for _key, limit in checks:
            args += (limit.interval, limit.capacity)
        try:
            reply = await self._script(keys=[self._prefix + key for key, _ in checks], args=args)
        except UNAVAILABLE_ERRORS:
            self._open_until = now + OUTAGE_BACKOFF
            if now - self._last_warning >= WARNING_INTERVAL:
                self._last_warning = now
                log.warning("rate limiter: Redis unavailable; allowing requests", exc_info=True)
            return _open(checks)
        tats = [int(value) if value else None for value in reply[:-1]]
        decisions = [
            evaluate(tat, now_us, limit, cost)[0]
            for tat, (_key, limit) in zip(tats, checks, strict=True)
        ]
        if not int(reply[-1]):
            self._remember(checks, tats, now_us)
        return combine(decisions)

    def failing_open(self, now: float) -> bool:
        """True while this limiter allows requests without asking Redis, which failed within
        the last `OUTAGE_BACKOFF` seconds (for callers that must fail closed instead)."""
        return now < self._open_until

    def _remembered_denials(self, checks: Sequence[Check], now_us: int) -> Decision | None:
        if not self._denied:
            return None
        denials = []
        for key, limit in checks:
            remembered = self._denied.get(key)
            if remembered is not None and remembered[0] > now_us:
                until, tat = remembered
                denials.append(
                    Decision(False, limit, 0, (tat - now_us) / MICROS, (until - now_us) / MICROS)
                )
        return combine(denials) if denials else None

    def _remember(self, checks: Sequence[Check], tats: Sequence[int | None], now_us: int) -> None:
        """Remember the buckets that would deny even a request of cost 1, and until when."""
        if len(self._denied) >= MAX_REMEMBERED_DENIALS:
            self._denied = {k: v for k, v in self._denied.items() if v[0] > now_us}
            if len(self._denied) >= MAX_REMEMBERED_DENIALS:
                self._denied.clear()
        for (key, limit), tat in zip(checks, tats, strict=True):
            decision, base = evaluate(tat, now_us, limit, 1)
            if not decision.allowed:
                self._denied[key] = (base + limit.interval - limit.capacity, base)

    async def close(self) -> None:
        self._denied.clear()


def _open(checks: Sequence[Check]) -> Decision:
    """The decision while Redis is unreachable: allowed, with a full bucket reported."""
    limit = checks[0][1]
    return Decision(True, limit, limit.burst, 0.0)
