"""Response helpers: JSON bodies (orjson), the one error shape, CORS headers.

Every error body is `{"error": "<message>"}`. `error_response` is the single place an
`ApiError` becomes HTTP; 401s carry `WWW-Authenticate: Bearer` (RFC 6750), 503s `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.responses import Response

from footfall.auth.tokens import redact
from footfall.errors import (
    ApiError,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)

INTERNAL_ERROR = "Internal server error"
NO_STORE = "no-store"

CORS_ANY = {"Access-Control-Allow-Origin": "*"}


class RawJSONResponse(Response):
    """A JSON body with precomputed raw headers: what the hot endpoints answer with.

    Starlette's `Response` rebuilds and encodes its headers on every request; the realtime
    endpoint sends the same ones each time, so they are encoded once at import.
    """

    def __init__(
        self, body: bytes, status_code: int, raw_headers: list[tuple[bytes, bytes]]
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = [*raw_headers, (b"content-length", str(len(body)).encode("latin-1"))]


def query_value(query_string: bytes, name: str) -> str | None:
    """The last value of `name` in a raw query string (as Starlette's `QueryParams.get`
    answers), without parsing every other parameter."""
    if not query_string:
        return None
    value = None
    for part in query_string.decode("latin-1").split("&"):
        key, _, raw = part.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if key == name:
            value = unquote_plus(raw) if ("%" in raw or "+" in raw) else raw
    return value


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
    merged = dict(headers or {})
    if isinstance(error, Unauthorized):
        merged["WWW-Authenticate"] = "Bearer"
    if isinstance(error, ServiceUnavailable):
        merged["Retry-After"] = str(error.retry_after)
    if isinstance(error, TooManyRequests):
        merged.update(error.headers)
    if isinstance(error, RequestTimeout | PayloadTooLarge):
        # The rest of the body is still on its way (or never comes): the connection cannot
        # carry another request, so end it instead of reading what was refused.
        merged["Connection"] = "close"
    return json_response({"error": redact(error.message)}, error.status, merged)


def internal_error(headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"error": INTERNAL_ERROR}, 500, headers)


def preflight(methods: str, headers: str) -> Response:
    """Answer a CORS preflight (`OPTIONS`) from any origin."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": headers,
            "Access-Control-Max-Age": "86400",
        },
    )
