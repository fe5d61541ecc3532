"""The ingestion pipeline: a list of named steps from a validated hit to a storable `Event`.

Each step looks at the `Hit` (and may fill in what it derived) and returns None to go on or
a `DropReason` to stop. Every drop is counted. Validation that deserves a 400 (bad URL, no way
to identify the visitor) happens before: `Hit` only holds well-formed input.

    prefetch ▸ privacy ▸ hostname ▸ referrer spam ▸ bots ▸ locate ▸ visitor ▸ visit  →  Event
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from footfall.ingestion import enrich, referrer_spam
from footfall.ingestion.addresses import Address
from footfall.ingestion.drops import DropCounter, DropReason
from footfall.ingestion.geo import NOWHERE, GeoLookup, Location
from footfall.ingestion.visitor import SaltRing, explicit_visitor_id, visitor_hash
from footfall.ingestion.visits_base import Visits
from footfall.storage.events import Event
from footfall.storage.models import Site

_PREFETCH_PURPOSES = ("prefetch", "prerender", "preview")


@dataclass(slots=True)
class Hit:
    """A validated event on its way through the pipeline."""

    site: Site
    name: str
    page: enrich.PageUrl
    ts: float
    received_at: float
    referrer: str | None = None
    screen_width: int | None = None
    props: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None  # the visitor's address as text: input of the visitor hash
    address: Address | None = None  # `ip` parsed, for geolocation; None if it is no address
    user_agent: str | None = None
    explicit_visitor: str | None = None
    purpose: str | None = None
    event_id: str | None = None  # the client's id for the event (deduplication)
    privacy_signal: bool = False  # the browser sent `Sec-GPC: 1` or `DNT: 1`
    # Filled in by the steps:
    software: enrich.Software | None = None
    location: Location = NOWHERE  # country/region/city of `address`; never stored itself
    visitor_id: int = 0
    previous_visitor_id: int | None = None  # the id under yesterday's salt
    visit_id: int = 0


Step = Callable[[Hit], Awaitable[DropReason | None]]


class Pipeline:
    """Runs the steps in order; `process` returns an `Event` or the reason it was dropped."""

    def __init__(
        self,
        salts: SaltRing,
        visits: Visits,
        drops: DropCounter,
        geo: GeoLookup | None = None,
    ) -> None:
        self._salts = salts
        self._visits = visits
        self.drops = drops
        self.geo = geo  # None: events are stored without a location
        self.steps: list[tuple[str, Step]] = [
            ("prefetch", self.check_prefetch),
            ("privacy", self.check_privacy),
            ("hostname", self.check_hostname),
            ("referrer spam", self.drop_referrer_spam),
            ("bots", self.drop_bots),
            ("locate", self.locate),
            ("visitor", self.identify_visitor),
            ("visit", self.assign_visit),
        ]

    async def process(self, hit: Hit) -> Event | DropReason:
        for _name, step in self.steps:
            reason = await step(hit)
            if reason is not None:
                self.drops.add(reason)
                return reason
        return self._event(hit)

    # -- steps ------------------------------------------------------------------------------

    @staticmethod
    async def check_prefetch(hit: Hit) -> DropReason | None:
        if hit.purpose and any(p in hit.purpose.lower() for p in _PREFETCH_PURPOSES):
            return DropReason.PREFETCH
        return None

    @staticmethod
    async def check_privacy(hit: Hit) -> DropReason | None:
        if hit.privacy_signal and hit.site.honor_gpc:
            return DropReason.PRIVACY_SIGNAL
        return None

    @staticmethod
    async def check_hostname(hit: Hit) -> DropReason | None:
        site = hit.site
        if not enrich.host_allowed(hit.page.hostname, site.domain, site.allowed_hostnames):
            return DropReason.HOSTNAME_MISMATCH
        return None

    @staticmethod
    async def drop_referrer_spam(hit: Hit) -> DropReason | None:
        if hit.referrer and referrer_spam.is_spam_referrer(hit.referrer):
            return DropReason.REFERRER_SPAM
        return None

    @staticmethod
    async def drop_bots(hit: Hit) -> DropReason | None:
        if hit.user_agent is None:
            # A server-side event that names its visitor and no user agent: nothing to judge.
            return None
        hit.software = enrich.software(hit.user_agent)
        return DropReason.BOT if hit.software.is_bot else None

    async def locate(self, hit: Hit) -> DropReason | None:
        if self.geo is not None and hit.address is not None:
            hit.location = self.geo.locate(hit.address)
        return None

    async def identify_visitor(self, hit: Hit) -> DropReason | None:
        if hit.explicit_visitor is not None:
            hit.visitor_id = explicit_visitor_id(hit.site.id, hit.explicit_visitor)
            return None
        salts = await self._salts.for_time(hit.received_at)
        ip, ua = hit.ip or "", hit.user_agent or ""
        hit.visitor_id = visitor_hash(salts.current, hit.site.id, ip, ua)
        if salts.previous is not None:
            hit.previous_visitor_id = visitor_hash(salts.previous, hit.site.id, ip, ua)
        return None

    async def assign_visit(self, hit: Hit) -> DropReason | None:
        hit.visitor_id, hit.visit_id = await self._visits.assign(
            hit.site.id, hit.visitor_id, hit.previous_visitor_id, hit.ts, hit.received_at
        )
        return None

    # -- result -----------------------------------------------------------------------------

    @staticmethod
    def _event(hit: Hit) -> Event:
        software = hit.software
        utm = hit.page.utm
        ref = enrich.referrer(hit.referrer, hit.page.hostname, utm.get("utm_source"))
        return Event(
            ts=hit.ts,
            site_id=hit.site.id,
            visitor_id=hit.visitor_id,
            visit_id=hit.visit_id,
            name=hit.name,
            hostname=hit.page.hostname,
            pathname=hit.page.pathname,
            referrer=ref.url,
            referrer_source=ref.source,
            utm_source=utm.get("utm_source"),
            utm_medium=utm.get("utm_medium"),
            utm_campaign=utm.get("utm_campaign"),
            utm_term=utm.get("utm_term"),
            utm_content=utm.get("utm_content"),
            country=hit.location.country,
            region=hit.location.region,
            city=hit.location.city,
            browser=software.browser if software else None,
            browser_version=software.browser_version if software else None,
            os=software.os if software else None,
            os_version=software.os_version if software else None,
            device_type=software.device_type if software else None,
            screen_size=enrich.screen_size(hit.screen_width),
            props=hit.props,
            event_id=hit.event_id,
        )
