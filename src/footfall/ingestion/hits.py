"""From validated payloads to pipeline `Hit`s, with the checks that need more than types.

Raises `BadRequest` naming the field (`url`, `events[3].timestamp`), before anything is
processed, so that a rejected request changes nothing.
"""

from __future__ import annotations

from footfall.errors import BadRequest
from footfall.ingestion import enrich
from footfall.ingestion.addresses import Address, parse_client_address
from footfall.ingestion.payload import ServerBatch, TrackerHit
from footfall.ingestion.pipeline import Hit
from footfall.storage.models import Site

MAX_FUTURE_SKEW = 300.0
"""Backfilled timestamps may lie at most this many seconds ahead of the server's clock."""


def page(url: str, field: str) -> enrich.PageUrl:
    result = enrich.page_url(url)
    if result is None:
        raise BadRequest(f"{field}: must be an absolute http(s) URL")
    return result


def tracker_hit(
    payload: TrackerHit,
    site: Site,
    now: float,
    *,
    ip: str,
    user_agent: str,
    purpose: str | None,
    privacy_signal: bool = False,
    address: Address | None = None,
) -> Hit:
    """The hit of one tracker request, timed at its arrival. `ip` and `address` are what
    `client_ip.resolve_client` gives; a hit without `address` is not located."""
    return Hit(
        site=site,
        name=payload.name,
        page=page(payload.url, "url"),
        ts=now,
        received_at=now,
        referrer=payload.referrer,
        screen_width=payload.screenWidth,
        props=dict(payload.props or {}),
        ip=ip,
        address=address,
        user_agent=user_agent,
        purpose=purpose,
        event_id=payload.eventId,
        privacy_signal=privacy_signal,
    )


def server_hits(batch: ServerBatch, site: Site, now: float, max_events: int) -> list[Hit]:
    """The hits of a server-side batch; every event is checked before any is returned."""
    if len(batch.events) > max_events:
        raise BadRequest(f"events: at most {max_events} events per request")
    hits = []
    for index, item in enumerate(batch.events):
        where = f"events[{index}]"
        ts = item.timestamp.timestamp() if item.timestamp is not None else now
        if ts > now + MAX_FUTURE_SKEW:
            raise BadRequest(f"{where}.timestamp: more than 5 minutes in the future")
        address = None
        if item.ip is not None:
            address = parse_client_address(item.ip)
            if address is None:
                raise BadRequest(f"{where}.ip: not an IP address")
        if item.visitorId is None and (item.ip is None or item.userAgent is None):
            raise BadRequest(f"{where}: give visitorId, or both ip and userAgent")
        hits.append(
            Hit(
                site=site,
                name=item.name,
                page=page(item.url, f"{where}.url"),
                ts=ts,
                received_at=now,
                referrer=item.referrer,
                screen_width=item.screenWidth,
                props=dict(item.props or {}),
                # The canonical text, as for tracker hits: one visitor, one hash, however the
                # sender wrote the address (`::ffff:1.2.3.4`, upper-case IPv6, …).
                ip=address.text if address is not None else None,
                address=address,
                user_agent=item.userAgent,
                explicit_visitor=item.visitorId,
                event_id=item.eventId,
            )
        )
    return hits
