"""Rate limits as values, the GCRA arithmetic, and the `RateLimiter` interface.

GCRA (the generic cell rate algorithm, a token bucket kept as one number) stores per key the
*theoretical arrival time* (TAT): the instant at which the bucket would be full again. With a
sustained `rate` (requests per second) and a `burst` (requests allowed at once), a request of
`cost` n at time `now` is allowed when

    max(TAT, now) + n / rate - burst / rate <= now

and then moves the TAT to `max(TAT, now) + n / rate`. One number per key, O(1) per check, no
timers: a key whose TAT lies in the past is the same as a key never seen, so it can be
forgotten (memory) or left to expire (Redis TTL).

Times are whole microseconds: a float Unix time has a resolution of about 0.24 µs, and adding
the same interval to it thousands of times drifts by whole requests; integers below 2**53
add exactly, in Python and in Redis's Lua alike.

Headers follow the IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-
ratelimit-headers, the `RateLimit-Limit`/`-Remaining`/`-Reset` and `RateLimit-Policy` form):
`Limit` is the burst, `Remaining` what may still be sent right now, `Reset` the seconds until
the bucket is full again, and `Policy` `<burst>;w=<seconds to refill it>`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

RATE_LIMIT_HEADERS = (
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)
"""Every header a limited endpoint may send (for `Access-Control-Expose-Headers`)."""

MICROS = 1_000_000


def micros(unix_seconds: float) -> int:
    """A time in whole microseconds, the unit buckets are kept in."""
    return int(unix_seconds * MICROS)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`rate` requests per second sustained, up to `burst` at once."""

    rate: float
    burst: int
    interval: int = field(init=False, repr=False)
    """Microseconds one request takes from the bucket."""
    capacity: int = field(init=False, repr=False)
    """Microseconds of room in a full bucket (`burst` intervals)."""
    policy: str = field(init=False, repr=False)
    raw_burst: bytes = field(init=False, repr=False, compare=False)
    raw_policy: bytes = field(init=False, repr=False, compare=False)
    """`burst` and `policy` as header values, encoded once (the realtime hot path sends them)."""

    def __post_init__(self) -> None:
        if not self.rate > 0 or self.burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        interval = max(1, round(MICROS / self.rate))
        object.__setattr__(self, "interval", interval)
        object.__setattr__(self, "capacity", interval * self.burst)
        window = max(1, math.ceil(self.capacity / MICROS))
        object.__setattr__(self, "policy", f"{self.burst};w={window}")
        object.__setattr__(self, "raw_burst", str(self.burst).encode())
        object.__setattr__(self, "raw_policy", self.policy.encode())

    @classmethod
    def optional(cls, rate: float, burst: int) -> RateLimit | None:
        """The limit, or None when `rate` is 0 (the setting that turns a limit off)."""
        return cls(rate, burst) if rate > 0 else None


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one check: allowed or not, and what to tell the client."""

    allowed: bool
    limit: RateLimit
    remaining: int
    reset_after: float
    """Seconds until the bucket is full again."""
    retry_after: float = 0.0
    """Seconds until the same request would be allowed (0 when it was)."""

    @property
    def retry_after_seconds(self) -> int:
        """`Retry-After` in whole seconds, rounded up: retrying then will succeed."""
        return max(1, math.ceil(self.retry_after))

    def headers(self) -> dict[str, str]:
        """The `RateLimit-*` headers (and `Retry-After` when denied)."""
        values = {
            "RateLimit-Limit": str(self.limit.burst),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
            "RateLimit-Policy": self.limit.policy,
        }
        if not self.allowed:
            values["Retry-After"] = str(self.retry_after_seconds)
        return values

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """`headers()` as raw ASGI header pairs (for the hot endpoints' precomputed headers),
        in the same order; only the per-request values are formatted."""
        raw = [
            (b"ratelimit-limit", self.limit.raw_burst),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(math.ceil(self.reset_after)).encode()),
            (b"ratelimit-policy", self.limit.raw_policy),
        ]
        if not self.allowed:
            raw.append((b"retry-after", str(self.retry_after_seconds).encode()))
        return raw


def evaluate(tat: int | None, now: int, limit: RateLimit, cost: int) -> tuple[Decision, int]:
    """The decision for a bucket whose stored TAT is `tat` (None: never seen) at `now` (both in
    microseconds), and the TAT to store if the request is taken. Both backends decide with
    this arithmetic (the Redis script mirrors it)."""
    base = now if tat is None or tat < now else tat
    new_tat = base + cost * limit.interval
    allow_at = new_tat - limit.capacity
    if allow_at > now:
        return Decision(False, limit, 0, (base - now) / MICROS, (allow_at - now) / MICROS), base
    remaining = (now - allow_at) // limit.interval
    return Decision(True, limit, remaining, (new_tat - now) / MICROS), new_tat


def combine(decisions: Sequence[Decision]) -> Decision:
    """One decision for several buckets checked together: a denial with the longest wait if
    any bucket denied, else the bucket with the least room left."""
    denied = [d for d in decisions if not d.allowed]
    if denied:
        return max(denied, key=lambda d: d.retry_after)
    return min(decisions, key=lambda d: (d.remaining, -d.reset_after))


Check = tuple[str, RateLimit]
"""A bucket to check: its key (e.g. `rt:<token id>`) and the limit that applies to it."""


class RateLimiter(Protocol):
    """Buckets shared by everyone who uses the same backend (one process, or one Redis)."""

    async def acquire(self, checks: Sequence[Check], now: float, cost: int = 1) -> Decision:
        """Take `cost` from every bucket in `checks`, all or none: if any bucket lacks room,
        nothing is taken and the denial is returned. `checks` must not be empty."""
        ...

    async def close(self) -> None: ...
