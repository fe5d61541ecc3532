"""The limits the API applies, by endpoint, on one `RateLimiter` backend.

| limit | key | default | applies to |
|---|---|---|---|
| realtime | the API token | 50/s, burst 500 | `GET /api/v1/realtime` |
| stats | the API token | 10/s, burst 100 | `GET /api/v1/stats/*` |
| dashboard stats | the signed-in user | 10/s, burst 100 | `GET /sites/{id}/stats/*` |
| ingestion per client | a salted hash of the client IP | 20/s, burst 200 | `POST /api/event` (*) |
| ingestion per site | the website | 1,000 events/s, burst 10,000 | both ingestion endpoints |
| live per client | a salted hash of the client IP | 20/s, burst 200 | `/api/v1/live` (+ stream) |

(*) Also charged for a request naming a website id that does not exist, and for a
well-formed Bearer token that is no site's on `POST /api/v1/events`: each costs a lookup.

Checks run after authentication (a request that fails it answers as the Realtime API's
contract says, and costs no bucket). The client IP is never a key: the key is a keyed
BLAKE2b hash of it under the day's visitor salt, which is deleted after two days like the
salt itself — the limiter stores no IP, not even in Redis for the seconds a bucket lives.
A rate of 0 turns a limit off (`FOOTFALL_RATE_LIMIT_*`, docs/settings.md).
"""

from __future__ import annotations

import hashlib

from footfall.config import Settings
from footfall.ingestion.visitor import SaltRing
from footfall.ratelimit.base import Check, Decision, RateLimit, RateLimiter


class ApiRateLimits:
    """Applies the configured limits; each method returns None when its limit is off."""

    def __init__(self, limiter: RateLimiter, settings: Settings, salts: SaltRing) -> None:
        self.limiter = limiter
        self._salts = salts
        self.realtime_limit = RateLimit.optional(
            settings.rate_limit_realtime_per_second, settings.rate_limit_realtime_burst
        )
        self.stats_limit = RateLimit.optional(
            settings.rate_limit_stats_per_second, settings.rate_limit_stats_burst
        )
        self.client_limit = RateLimit.optional(
            settings.rate_limit_ingest_client_per_second, settings.rate_limit_ingest_client_burst
        )
        self.site_limit = RateLimit.optional(
            settings.rate_limit_ingest_site_per_second, settings.rate_limit_ingest_site_burst
        )
        self.live_limit = RateLimit.optional(
            settings.rate_limit_live_client_per_second, settings.rate_limit_live_client_burst
        )
        self.dashboard_limit = RateLimit.optional(
            settings.rate_limit_dashboard_stats_per_second,
            settings.rate_limit_dashboard_stats_burst,
        )

    async def realtime(self, token_id: str, now: float) -> Decision | None:
        if self.realtime_limit is None:
            return None
        return await self.limiter.acquire((("rt:" + token_id, self.realtime_limit),), now)

    async def stats(self, token_id: str, now: float) -> Decision | None:
        if self.stats_limit is None:
            return None
        return await self.limiter.acquire((("st:" + token_id, self.stats_limit),), now)

    async def dashboard_stats(self, user_id: str, now: float) -> Decision | None:
        """A dashboard stats request (`/sites/{id}/stats/*`) of the signed-in user: per user,
        whichever site, since a user's queries all run on the same instance's store."""
        if self.dashboard_limit is None:
            return None
        return await self.limiter.acquire((("ds:" + user_id, self.dashboard_limit),), now)

    async def ingest(
        self, site_id: str, client_ip: str | None, now: float, events: int = 1
    ) -> Decision | None:
        """`events` events for the site, from the client at `client_ip` (None: a server-side
        batch, limited per site only). A batch larger than a bucket takes a full bucket: it
        waits for the bucket to fill instead of being refused forever."""
        checks: list[Check] = []
        if self.site_limit is not None:
            checks.append(("is:" + site_id, self.site_limit))
            events = min(events, self.site_limit.burst)
        if self.client_limit is not None and client_ip is not None:
            checks.append(("ic:" + await self.client_key(client_ip, now), self.client_limit))
        if not checks:
            return None
        return await self.limiter.acquire(checks, now, events)

    async def live(self, client_ip: str, now: float) -> Decision | None:
        """A public live-count request or stream opening from the client at `client_ip`.

        Per client, not per publishable key: a key is shared by every visitor of its site, so
        limiting the key would let one abuser silence the widget for everyone."""
        if self.live_limit is None:
            return None
        key = "lc:" + await self.client_key(client_ip, now)
        return await self.limiter.acquire(((key, self.live_limit),), now)

    async def unknown_site(self, client_ip: str, now: float) -> Decision | None:
        """Charge the client's bucket for a request naming no existing website: looking an
        unknown id up costs a query, so a flood of made-up ids is limited like events."""
        if self.client_limit is None:
            return None
        key = "ic:" + await self.client_key(client_ip, now)
        return await self.limiter.acquire(((key, self.client_limit),), now)

    async def client_key(self, client_ip: str, now: float) -> str:
        """The key standing for the client at `client_ip` today: a keyed hash under the day's
        visitor salt (the address itself is never kept)."""
        salts = await self._salts.for_time(now)
        digest = hashlib.blake2b(
            client_ip.encode(), key=salts.current, digest_size=12, person=b"ff-ratelimit"
        )
        return digest.hexdigest()

    async def close(self) -> None:
        await self.limiter.close()
