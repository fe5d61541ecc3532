"""`GET /api/v1/stats/{aggregate,timeseries,breakdown}`: the Stats API (docs/api/stats.md).

Authentication is the Realtime API's, checks in the same order (a site's `vt_` token); then
the parameters are validated (400 naming the parameter and the allowed values), the query is
run on the event store under a time limit, and answered. Not cacheable; CORS-open.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import NO_STORE, error_response, json_response, preflight
from footfall.api.throttle import EXPOSE_HEADERS, enforce
from footfall.auth.api_auth import authorize_site
from footfall.errors import ApiError
from footfall.services import Services
from footfall.stats import Kind, answer, parse_query

_HEADERS = {
    "Cache-Control": NO_STORE,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
}


async def _stats(request: Request, kind: Kind) -> Response:
    services: Services = request.app.state.services
    try:
        auth, token_id = await authorize_site(
            services.meta,
            request.headers.get("authorization"),
            request.query_params.get("websiteId"),
        )
        now = services.clock.now()
        enforce(await services.limits.stats(token_id, now))
        query = parse_query(kind, auth.site.id, request.query_params.multi_items(), now)
        body = await answer(services.events, query)
        await services.meta.note_token_used(token_id, now)
    except ApiError as error:
        return error_response(error, _HEADERS)
    return json_response(body, headers=_HEADERS)


async def aggregate(request: Request) -> Response:
    """GET /api/v1/stats/aggregate — Bearer vt_ token of the website.

    200 `{"results": {metric: {"value", "change"?}}, …}`; 400 invalid parameter (named);
    401/404 as the Realtime API; 503 the query ran too long or a backend is unreachable.
    """
    return await _stats(request, Kind.AGGREGATE)


async def timeseries(request: Request) -> Response:
    """GET /api/v1/stats/timeseries — Bearer vt_ token of the website.

    200 `{"interval", "results": [{"date", metric…}]}` (every bucket, zero-filled); errors as
    for aggregate.
    """
    return await _stats(request, Kind.TIMESERIES)


async def breakdown(request: Request) -> Response:
    """GET /api/v1/stats/breakdown — Bearer vt_ token of the website.

    200 `{"property", "results": [{"value", metric…}]}` ordered by visitors; errors as for
    aggregate.
    """
    return await _stats(request, Kind.BREAKDOWN)


async def stats_preflight(_request: Request) -> Response:
    """OPTIONS /api/v1/stats/* — CORS preflight: any origin may send `Authorization`."""
    return preflight("GET, OPTIONS", "Authorization")
