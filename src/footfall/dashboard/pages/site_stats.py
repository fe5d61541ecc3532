"""The site dashboard's numbers: the Stats API behind the session instead of a token.

    GET /sites/{id}/stats/aggregate       the API's /api/v1/stats/aggregate
    GET /sites/{id}/stats/timeseries      … /timeseries
    GET /sites/{id}/stats/breakdown       … /breakdown
    GET /sites/{id}/stats/breakdown.csv   … /breakdown.csv (a download)

Same parameters, same validation, same engine and same answers as the API
(`api.stats.run_query`): the page's script asks these with the parameters of its URL, so a
number on the dashboard is the number the API gives for the same range. Two differences: the
website is the one in the path (a `websiteId` naming another one is refused), and `timezone`
defaults to the site's own time zone instead of UTC.

Access is the dashboard's: a signed-in user who may see the site (any role); 401 signed out,
404 for a site they may not see (never 403). GET only and without side effects, so no CSRF
token is needed; the answers carry no CORS header, so other origins cannot read them.
Not rate limited (each query runs under the engine's time limit).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import error_response, json_response
from footfall.api.stats import csv_download, run_query
from footfall.dashboard.auth import require_site
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
    if not any(name == "timezone" for name, _ in params):
        params.append(("timezone", site.timezone))
    return params


async def _answer(request: Request, kind: Kind) -> tuple[dict[str, Any], StatsQuery]:
    """The engine's answer for the site in the path (`ApiError` for invalid parameters)."""
    site = await require_site(request, request.path_params["site_id"])
    board = dashboard(request)
    return await run_query(board.services, kind, site.id, _params(request, site), board.now())


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
    (`text/csv` attachment; errors as JSON); session."""
    try:
        body, query = await _answer(request, Kind.BREAKDOWN)
    except ApiError as error:
        return error_response(error)
    return csv_download(body, query, {})
