"""`GET /api/v1/stats/{aggregate,timeseries,breakdown}` and `breakdown.csv`: the Stats API
(docs/api/stats.md).

Authentication is the Realtime API's, checks in the same order (a site's `vt_` token); then
the parameters are validated (400 naming the parameter and the allowed values), the site's
goals are read if the query names `event:goal`, the query is run on the event store under a
time limit, and answered. Not cacheable; CORS-open. The raw events export is `stats_export`.

Every query runs holding a place of the instance's stats admission (`Services.stats_admission`:
fewer places than the event store's pooled connections, so the writer always finds one); when
none frees within `stats_admission_wait_seconds` the answer is 503 with `Retry-After`.

`breakdown.csv` without `limit` and `page` is every row, streamed: the engine is asked page
after page (`MAX_LIMIT` rows each) while the file is sent, so memory stays bounded by a page;
it is a download like the raw events export (`stats_export.ExportResponse`: one place held
until sent, the token's cap on downloads in progress, the send timeout).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import NO_STORE, error_response, json_response, preflight
from footfall.api.stats_export import ExportResponse
from footfall.api.throttle import EXPOSE_HEADERS, authorize, enforce
from footfall.errors import ApiError
from footfall.services import Services
from footfall.stats import Kind, StatsQuery, answer, csv_export, parse_query
from footfall.stats.goals import with_goals
from footfall.stats.query import MAX_LIMIT, MAX_PAGE
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


async def prepare_query(
    services: Services,
    kind: Kind,
    site_id: str,
    params: Iterable[tuple[str, str]],
    now: float,
    timezone: str,
) -> StatsQuery:
    """Parse the Stats API's parameters and load the site's goals if the query reads them.
    `timezone` is the site's, used when the parameters name none. `BadRequest` naming an
    invalid parameter."""
    query = parse_query(kind, site_id, params, now, timezone)
    if query.needs_goals:
        query = with_goals(query, await GoalStore(services.meta.engine).for_site(site_id))
    return query


async def run_query(
    services: Services,
    kind: Kind,
    site_id: str,
    params: Iterable[tuple[str, str]],
    now: float,
    timezone: str,
) -> tuple[dict[str, Any], StatsQuery]:
    """`prepare_query`, then run it holding a place of the stats admission: the answer and
    its query. `BadRequest` naming an invalid parameter, 503 when no place frees in time or
    from the stores. The API (after its token checks) and the dashboard (after its session
    checks) both answer through here."""
    query = await prepare_query(services, kind, site_id, params, now, timezone)
    async with await services.stats_admission.admit():
        limit = services.settings.stats_time_limit_seconds
        return await answer(services.events, query, limit), query


def pages_chosen(params: Iterable[tuple[str, str]]) -> bool:
    """Whether a breakdown request names `limit` or `page` (then its CSV is that one page)."""
    return any(name in ("limit", "page") for name, _ in params)


def csv_download(body: dict[str, Any], query: StatsQuery, headers: Mapping[str, str]) -> Response:
    """A breakdown answer (one page) as a CSV download (`Content-Disposition: attachment`)."""
    return Response(
        csv_export.breakdown_csv(body, query.metrics),
        headers={**headers, "Content-Disposition": _attachment(query)},
        media_type=csv_export.MEDIA_TYPE,
    )


async def streamed_breakdown(
    services: Services, query: StatsQuery, owner: str, headers: Mapping[str, str]
) -> Response:
    """Every row of a breakdown as a streamed CSV download, page after page of `MAX_LIMIT`
    rows from the engine, for `owner` (`token:<id>` or `user:<id>`, whose downloads in
    progress are capped). The first page is read before answering, so its errors (503s) are
    JSON answers; `TooManyRequests` or `ServiceUnavailable` when no place is given.

    Pages are separate queries: events stored during the download may move a row across a
    page boundary (listed twice or not at all), as when paging the JSON breakdown."""
    assert query.breakdown is not None
    ticket = await services.stats_admission.admit(export_owner=owner)
    pages = _breakdown_pages(services, query)
    try:
        first = await anext(pages)
    except BaseException:
        ticket.release()
        await pages.aclose()
        raise
    return ExportResponse(
        _breakdown_chunks(first, pages, query.metrics),
        pages,
        ticket,
        services.settings.stats_export_send_timeout_seconds,
        headers={**headers, "Content-Disposition": _attachment(query)},
        media_type=csv_export.MEDIA_TYPE,
    )


def _attachment(query: StatsQuery) -> str:
    assert query.breakdown is not None
    return csv_export.attachment(
        csv_export.filename("breakdown", query.range, query.breakdown.name)
    )


async def _breakdown_pages(
    services: Services, query: StatsQuery
) -> AsyncGenerator[dict[str, Any], None]:
    """The breakdown's answers, page 1 onwards, until a page is not full."""
    for page in range(1, MAX_PAGE + 1):
        paged = dataclasses.replace(query, limit=MAX_LIMIT, page=page)
        body = await answer(services.events, paged, services.settings.stats_time_limit_seconds)
        full = len(body["results"]) >= MAX_LIMIT
        yield body
        if not full:
            return


async def _breakdown_chunks(
    first: dict[str, Any],
    pages: AsyncGenerator[dict[str, Any], None],
    metrics: Sequence[str],
) -> AsyncGenerator[bytes, None]:
    try:
        chunk = csv_export.breakdown_csv(first, metrics)  # the header row, then page 1
        del first  # memory: one page at a time
        yield chunk
        async for body in pages:
            chunk = _rows_csv(body, metrics)
            del body
            yield chunk
    finally:
        await pages.aclose()  # also when the client went away: no query left running


def _rows_csv(body: dict[str, Any], metrics: Sequence[str]) -> bytes:
    """A breakdown page's rows without the header, written as `csv_export.breakdown_csv`
    writes them (formula cells neutralised by `csv_export.safe_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(
        [csv_export.safe_cell(row["value"]), *(row[metric] for metric in metrics)]
        for row in body["results"]
    )
    return buffer.getvalue().encode()


async def _answer(request: Request, kind: Kind) -> tuple[dict[str, Any], StatsQuery]:
    """Authorise, parse, run: the answer and its query; `ApiError` for any failure."""
    services: Services = request.app.state.services
    auth, token_id = await authorize(services, request, request.query_params.get("websiteId"))
    now = services.clock.now()
    enforce(await services.limits.stats(token_id, now))
    body, query = await run_query(
        services, kind, auth.site.id, request.query_params.multi_items(), now, auth.site.timezone
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
    then each metric), then without `limit`/`page` every row, streamed; with either, the
    rows of the page the JSON breakdown answers. Cells that a spreadsheet would run as a
    formula are prefixed with `'`. Errors as JSON, as for aggregate; also 429 when the
    token has `stats_max_exports_per_client` downloads in progress.
    """
    services: Services = request.app.state.services
    try:
        auth, token_id = await authorize(services, request, request.query_params.get("websiteId"))
        now = services.clock.now()
        enforce(await services.limits.stats(token_id, now))
        params = request.query_params.multi_items()
        if pages_chosen(params):
            body, query = await run_query(
                services, Kind.BREAKDOWN, auth.site.id, params, now, auth.site.timezone
            )
            await services.meta.note_token_used(token_id, now)
            return csv_download(body, query, _CSV_HEADERS)
        query = await prepare_query(
            services, Kind.BREAKDOWN, auth.site.id, params, now, auth.site.timezone
        )
        await services.meta.note_token_used(token_id, now)
        return await streamed_breakdown(services, query, "token:" + token_id, _CSV_HEADERS)
    except ApiError as error:
        return error_response(error, _HEADERS)


async def stats_preflight(_request: Request) -> Response:
    """OPTIONS /api/v1/stats/* — CORS preflight: any origin may send `Authorization`."""
    return preflight("GET, OPTIONS", "Authorization")
