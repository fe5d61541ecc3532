"""Limits on work in progress (not on rates): how many stats queries and exports run at once
on an instance, how many exports one API token or dashboard user has open, how many live
streams one client has open.

Rates (`ratelimit.policies`) bound how often work starts; these bound how much of it is held
at once, which a rate cannot: a download read slowly holds its cursor (in cluster mode one of
the instance's pooled PostgreSQL connections) for as long as its reader likes.

Every count here is per instance (process memory): in cluster mode each instance has its own
connection pool, so the admission limit is exactly per pool; the per-token, per-user and
per-client caps then apply on each instance separately.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from footfall.errors import ServiceUnavailable, TooManyRequests

BUSY = "Too many stats queries in progress on this server; retry shortly"
RETRY_AFTER = 5
"""Seconds `Retry-After` proposes when a limit is full (a stats query lasts at most 10 s)."""


def _too_many(message: str) -> TooManyRequests:
    """A 429 for work in progress: no bucket to describe, only when to retry."""
    error = TooManyRequests(RETRY_AFTER, {"Retry-After": str(RETRY_AFTER)})
    error.message = message
    error.args = (message,)
    return error


class Ticket:
    """A place held in a `StatsAdmission`; `release` gives it back (only the first call)."""

    __slots__ = ("_admission", "_owner", "_released")

    def __init__(self, admission: StatsAdmission, owner: str | None) -> None:
        self._admission = admission
        self._owner = owner
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._admission._release(self._owner)

    async def __aenter__(self) -> Ticket:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.release()


class StatsAdmission:
    """An instance-wide limit on stats queries and exports in progress, and a cap on one
    owner's exports (an owner: `token:<id>` or `user:<id>`).

    `admit` waits up to `wait` seconds for a place, else raises `ServiceUnavailable` (503,
    `Retry-After`): a query must never wait for a pooled connection the writer needs, so
    the places (`max_concurrent`) are fewer than the event store's connections. An export
    over its owner's cap is refused at once with `TooManyRequests` (429, `Retry-After`),
    without taking a place.
    """

    def __init__(self, max_concurrent: int, wait: float, max_exports_per_owner: int) -> None:
        self.max_concurrent = max_concurrent
        self.wait = wait
        self.max_exports_per_owner = max_exports_per_owner
        self._places = asyncio.Semaphore(max_concurrent)
        self._exports: Counter[str] = Counter()
        self.in_progress = 0
        """Places held right now (for tests and diagnostics)."""

    async def admit(self, export_owner: str | None = None) -> Ticket:
        """A place for one query (`export_owner` None) or one export of `export_owner`."""
        if export_owner is not None:
            if self._exports[export_owner] >= self.max_exports_per_owner:
                raise _too_many(
                    f"At most {self.max_exports_per_owner} downloads at once per API token "
                    "or user; retry when one has finished"
                )
            # Counted before waiting: parallel requests of one owner cannot all slip past.
            self._exports[export_owner] += 1
        try:
            if self._places.locked():  # none free, or others already waiting first
                await asyncio.wait_for(self._places.acquire(), self.wait)
            else:
                await self._places.acquire()  # returns at once, without a timer
        except TimeoutError:
            self._forget_export(export_owner)
            raise ServiceUnavailable(BUSY, RETRY_AFTER) from None
        except BaseException:  # cancelled while waiting: nothing is held
            self._forget_export(export_owner)
            raise
        self.in_progress += 1
        return Ticket(self, export_owner)

    def exports_of(self, owner: str) -> int:
        return self._exports[owner]

    def _release(self, export_owner: str | None) -> None:
        self.in_progress -= 1
        self._places.release()
        self._forget_export(export_owner)

    def _forget_export(self, owner: str | None) -> None:
        if owner is None:
            return
        self._exports[owner] -= 1
        if self._exports[owner] <= 0:
            del self._exports[owner]


class StreamCaps:
    """Open streams per client key (a salted hash, never an address), at most `limit` each.

    `open` counts a stream or raises `TooManyRequests` (429, `Retry-After`); `close` with the
    same key gives it back. Per instance.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def open(self, key: str) -> None:
        if self._open[key] >= self.limit:
            raise _too_many(
                f"At most {self.limit} live streams at once per client; close one first"
            )
        self._open[key] += 1

    def close(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def open_for(self, key: str) -> int:
        return self._open[key]
