"""`GET /healthz`: is every backend answering, and what the ingestion path has done."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response

from footfall import __version__
from footfall.api.responses import NO_STORE, json_response
from footfall.services import Services

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    """GET /healthz — no auth. 200 when every backend answers, else 503 naming the one down.

    Body: `{"status": "ok"|"degraded", "version", "backends": {"metadata", "events",
    "presence", "writer"}: "ok"|"down", "writer": {…}, "dropped": {reason: count}}`.
    """
    services: Services = request.app.state.services
    backends: dict[str, str] = {}
    for name, check in (("metadata", services.meta.ping), ("events", services.events.ping)):
        try:
            await asyncio.to_thread(check)
            backends[name] = "ok"
        except Exception:
            log.warning("health check failed", extra={"backend": name}, exc_info=True)
            backends[name] = "down"
    backends["presence"] = "ok"
    backends["writer"] = "ok" if services.writer.running else "down"
    healthy = all(state == "ok" for state in backends.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "backends": backends,
        "writer": {
            "queuedEvents": services.writer.queued_events,
            "committedEvents": services.writer.committed_events,
            "committedBatches": services.writer.committed_batches,
        },
        "dropped": services.drops.snapshot(),
    }
    return json_response(body, 200 if healthy else 503, {"Cache-Control": NO_STORE})
