"""The site dashboard's numbers: the Stats API behind the session instead of a token.

    GET /sites/{id}/stats/aggregate       the API's /api/v1/stats/aggregate
    GET /sites/{id}/stats/timeseries      … /timeseries
    GET /sites/{id}/stats/breakdown       … /breakdown
    GET /sites/{id}/stats/breakdown.csv   … /breakdown.csv (a download)

Same parameters, same validation, same engine and same answers as the API
(`api.stats.run_query`): the page's script asks these with the parameters of its URL, so a
number on the dashboard is the number the API gives for the same range (`timezone` defaults
to the site's own time zone in both). One difference: the website is the one in the path (a
`websiteId` naming another one is refused).

Access is the dashboard's: a signed-in user who may see the site (any role); 401 signed out,
404 for a site they may not see (never 403). GET only and without side effects, so no CSRF
token is needed; the answers carry no CORS header, so other origins cannot read them.
Abuse controls (each query also runs under the engine's time limit): a per-user rate limit
(`rate_limit_dashboard_stats_*`, 429 with `Retry-After` and `RateLimit-*` as the API), the
instance's stats admission shared with the API (503 with `Retry-After` when full), and for
the streamed `breakdown.csv` (every row unless `limit`/`page` is given) the cap on one
user's downloads in progress and the send timeout, as the API's downloads.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import error_response, json_response
from footfall.api.stats import (
    csv_download,
    pages_chosen,
    prepare_query,
    run_query,
    streamed_breakdown,
)
from footfall.api.throttle import enforce
from footfall.dashboard.auth import require_site, require_user
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import json_view
from footfall.errors import ApiError, BadRequest
from footfall.stats import Kind, StatsQuery
from footfall.storage.models import Site


def _params(request: Request, site: Site) -> list[tuple[str, str]]:
    """The request's parameters as the engine takes them: the site's time zone by default,
    `websiteId` only if it names this site (it is the path's)."""
    params: list[tuple[str, str]] = []
    for name, value in request.query_params.multi_items():
        if name == "websiteId":
            if value != site.id:
                raise BadRequest("websiteId: the website is the one in the path; leave it out")
            continue
        params.append((name, value))
    return params


async def _site(request: Request) -> Site:
    """The site in the path if the user may see it, after charging the user's rate limit
    (429) — after the access checks, so signed-out requests cost no bucket."""
    site = await require_site(request, request.path_params["site_id"])
    board = dashboard(request)
    user = await require_user(request)  # cached by require_site: no second lookup
    enforce(await board.services.limits.dashboard_stats(user.id, board.now()))
    return site


async def _answer(request: Request, kind: Kind) -> tuple[dict[str, Any], StatsQuery]:
    """The engine's answer for the site in the path (`ApiError` for invalid parameters)."""
    site = await _site(request)
    board = dashboard(request)
    return await run_query(
        board.services, kind, site.id, _params(request, site), board.now(), site.timezone
    )


async def _json(request: Request, kind: Kind) -> Response:
    try:
        body, _ = await _answer(request, kind)
    except ApiError as error:
        return error_response(error)
    return json_response(body)


@json_view
async def aggregate(request: Request) -> Response:
    """GET /sites/{site_id}/stats/aggregate — as GET /api/v1/stats/aggregate; session."""
    return await _json(request, Kind.AGGREGATE)


@json_view
async def timeseries(request: Request) -> Response:
    """GET /sites/{site_id}/stats/timeseries — as GET /api/v1/stats/timeseries; session."""
    return await _json(request, Kind.TIMESERIES)


@json_view
async def breakdown(request: Request) -> Response:
    """GET /sites/{site_id}/stats/breakdown — as GET /api/v1/stats/breakdown; session."""
    return await _json(request, Kind.BREAKDOWN)


@json_view
async def breakdown_csv(request: Request) -> Response:
    """GET /sites/{site_id}/stats/breakdown.csv — as GET /api/v1/stats/breakdown.csv
    (`text/csv` attachment, every row streamed unless `limit`/`page` is given; errors as
    JSON, 429 past the user's downloads in progress); session."""
    try:
        site = await _site(request)
        board = dashboard(request)
        params = _params(request, site)
        if pages_chosen(params):
            body, query = await run_query(
                board.services, Kind.BREAKDOWN, site.id, params, board.now(), site.timezone
            )
            return csv_download(body, query, {})
        user = await require_user(request)
        query = await prepare_query(
            board.services, Kind.BREAKDOWN, site.id, params, board.now(), site.timezone
        )
        return await streamed_breakdown(board.services, query, "user:" + user.id, {})
    except ApiError as error:
        return error_response(error)
