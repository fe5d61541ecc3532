"""`GET /api/v1/stats/{aggregate,timeseries,breakdown}` and `breakdown.csv`: the Stats API
(docs/api/stats.md).

Authentication is the Realtime API's, checks in the same order (a site's `vt_` token); then
the parameters are validated (400 naming the parameter and the allowed values), the site's
goals are read if the query names `event:goal`, the query is run on the event store under a
time limit, and answered. Not cacheable; CORS-open. The raw events export is `stats_export`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import NO_STORE, error_response, json_response, preflight
from footfall.api.throttle import EXPOSE_HEADERS, authorize, enforce
from footfall.errors import ApiError
from footfall.services import Services
from footfall.stats import Kind, StatsQuery, answer, csv_export, parse_query
from footfall.stats.goals import with_goals
from footfall.storage.goals import GoalStore

_HEADERS = {
    "Cache-Control": NO_STORE,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
}
# Downloads: let browser code read the suggested file name too.
_CSV_HEADERS = {
    **_HEADERS,
    "Access-Control-Expose-Headers": f"{EXPOSE_HEADERS}, Content-Disposition",
}


async def run_query(
    services: Services,
    kind: Kind,
    site_id: str,
    params: Iterable[tuple[str, str]],
    now: float,
) -> tuple[dict[str, Any], StatsQuery]:
    """Parse the Stats API's parameters, load the site's goals if the query reads them, and
    run it: the answer and its query. `BadRequest` naming an invalid parameter, 503s from the
    stores. The API (after its token checks) and the dashboard (after its session checks)
    both answer through here."""
    query = parse_query(kind, site_id, params, now)
    if query.needs_goals:
        query = with_goals(query, await GoalStore(services.meta.engine).for_site(site_id))
    return await answer(services.events, query), query


def csv_download(body: dict[str, Any], query: StatsQuery, headers: Mapping[str, str]) -> Response:
    """A breakdown answer as a CSV download (`Content-Disposition: attachment`)."""
    assert query.breakdown is not None
    name = csv_export.filename("breakdown", query.range, query.breakdown.name)
    return Response(
        csv_export.breakdown_csv(body, query.metrics),
        headers={**headers, "Content-Disposition": csv_export.attachment(name)},
        media_type=csv_export.MEDIA_TYPE,
    )


async def _answer(request: Request, kind: Kind) -> tuple[dict[str, Any], StatsQuery]:
    """Authorise, parse, run: the answer and its query; `ApiError` for any failure."""
    services: Services = request.app.state.services
    auth, token_id = await authorize(services, request, request.query_params.get("websiteId"))
    now = services.clock.now()
    enforce(await services.limits.stats(token_id, now))
    body, query = await run_query(
        services, kind, auth.site.id, request.query_params.multi_items(), now
    )
    await services.meta.note_token_used(token_id, now)
    return body, query


async def _stats(request: Request, kind: Kind) -> Response:
    try:
        body, _ = await _answer(request, kind)
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


async def breakdown_csv(request: Request) -> Response:
    """GET /api/v1/stats/breakdown.csv — Bearer vt_ token of the website.

    200 `text/csv` download (`Content-Disposition: attachment`): a header row (the property,
    then each metric) and the rows of the same page the JSON breakdown answers; cells that a
    spreadsheet would run as a formula are prefixed with `'`. Errors as JSON, as for
    aggregate.
    """
    try:
        body, query = await _answer(request, Kind.BREAKDOWN)
    except ApiError as error:
        return error_response(error, _HEADERS)
    return csv_download(body, query, _CSV_HEADERS)


async def stats_preflight(_request: Request) -> Response:
    """OPTIONS /api/v1/stats/* — CORS preflight: any origin may send `Authorization`."""
    return preflight("GET, OPTIONS", "Authorization")
