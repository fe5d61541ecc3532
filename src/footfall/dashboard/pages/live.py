"""The live header's data: the signed-in user's sites with their current visitors.

    GET /live          every listed site's count now (the header polls it every 3 minutes,
                       the window of the count, as the Realtime API's docs describe)
    GET /live/stream   the same pushed as it changes (server-sent events, see
                       `dashboard.live_stream`), so a pageview shows within seconds

Both count what the Realtime API counts (the presence: unique visitors with a pageview in the
last 3 minutes) for the sites the user may see, and nothing else: 401 without a session.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from footfall.api.responses import error_response, json_response
from footfall.clock import iso_millis
from footfall.dashboard.auth import LoginRequired, signed_in
from footfall.dashboard.live_stream import LiveHeaderStream, site_ids, subscribe_all
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import json_view
from footfall.errors import ApiError

POLL_SECONDS = 180
"""How often the header asks `GET /live` (besides the stream): the count's own window."""


@json_view
async def live_counts(request: Request) -> Response:
    """GET /live — `{"sites": [{"websiteId", "currentVisitors"}], "timestamp"}` for the user's
    sites (the first `MAX_SITES`, in the header's order); 401 signed out."""
    found = await signed_in(request)
    if found is None:
        raise LoginRequired()
    board = dashboard(request)
    ids = site_ids(await board.members.sites_for(found.user))
    presence = board.services.presence
    counts = await asyncio.gather(*(presence.count(site_id) for site_id in ids))
    return json_response(
        {
            "sites": [
                {"websiteId": site_id, "currentVisitors": count}
                for site_id, count in zip(ids, counts, strict=True)
            ],
            "timestamp": iso_millis(board.now()),
        }
    )


@json_view
async def live_stream(request: Request) -> Response:
    """GET /live/stream — `text/event-stream` of the user's sites' counts: each at once, then
    each change (`data: {"websiteId", "currentVisitors", "timestamp"}`), comment heartbeats;
    401 signed out; 503 when the server is stopping or has its maximum of live streams."""
    found = await signed_in(request)
    if found is None:
        raise LoginRequired()
    board = dashboard(request)
    ids = site_ids(await board.members.sites_for(found.user))
    try:
        subs = await subscribe_all(board, ids)
    except ApiError as error:
        return error_response(error)
    return LiveHeaderStream(board, found, subs)
