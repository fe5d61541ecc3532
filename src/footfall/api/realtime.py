"""`GET /api/v1/realtime`: the live visitor count, exactly as `docs/api/realtime.md` specifies."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from footfall.api.live import parse_path
from footfall.api.responses import (
    NO_STORE,
    RawJSONResponse,
    error_response,
    preflight,
    query_value,
)
from footfall.api.throttle import EXPOSE_HEADERS, authorize, enforce, with_limit_headers
from footfall.clock import iso_millis
from footfall.errors import ApiError
from footfall.services import Services

_HEADERS = {
    "Cache-Control": NO_STORE,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
}
_RAW_HEADERS = [(name.lower().encode(), value.encode()) for name, value in _HEADERS.items()]
_RAW_HEADERS.insert(0, (b"content-type", b"application/json"))


async def realtime(request: Request) -> Response:
    """GET /api/v1/realtime?websiteId=ID[&path=/pricing] — Bearer vt_ token of that website.

    200 `{"currentVisitors", "websiteId", "timestamp"}` (with `path`: the visitors on the
    pages it matches, and `"path"` in the answer); 400 websiteId missing, invalid path;
    401 header missing, malformed token, no token configured, wrong token; 404 unknown website;
    429 rate limit of the token (`Retry-After`); 500 internal error; 503 a backend (cluster
    mode) is unreachable. Not cacheable; CORS-open.
    """
    services: Services = request.app.state.services
    query = request.scope["query_string"]
    website_id = query_value(query, "websiteId")
    # `path` (a page or section) is optional: without it the answer is the contract's exactly.
    path_text = query_value(query, "path") if b"path" in query else None
    try:
        auth, token_id = await authorize(services, request, website_id)
        now = services.clock.now()
        limit = await services.limits.realtime(token_id, now)
        enforce(limit)
        if path_text is None:
            count = await services.presence.count(auth.site.id)
        else:
            pattern = parse_path(path_text)
            count = await services.presence.count_path(auth.site.id, pattern)
        await services.meta.note_token_used(token_id, now)
    except ApiError as error:
        return error_response(error, _HEADERS)
    if path_text is None:
        body = {"currentVisitors": count, "websiteId": website_id, "timestamp": iso_millis(now)}
    else:
        body = {
            "currentVisitors": count,
            "websiteId": website_id,
            "path": str(pattern),
            "timestamp": iso_millis(now),
        }
    return RawJSONResponse(orjson.dumps(body), 200, with_limit_headers(_RAW_HEADERS, limit))


async def realtime_preflight(_request: Request) -> Response:
    """OPTIONS /api/v1/realtime — CORS preflight: any origin may send `Authorization`."""
    return preflight("GET, OPTIONS", "Authorization")
