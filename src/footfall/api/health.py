"""`GET /healthz`: is every backend answering, and what the ingestion path has done."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from footfall import __version__
from footfall.api.responses import NO_STORE, json_response
from footfall.services import Services

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0


async def _state(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT)
    except Exception:
        log.warning("health check failed", extra={"backend": name}, exc_info=True)
        return "down"
    return "ok"


async def healthz(request: Request) -> Response:
    """GET /healthz — no auth. 200 when every backend answers, else 503 naming the one down.

    Body: `{"status": "ok"|"degraded", "version", "mode": "embedded"|"cluster", "backends":
    {"metadata", "events", "presence", "writer"}: "ok"|"down", "writer": {…},
    "dropped": {reason: count}, "live": {"streams", "topics", "computations"}}`.
    """
    services: Services = request.app.state.services
    metadata, events, presence = await asyncio.gather(
        _state("metadata", services.meta.ping),
        _state("events", services.events.ping),
        _state("presence", services.presence.ping),
    )
    backends = {
        "metadata": metadata,
        "events": events,
        "presence": presence,
        "writer": "ok" if services.writer.running else "down",
    }
    healthy = all(state == "ok" for state in backends.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "mode": "cluster" if services.settings.cluster else "embedded",
        "backends": backends,
        "writer": {
            "queuedEvents": services.writer.queued_events,
            "committedEvents": services.writer.committed_events,
            "committedBatches": services.writer.committed_batches,
        },
        "dropped": services.drops.snapshot(),
        "live": {
            "streams": services.live.streams,
            "topics": services.live.topics,
            "computations": services.live.computations,
        },
    }
    return json_response(body, 200 if healthy else 503, {"Cache-Control": NO_STORE})
