"""The page a browser gets for an address the server does not have (API clients get JSON)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from footfall.dashboard.views import page, render


def wants_page(request: Request) -> bool:
    """A browser navigating (it accepts HTML), not an API client or a script's fetch."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


@page
async def not_found(request: Request) -> Response:
    """404 as a dashboard page, with the way back to the user's sites."""
    context = {
        "title": "Page not found",
        "message": "There is no page at this address.",
    }
    return await render(request, "error.html", context, 404)
