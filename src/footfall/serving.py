"""How `footfall serve` runs uvicorn: the options every entry point shares."""

from __future__ import annotations

from typing import Any

from footfall.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`, from the settings."""
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
    }
