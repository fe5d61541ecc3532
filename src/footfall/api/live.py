"""`GET /api/v1/live` and `/api/v1/live/stream`: live counts for public pages (publishable key).

The live-counter widget's endpoints (docs/api/live-counter.md): the count as JSON, and the same
as a server-sent events stream that pushes each change. The caller names a publishable
key (`key=pk_…`, a query parameter: it is public, and `EventSource` cannot send headers) and
optionally a page or section (`path=/pricing`, `path=/pricing/*`). Checks, in this order (the
first failure answers):

1. `key` absent or empty                                  -> 401 KEY_REQUIRED
2. `key` is a secret `vt_` token                           -> 401 SECRET_TOKEN
3. `key` not a well-formed publishable key                 -> 401 INVALID_KEY
4. `path` given but not `/…` or `/…*`                      -> 400 `path: …`
5. no active key (unknown, revoked, its site deleted)      -> 401 INVALID_KEY
6. the page's origin is not one the key allows             -> 403 ORIGIN_NOT_ALLOWED
   (its `Origin` header; without one, its `Referer`'s origin: see `caller_origin`)
7. the key does not cover `path` (or the whole site)       -> 403 PATH_NOT_ALLOWED

Honesty: a count below the site's `live_min_count` is never revealed; the answer says so
(`currentVisitors: null, belowMinimum: true`) and the widget hides or shows its fallback.

CORS: a success echoes the allowed origin (`*` for a key allowed everywhere) with
`Vary: Origin`, so only pages of allowed origins can read counts; errors carry no count and are
readable from any origin, so a widget on a page its key does not allow stops asking and the
developer sees why.

The stream (`text/event-stream`): `retry:` (the reconnection delay for `EventSource`), then at
once the current count as an event (`id:` + `data:` holding the JSON above), then an event
each time the count changes, and a comment line every `live_heartbeat_seconds` (one timer
for all streams). A reconnect (with or without `Last-Event-ID`) gets the current count at once.
Heartbeats also re-check the key: a revoked key's streams end within about two heartbeats. On
shutdown every stream ends cleanly (browsers reconnect, to another instance).

Open streams are capped per instance (`live_max_streams`, 503) and per client
(`live_max_streams_per_client`, 429 `Retry-After`), so one address cannot take every place:
the client is keyed by the live rate limit's salted hash of its address (the address is not
kept), counted in this process; in cluster mode the cap is per instance.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from footfall.api.responses import NO_STORE, RawJSONResponse, error_response, query_value
from footfall.api.sse import KEEP_ALIVE, EventStreamResponse, write_chunk
from footfall.api.throttle import EXPOSE_HEADERS, enforce, request_client_ip, with_limit_headers
from footfall.auth import publishable, tokens
from footfall.clock import iso_millis
from footfall.errors import ApiError, BadRequest, Forbidden, Unauthorized
from footfall.realtime.live import CLOSED, HEARTBEAT, Subscription, Topic
from footfall.realtime.paths import PathPattern
from footfall.services import Services
from footfall.storage.publishable_keys import LiveGrant

KEY_REQUIRED = "key is required: a publishable key (pk_…) of the website"
SECRET_TOKEN = (
    "This is a secret API token: never put it in a web page. "  # noqa: S105 - a message
    "Use a publishable key (pk_…, footfall keys create)"
)
INVALID_KEY = "Invalid publishable key"
ORIGIN_NOT_ALLOWED = "Origin not allowed for this key"
PATH_NOT_ALLOWED = "Path not allowed for this key"

_ERROR_HEADERS = {
    "Cache-Control": NO_STORE,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,  # a widget may read Retry-After
}


def parse_path(text: str) -> PathPattern:
    """The `path` query parameter as a pattern; 400 naming the parameter if invalid."""
    try:
        return PathPattern.parse(text)
    except ValueError as error:
        raise BadRequest(f"path: {error}") from None


@dataclass(frozen=True, slots=True)
class LiveRequest:
    """A request the checks let through: what to count, and for whom."""

    grant: LiveGrant
    pattern: PathPattern | None
    origin: str | None  # the request's origin, normal form (None: no Origin header)

    @property
    def site_id(self) -> str:
        return self.grant.key.site_id

    def cors_origin(self) -> bytes:
        """`Access-Control-Allow-Origin` of an answer to this request."""
        if self.origin is not None and self.origin in self.grant.key.allowed_origins:
            return self.origin.encode("latin-1")
        return b"*"


def caller_origin(request: Request) -> str | None:
    """The origin of the page asking, in normal form, or None when the request names none.

    Its `Origin` header when present. Browsers send none on same-origin GET requests (a site
    serving Footfall through its own domain, behind its reverse proxy), so without one the
    origin of `Referer` stands in: a browser sends either header as the page's true origin
    (scripts cannot set them), and a cross-origin read always carries `Origin`, so this lets
    no other site read counts. `Origin: null` (a sandboxed frame, a file) stays None, whatever
    its `Referer` says; a `Referer` reduced to nothing (`no-referrer`) names no origin.
    """
    header = request.headers.get("origin")
    if header is not None:
        return publishable.request_origin(header)
    referer = request.headers.get("referer")
    if not referer:
        return None
    try:
        parts = urlsplit(referer.strip())
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    # A user part (never sent by browsers) makes request_origin refuse it, as it should.
    return publishable.request_origin(f"{parts.scheme}://{parts.netloc}")


async def authorize_live(services: Services, request: Request) -> LiveRequest:
    """Checks 1 to 7 of a live request (the count and the stream share them)."""
    query = request.scope["query_string"]
    key = query_value(query, "key")
    if not key:
        raise Unauthorized(KEY_REQUIRED)
    if key.startswith(tokens.PREFIX):
        raise Unauthorized(SECRET_TOKEN)
    if not publishable.is_well_formed(key):
        raise Unauthorized(INVALID_KEY)
    path = query_value(query, "path") if b"path" in query else None
    pattern = None if path is None else parse_path(path)
    grant = await services.keys.grant(key)
    if grant is None:
        raise Unauthorized(INVALID_KEY)
    origin = caller_origin(request)
    if not grant.key.allows_origin(origin):
        raise Forbidden(ORIGIN_NOT_ALLOWED)
    if not grant.key.allows_path(pattern):
        raise Forbidden(PATH_NOT_ALLOWED)
    return LiveRequest(grant, pattern, origin)


def live_body(count: int, minimum: int, pattern: PathPattern | None, now: float) -> bytes:
    """The JSON of a live count as the widget reads it (also each stream event's data)."""
    below = count < minimum
    return orjson.dumps(
        {
            "currentVisitors": None if below else count,
            "belowMinimum": below,
            "minimum": minimum,
            "path": None if pattern is None else str(pattern),
            "timestamp": iso_millis(now),
        }
    )


async def count_for(services: Services, site_id: str, pattern: PathPattern | None) -> int:
    """The site's count, or that of the pages `pattern` matches."""
    if pattern is None:
        return await services.presence.count(site_id)
    return await services.presence.count_path(site_id, pattern)


def live_error(error: ApiError) -> Response:
    """An error answer, readable from any origin: it carries no count, and a widget on a page
    its key does not allow must learn so to stop asking (and tell the developer why)."""
    return error_response(error, _ERROR_HEADERS)


async def live_count(request: Request) -> Response:
    """GET /api/v1/live?key=pk_…[&path=/pricing] — publishable key of the website.

    200 `{"currentVisitors": int | null, "belowMinimum", "minimum", "path", "timestamp"}`;
    400 invalid path; 401 key missing, a secret token, malformed, unknown or revoked;
    403 origin or path not allowed for the key; 503 a backend is unreachable. Not cacheable.
    """
    services: Services = request.app.state.services
    try:
        live = await authorize_live(services, request)
        decision = await services.limits.live(
            request_client_ip(services, request), services.clock.now()
        )
        enforce(decision)
        count = await count_for(services, live.site_id, live.pattern)
        now = services.clock.now()
        await services.keys.note_used(live.grant.key.id, now)
    except ApiError as error:
        return live_error(error)
    body = live_body(count, live.grant.live_min_count, live.pattern, now)
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", NO_STORE.encode()),
        (b"access-control-allow-origin", live.cors_origin()),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
    ]
    return RawJSONResponse(body, 200, with_limit_headers(headers, decision))


async def live_preflight(request: Request) -> Response:
    """OPTIONS /api/v1/live and /api/v1/live/stream — CORS preflight for the asking origin.

    The widget's requests are "simple" and need none; this answers clients that add headers
    (the key is checked on the request itself)."""
    origin = request.headers.get("origin") or "*"
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": "Last-Event-ID, Cache-Control",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


# -- the stream -------------------------------------------------------------------------------


def stream_message(topic: Topic, minimum: int) -> bytes:
    """A topic's current count as one event, rendered once per count for all its streams."""
    message = topic.messages.get(minimum)
    if message is None:
        assert topic.count is not None
        data = live_body(topic.count, minimum, topic.pattern, topic.changed_at)
        event_id = str(int(topic.changed_at * 1000)).encode()
        message = topic.messages[minimum] = b"id: " + event_id + b"\ndata: " + data + b"\n\n"
    return message


class EventStream(EventStreamResponse):
    """One stream: the current count at once, then every change, heartbeats in between.

    Ends when the client leaves, when the key no longer allows the request (checked at each
    heartbeat), or when the server stops (`LiveHub.close_streams`).
    """

    def __init__(
        self, services: Services, live: LiveRequest, sub: Subscription, client_key: str
    ) -> None:
        super().__init__(
            [(b"access-control-allow-origin", live.cors_origin()), (b"vary", b"Origin")]
        )
        self.services = services
        self.live = live
        self.sub = sub
        self.client_key = client_key  # counted in `live_stream_caps` until `release`

    async def events(self, send: Send) -> None:
        sub, topic = self.sub, self.sub.topic
        minimum = self.live.grant.live_min_count
        retry = f"retry: {self.services.settings.live_retry_ms}\n".encode()
        await write_chunk(send, retry + stream_message(topic, minimum))
        sent = (topic.version, minimum)
        while True:
            what = await sub.wait()
            if what == CLOSED:
                return
            if what == HEARTBEAT:
                allowed = await self._still_allowed()
                if allowed is None:
                    return
                minimum = allowed
            if (topic.version, minimum) != sent:
                await write_chunk(send, stream_message(topic, minimum))
                sent = (topic.version, minimum)
            elif what == HEARTBEAT:
                await write_chunk(send, KEEP_ALIVE)

    def client_left(self) -> None:
        self.sub.signal(CLOSED)

    def release(self) -> None:
        self.services.live.unsubscribe(self.sub)
        self.services.live_stream_caps.close(self.client_key)

    async def _still_allowed(self) -> int | None:
        """The site's minimum if the key still allows this stream, else None. A metadata
        outage keeps the stream going on what was last known."""
        live = self.live
        heartbeat = self.services.settings.live_heartbeat_seconds
        try:
            grant = await self.services.keys.grant(live.grant.key.key, max_age=heartbeat)
        except ApiError:
            return live.grant.live_min_count
        if (
            grant is None
            or not grant.key.allows_origin(live.origin)
            or not grant.key.allows_path(live.pattern)
        ):
            return None
        return grant.live_min_count


async def live_stream(request: Request) -> Response:
    """GET /api/v1/live/stream?key=pk_…[&path=/pricing] — publishable key of the website.

    200 `text/event-stream`: `retry`, the current count at once, then each change (`id` +
    `data`, the JSON of `GET /api/v1/live`), comment heartbeats; errors as for `/api/v1/live`,
    429 when the client has `live_max_streams_per_client` streams open here, and 503 when
    the server is stopping or has `live_max_streams` open.
    """
    services: Services = request.app.state.services
    caps = services.live_stream_caps
    try:
        live = await authorize_live(services, request)
        now = services.clock.now()
        ip = request_client_ip(services, request)
        enforce(await services.limits.live(ip, now))
        client_key = await services.limits.client_key(ip, now)
        caps.open(client_key)
        try:
            sub = await services.live.subscribe(live.site_id, live.pattern)
        except BaseException:
            caps.close(client_key)
            raise
    except ApiError as error:
        return live_error(error)
    with contextlib.suppress(ApiError):  # only bookkeeping: the stream works without it
        await services.keys.note_used(live.grant.key.id, services.clock.now())
    return EventStream(services, live, sub, client_key)
