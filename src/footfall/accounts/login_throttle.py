"""Login throttling: after `LIMIT` failed sign-ins within `WINDOW` seconds, a key is refused.

Two keys are counted per attempt: the account (its email) and the client (its IP address),
so neither guessing one account's password from many addresses nor trying many accounts from
one address gets more than a handful of tries per window. A successful login clears the
account's failures (not the client's: an attacker with an account of their own must not be
able to reset their address's count by logging into it).

`LoginThrottle` is the small interface the dashboard uses; `MemoryLoginThrottle` keeps the
failures of one process (the embedded tier runs one). Cluster deployments can plug in a shared
implementation of the same protocol.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Protocol

LIMIT = 5
"""Failed sign-ins per key within the window before the key is refused."""

WINDOW = 15 * 60.0
"""Seconds a failed sign-in counts against its keys."""

_MAX_KEYS = 100_000  # bounds memory under a flood of attempts from ever-new addresses


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()


def client_key(address: str) -> str:
    return "client:" + address


class LoginThrottle(Protocol):
    async def retry_after(self, keys: Sequence[str], now: float) -> float:
        """Seconds until every key may try again (0: allowed now)."""
        ...

    async def record_failure(self, keys: Sequence[str], now: float) -> None: ...

    async def clear(self, key: str) -> None:
        """Forget the failures of one key (after a successful login)."""
        ...


class MemoryLoginThrottle:
    """A sliding window of failure times per key, in this process's memory."""

    def __init__(self, limit: int = LIMIT, window: float = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    async def retry_after(self, keys: Sequence[str], now: float) -> float:
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.limit:
                # Allowed again once enough failures left the window for one more try.
                oldest_blocking = times[len(times) - self.limit]
                wait = max(wait, oldest_blocking + self.window - now)
        return math.ceil(wait) if wait > 0 else 0.0

    async def record_failure(self, keys: Sequence[str], now: float) -> None:
        if len(self._failures) >= _MAX_KEYS:
            self._forget_expired(now)
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.limit)
            times.append(now)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= _MAX_KEYS:
            # Still full of live keys: dropping them all is the bounded-memory fallback.
            self._failures.clear()
