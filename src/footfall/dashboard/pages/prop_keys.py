"""The custom property keys the site dashboard offers in its custom events panel.

    GET /sites/{id}/stats/property-keys?period=…&date=…&timezone=…

answers `{"results": ["plan", "format", …]}`: the keys of the site's custom events in the
range (`stats.prop_keys`: most used first, at most 100), which the panel then breaks down
with the Stats API's `event:props:<key>` through `/sites/{id}/stats/breakdown`. The range
parameters are the Stats API's (same validation, the site's time zone by default); any other
parameter is refused (400). Access and abuse controls as for the other stats endpoints
(`pages.site_stats`): any role on the site, 401 signed out, 404 for a site the user may not
see; the user's dashboard stats rate limit (429) and a place of the instance's stats
admission (503 when none frees in time); GET only.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import error_response, json_response
from footfall.api.throttle import enforce
from footfall.dashboard.auth import require_site, require_user
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import json_view
from footfall.errors import ApiError, BadRequest
from footfall.stats import Kind, parse_query
from footfall.stats.prop_keys import prop_keys

PARAMETERS = ("period", "date", "timezone")


@json_view
async def property_keys(request: Request) -> Response:
    """GET /sites/{site_id}/stats/property-keys — the range's custom property keys."""
    site = await require_site(request, request.path_params["site_id"])
    board = dashboard(request)
    params = request.query_params.multi_items()
    try:
        user = await require_user(request)  # cached by require_site
        enforce(await board.services.limits.dashboard_stats(user.id, board.now()))
        for name, _ in params:
            if name not in PARAMETERS:
                allowed = ", ".join(PARAMETERS)
                raise BadRequest(f'unknown parameter "{name}"; allowed: {allowed}')
        query = parse_query(Kind.AGGREGATE, site.id, params, board.now(), site.timezone)
        async with await board.services.stats_admission.admit():
            limit = board.services.settings.stats_time_limit_seconds
            keys = await prop_keys(board.services.events, site.id, query.range, time_limit=limit)
    except ApiError as error:
        return error_response(error)
    return json_response({"results": keys})
