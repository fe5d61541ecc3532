"""Structured logging: one JSON object per line, carrying the request id of the request.

The request id comes from the `X-Request-ID` header when a proxy set a sane one, else it is
generated; the middleware stores it in a context variable so every log line of that request
carries it, and echoes it in the response. Secrets (tokens, Authorization headers) are never
passed to the logger, and every line is passed through `tokens.redact` in case a client put a
token where a path or a value is logged.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time

import orjson

from footfall.auth.tokens import redact

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "footfall_request_id", default=None
)

# Attributes every LogRecord has; anything else was passed through `extra=` and is emitted.
# uvicorn's `color_message` duplicates the message with terminal colour codes.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Formats records as JSON: time, level, logger, message, request id and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


def configure(level: str = "INFO") -> None:
    """Send footfall's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("footfall", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
