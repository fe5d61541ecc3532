"""The bench server: Footfall's own app plus no-op routes, run exactly as `footfall serve` runs.

`python -m bench.app` builds `Settings()` from the `FOOTFALL_*` environment, calls
`footfall.app.create_app(settings)` and appends two bench-only routes:

- `GET /bench/noop` answers a tiny JSON body;
- `POST /bench/noop` reads the request body (as ingestion does) and answers a tiny JSON body;
- `GET /bench/gc`: the garbage collector's work so far (collections and total pause per
  generation) and the longest pause since the previous call, recorded by a `gc.callbacks`
  hook: a full collection over the live structures is a candidate for latency spikes.

They go through the same Starlette app, the same middleware and the same uvicorn settings as
the product endpoints, in the same process, so "product / no-op" is the cost of the product
code alone. Nothing here is part of the product: only the bench starts this entry point.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall import logs
from footfall.api.responses import json_response
from footfall.app import create_app
from footfall.config import Settings
from footfall.serving import uvicorn_options

NOOP_PATH = "/bench/noop"
GC_PATH = "/bench/gc"


class GcPauses:
    """Counts collections per generation and times them (a `gc.callbacks` hook)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.total_ms = [0.0, 0.0, 0.0]
        self.max_ms = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        pause = (time.perf_counter() - self._started) * 1000
        self.collections[generation] += 1
        self.total_ms[generation] += pause
        self.max_ms[generation] = max(self.max_ms[generation], pause)

    def snapshot(self) -> dict[str, list[float] | list[int]]:
        """Counters since the start; `max_ms` is the longest pause since the last snapshot."""
        result: dict[str, list[float] | list[int]] = {
            "collections": list(self.collections),
            "total_ms": list(self.total_ms),
            "max_ms": list(self.max_ms),
        }
        self.max_ms = [0.0, 0.0, 0.0]
        return result


GC_PAUSES = GcPauses()


async def noop_get(_request: Request) -> Response:
    """GET /bench/noop — the framework's floor: route, middleware, a tiny JSON answer."""
    return json_response({"ok": True})


async def noop_post(request: Request) -> Response:
    """POST /bench/noop — like `noop_get`, but reads the whole body first."""
    body = await request.body()
    return json_response({"ok": True, "bytes": len(body)})


async def gc_stats(_request: Request) -> Response:
    """GET /bench/gc — the garbage collector's pauses since the server started."""
    return json_response(GC_PAUSES.snapshot())


def bench_app(settings: Settings) -> Starlette:
    """The product app with the bench routes added.

    The no-op endpoints take the same direct lane as the two hot product endpoints (same
    middleware, no router walk), so the baseline is the server's real limit for them.
    """
    app = create_app(settings)
    app.add_hot_path("GET", NOOP_PATH, noop_get)
    app.add_hot_path("POST", NOOP_PATH, noop_post)
    app.router.routes.append(Route(GC_PATH, gc_stats, methods=["GET"]))
    return app


def main() -> None:
    """Serve like `footfall serve` (src/footfall/cli/main.py), settings from the environment."""
    settings = Settings()
    logs.configure(settings.log_level)
    gc.callbacks.append(GC_PAUSES)
    uvicorn.run(bench_app(settings), **uvicorn_options(settings))


if __name__ == "__main__":
    main()
