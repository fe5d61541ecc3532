"""Time as a dependency: production reads the system clock, tests inject their own."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current time as Unix seconds (float, sub-millisecond precision)."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


def iso_millis(unix_seconds: float) -> str:
    """Format as the Realtime API's timestamp: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC."""
    dt = datetime.fromtimestamp(unix_seconds, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
