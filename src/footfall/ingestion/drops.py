"""Why an event was dropped: a fixed enum, each reason counted.

A dropped event is answered 202 like an accepted one (a bot must not learn how to get in),
with the reason in the `X-Footfall-Dropped` response header for the site owner debugging
their set-up.
"""

from __future__ import annotations

import enum
from collections import Counter


class DropReason(enum.StrEnum):
    BOT = "bot"
    """The user agent is a known bot, crawler, spider or headless browser, or is empty."""
    HOSTNAME_MISMATCH = "hostname_mismatch"
    """The event's URL is not on the site's domain, a subdomain, or an allowed hostname."""
    REFERRER_SPAM = "referrer_spam"
    """The referrer is a known referrer spammer (Matomo's list, shipped with Footfall)."""
    PREFETCH = "prefetch"
    """The browser only prefetched or prerendered the page (`Sec-Purpose`/`Purpose` header)."""
    PRIVACY_SIGNAL = "privacy_signal"
    """The site honours privacy signals and the browser sent `Sec-GPC: 1` or `DNT: 1`."""
    DUPLICATE = "duplicate"
    """A retry: an event with this `eventId` was stored for the site within the window."""


class DropCounter:
    """Counts of dropped events per reason since the process started."""

    def __init__(self) -> None:
        self._counts: Counter[DropReason] = Counter()

    def add(self, reason: DropReason, n: int = 1) -> None:
        self._counts[reason] += n

    def snapshot(self) -> dict[str, int]:
        """Every reason with its count (zero included), for `/healthz` and logs."""
        return {reason.value: self._counts[reason] for reason in DropReason}
