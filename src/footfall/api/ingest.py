"""`POST /api/event` (the tracker's, public) and `POST /api/v1/events` (server-side, Bearer).

Both validate everything first (a 4xx changes nothing), run the pipeline, and answer only
after the writer committed the accepted events. Drops answer 202 too, with the reasons in
`X-Footfall-Dropped`.
"""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.body import read_limited
from footfall.api.responses import RawJSONResponse, error_response, json_response, preflight
from footfall.api.throttle import EXPOSE_HEADERS, enforce, request_client_ip
from footfall.auth.api_auth import WEBSITE_NOT_FOUND, authorize_token, bearer_token
from footfall.errors import ApiError, NotFound, Unauthorized
from footfall.ingestion.client_ip import resolve_client
from footfall.ingestion.drops import DropReason
from footfall.ingestion.hits import server_hits, tracker_hit
from footfall.ingestion.payload import ServerBatch, TrackerHit, parse
from footfall.services import Services
from footfall.storage.events import Event
from footfall.storage.models import SiteAuth

DROPPED_HEADER = "X-Footfall-Dropped"
_PUBLIC_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": f"{DROPPED_HEADER}, {EXPOSE_HEADERS}",
    "Cache-Control": "no-store",
}


_ACCEPTED = b'{"status":"accepted"}'
_ACCEPTED_HEADERS = [(b"content-type", b"application/json")] + [
    (name.lower().encode(), value.encode()) for name, value in _PUBLIC_HEADERS.items()
]


def _header_map(request: Request) -> dict[bytes, bytes]:
    """The raw request headers by (lowercase) name, the first of repeated ones winning as in
    Starlette's `Headers.get`: one pass instead of a scan of every header per lookup."""
    return dict(reversed(request.scope["headers"]))


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return None if value is None else value.decode("latin-1")


def _privacy_signal(headers: dict[bytes, bytes]) -> bool:
    """The browser asks not to be tracked: Global Privacy Control or Do Not Track."""
    return headers.get(b"sec-gpc", b"").strip() == b"1" or headers.get(b"dnt", b"").strip() == b"1"


def _purpose(headers: dict[bytes, bytes]) -> str | None:
    return (
        _header(headers, b"sec-purpose")
        or _header(headers, b"purpose")
        or _header(headers, b"x-purpose")
    )


async def track(request: Request) -> Response:
    """POST /api/event — public, CORS-open; body `{"websiteId","name","url",…}` as JSON.

    202 accepted or dropped (reason in `X-Footfall-Dropped`); 400 malformed or invalid body;
    404 unknown website; 408 body too slow; 413 body too large; 429 rate limit of the client
    or the site (`Retry-After`); 503 overloaded (with Retry-After).
    """
    services: Services = request.app.state.services
    settings = services.settings
    try:
        body = await read_limited(
            request, settings.max_body_bytes, settings.request_body_timeout_seconds
        )
        payload = parse(TrackerHit, body)
        request_headers = _header_map(request)
        client = resolve_client(
            request.client.host if request.client else None,
            _header(request_headers, b"x-forwarded-for"),
            settings.trusted_proxies,
        )
        ip = client.ip
        now = services.clock.now()
        auth = await services.meta.site_auth(payload.websiteId)
        if auth is None:
            enforce(await services.limits.unknown_site(ip, now))
            raise NotFound(WEBSITE_NOT_FOUND)
        enforce(await services.limits.ingest(auth.site.id, ip, now))
        hit = tracker_hit(
            payload,
            auth.site,
            now,
            ip=ip,
            address=client.address,
            user_agent=_header(request_headers, b"user-agent") or "",
            purpose=_purpose(request_headers),
            privacy_signal=_privacy_signal(request_headers),
        )
        result = await services.pipeline.process(hit)
        if not isinstance(result, DropReason) and not await services.dedup.admit([result]):
            result = DropReason.DUPLICATE
        if isinstance(result, DropReason):
            headers = {**_PUBLIC_HEADERS, DROPPED_HEADER: result.value}
            return json_response({"status": "dropped", "reason": result.value}, 202, headers)
        await services.writer.submit([result])
    except ApiError as error:
        return error_response(error, _PUBLIC_HEADERS)
    return RawJSONResponse(_ACCEPTED, 202, _ACCEPTED_HEADERS)


async def track_preflight(_request: Request) -> Response:
    """OPTIONS /api/event — CORS preflight for trackers that send `application/json`."""
    return preflight("POST, OPTIONS", "Content-Type")


async def _authorize_importer(services: Services, request: Request) -> tuple[SiteAuth, str]:
    """`authorize_token`, charging a well-formed token that is no site's to its client's
    ingestion bucket (as made-up website ids are): each costs a metadata lookup, so a flood
    of made-up tokens gets 429s once past that limit. A malformed header costs no lookup."""
    header = request.headers.get("authorization")
    bearer_token(header)  # checks 1 and 2 (no lookup): their 401s are not charged
    try:
        return await authorize_token(services.meta, header)
    except Unauthorized:
        ip = request_client_ip(services, request)
        enforce(await services.limits.unknown_site(ip, services.clock.now()))
        raise


async def import_events(request: Request) -> Response:
    """POST /api/v1/events — Bearer vt_ token; the events belong to the token's website.

    Body `{"events": [{"name","url","referrer","props","timestamp","visitorId","ip",
    "userAgent","screenWidth","eventId"}, …]}`. All-or-nothing: one invalid event rejects the
    batch (400, naming `events[i].field`), nothing is stored. 202 `{"accepted": n, "dropped":
    {reason: n}}` after the accepted events are committed (retries of stored events count as
    `duplicate` drops); 401 auth; 408 body too slow; 413 too large;
    429 the site's rate limit, or the client's ingestion limit after unknown tokens;
    503 overloaded.
    """
    services: Services = request.app.state.services
    settings = services.settings
    try:
        auth, token_id = await _authorize_importer(services, request)
        body = await read_limited(
            request, settings.max_batch_body_bytes, settings.request_body_timeout_seconds
        )
        batch = parse(ServerBatch, body)
        now = services.clock.now()
        hits = server_hits(batch, auth.site, now, settings.max_batch_events)
        enforce(await services.limits.ingest(auth.site.id, None, now, len(hits)))
        await services.meta.note_token_used(token_id, now)
        accepted: list[Event] = []
        dropped: Counter[str] = Counter()
        for hit in hits:
            result = await services.pipeline.process(hit)
            if isinstance(result, DropReason):
                dropped[result.value] += 1
            else:
                accepted.append(result)
        fresh = await services.dedup.admit(accepted)
        if len(fresh) < len(accepted):
            dropped[DropReason.DUPLICATE.value] += len(accepted) - len(fresh)
            accepted = fresh
        await services.writer.submit(accepted)
    except ApiError as error:
        return error_response(error)
    headers = {DROPPED_HEADER: ",".join(sorted(dropped))} if dropped else None
    return json_response({"accepted": len(accepted), "dropped": dict(dropped)}, 202, headers)
