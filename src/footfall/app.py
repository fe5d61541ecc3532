"""`create_app(settings)`: the ASGI application. Nothing is created at import time.

The two hot endpoints (ingestion and the realtime count) are plain Starlette routes: measured
on this machine kind, FastAPI's per-request machinery halves their throughput. The API surface
is still documented in OpenAPI (`/openapi.json`, `/docs`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.api import assets, health, ingest, live, openapi, realtime, stats, stats_export
from footfall.api.dispatch import FootfallApp
from footfall.api.middleware import RequestContextMiddleware
from footfall.api.responses import json_response
from footfall.clock import Clock, SystemClock
from footfall.config import Settings
from footfall.dashboard.pages import not_found
from footfall.dashboard.routes import routes as dashboard_routes
from footfall.errors import FootfallError
from footfall.services import Services
from footfall.shutdown_signal import on_stop_signal

log = logging.getLogger(__name__)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not_found.wants_page(request):
        return await not_found.not_found(request)
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, exc.detail)
    return json_response({"error": message}, exc.status_code, exc.headers)


def create_app(settings: Settings, clock: Clock | None = None) -> FootfallApp:
    """Build the app; its lifespan opens the stores, rebuilds live state and drains on exit."""
    clock = clock or SystemClock()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            services = await Services.open(settings, clock)
        except FootfallError as error:
            log.error(str(error))  # a clear reason, no traceback; the server then exits
            raise
        app.state.services = services
        await services.start()
        # Open live streams must end as soon as the server is told to stop (see the module).
        remove_stop_hook = on_stop_signal(services.live.close_streams)
        # Everything alive now lives as long as the process: keep it out of the collector's
        # full passes (measured: a full collection under load went from ~19 ms to ~0).
        gc.freeze()
        try:
            yield
        finally:
            remove_stop_hook()
            await services.stop()

    routes = [
        Route("/api/v1/realtime", realtime.realtime, methods=["GET"]),
        Route("/api/v1/realtime", realtime.realtime_preflight, methods=["OPTIONS"]),
        Route("/api/v1/live", live.live_count, methods=["GET"]),
        Route("/api/v1/live", live.live_preflight, methods=["OPTIONS"]),
        Route("/api/v1/live/stream", live.live_stream, methods=["GET"]),
        Route("/api/v1/live/stream", live.live_preflight, methods=["OPTIONS"]),
        Route("/api/v1/stats/aggregate", stats.aggregate, methods=["GET"]),
        Route("/api/v1/stats/aggregate", stats.stats_preflight, methods=["OPTIONS"]),
        Route("/api/v1/stats/timeseries", stats.timeseries, methods=["GET"]),
        Route("/api/v1/stats/timeseries", stats.stats_preflight, methods=["OPTIONS"]),
        Route("/api/v1/stats/breakdown", stats.breakdown, methods=["GET"]),
        Route("/api/v1/stats/breakdown", stats.stats_preflight, methods=["OPTIONS"]),
        Route("/api/v1/stats/breakdown.csv", stats.breakdown_csv, methods=["GET"]),
        Route("/api/v1/stats/breakdown.csv", stats.stats_preflight, methods=["OPTIONS"]),
        Route("/api/v1/stats/export/events", stats_export.export_events, methods=["GET"]),
        Route("/api/v1/stats/export/events", stats.stats_preflight, methods=["OPTIONS"]),
        Route("/api/event", ingest.track, methods=["POST"]),
        Route("/api/event", ingest.track_preflight, methods=["OPTIONS"]),
        Route("/api/v1/events", ingest.import_events, methods=["POST"]),
        Route("/script.js", assets.script_js, methods=["GET"]),
        Route("/widget.js", assets.widget_js, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
        Route("/docs", openapi.docs_page, methods=["GET"]),
    ]
    if settings.demo_site_id:
        routes.append(Route("/demo", assets.demo_page, methods=["GET"]))
        routes.append(Route("/demo/{rest:path}", assets.demo_page, methods=["GET"]))
    routes.extend(dashboard_routes())  # pages: not in OpenAPI (include_in_schema=False)
    return FootfallApp(
        hot_paths={
            ("GET", "/api/v1/realtime"): realtime.realtime,
            ("POST", "/api/event"): ingest.track,
            # Not for its request rate: each of its many writes then skips Starlette's
            # middleware stack (measured: 15 % of the fan-out's CPU, see BENCHMARKS.md).
            ("GET", "/api/v1/live/stream"): live.live_stream,
        },
        access_log=settings.access_log,
        routes=routes,
        middleware=[Middleware(RequestContextMiddleware, access_log=settings.access_log)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """App factory for worker processes (`serve --workers N`): settings from FOOTFALL_*."""
    from footfall import guarded_http, logs, serving

    settings = Settings()
    logs.configure(settings.log_level)
    guarded_http.configure(settings)  # this worker's protocol limits
    serving.tune_garbage_collector()
    return create_app(settings)
