"""How `footfall serve` runs uvicorn: the options every entry point shares.

Slow and oversized clients: the request head is bounded in time and size by
`GuardedHttpToolsProtocol` (`guarded_http`), bodies by `api.body.read_limited`, idle kept-alive
connections by `timeout_keep_alive`, and the connections plus requests in progress by
`limit_concurrency` (beyond it uvicorn answers 503), so a flood of slow clients costs bounded
memory and every connection ends.
"""

from __future__ import annotations

from typing import Any

from footfall import guarded_http
from footfall.config import Settings

KEEP_ALIVE_SECONDS = 5
"""Idle time after which a kept-alive connection is closed (uvicorn's default, made explicit)."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`, from the settings."""
    guarded_http.configure(settings)
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
