"""Time as a dependency: production reads the system clock, tests inject their own."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current time as Unix seconds (float, sub-millisecond precision)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


_last_second: list[tuple[int, str]] = [(-1, "")]


def iso_millis(unix_seconds: float) -> str:
    """Format as the Realtime API's timestamp: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.

    On the realtime hot path: the date-and-time part is formatted once per second and reused.
    """
    second = int(unix_seconds // 1)
    millis = int((unix_seconds - second) * 1000)
    cached_second, prefix = _last_second[0]
    if cached_second != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second[0] = (second, prefix)
    return f"{prefix}.{millis:03d}Z"
