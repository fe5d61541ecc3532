"""Applying a rate-limit decision to an HTTP exchange: refuse with 429, or add the headers."""

from __future__ import annotations

from footfall.errors import TooManyRequests
from footfall.ratelimit.base import RATE_LIMIT_HEADERS, Decision

EXPOSE_HEADERS = ", ".join(RATE_LIMIT_HEADERS)
"""`Access-Control-Expose-Headers` of limited endpoints, so browser code can read them."""


def enforce(decision: Decision | None) -> None:
    """Raise `TooManyRequests` (429, `Retry-After`, `RateLimit-*`) for a denial."""
    if decision is not None and not decision.allowed:
        raise TooManyRequests(decision.retry_after_seconds, decision.headers())


def with_limit_headers(
    headers: list[tuple[bytes, bytes]], decision: Decision | None
) -> list[tuple[bytes, bytes]]:
    """Raw response headers plus the `RateLimit-*` ones of an allowed request."""
    return headers if decision is None else [*headers, *decision.raw_headers()]
