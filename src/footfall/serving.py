"""How `footfall serve` runs uvicorn: the options every entry point shares.

Slow and oversized clients: the request head is bounded in time and size by
`GuardedHttpToolsProtocol` (`guarded_http`), bodies by `api.body.read_limited`, idle kept-alive
connections by `timeout_keep_alive`, and the connections plus requests in progress by
`limit_concurrency` (beyond it uvicorn answers 503), so a flood of slow clients costs bounded
memory and every connection ends.
"""

from __future__ import annotations

import gc
from typing import Any

from footfall import guarded_http
from footfall.config import Settings

KEEP_ALIVE_SECONDS = 5
"""Idle time after which a kept-alive connection is closed (uvicorn's default, made explicit)."""

GC_THRESHOLDS = (10_000, 50, 100)
"""The garbage collector's thresholds in a serving process (CPython's default: 700, 10, 10).

A request allocates a few hundred tracked objects, so with the default a young collection ran
every two or three requests, each walking the objects of every request in flight and
promoting them, which made older collections frequent too. Most request objects are freed by
reference counting long before a collection, so collecting less often finds as much garbage
for less work: ~17 µs (8-9 %) less CPU per ingested event, measured with
`python -m bench.inprocess ingest 20000 --concurrency=256` (three interleaved pairs).
Reference cycles are still collected, a little later; memory between collections grows by the
objects of ~10,000 allocations at most."""


def tune_garbage_collector() -> None:
    """Set `GC_THRESHOLDS` for this process (each server process: the main one, every worker)."""
    gc.set_threshold(*GC_THRESHOLDS)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`, from the settings; also configures this process
    for serving (the head limits of `guarded_http`, `tune_garbage_collector`)."""
    guarded_http.configure(settings)
    tune_garbage_collector()
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # footfall.logs configures JSON logging
        "access_log": False,  # the request-context middleware logs requests
        "server_header": False,
        # Footfall decides itself whom to believe (FOOTFALL_TRUSTED_PROXIES); uvicorn's own
        # proxy handling would otherwise trust X-Forwarded-For from 127.0.0.1 by default.
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": settings.max_concurrency,
        "http": guarded_http.GuardedHttpToolsProtocol,
    }
