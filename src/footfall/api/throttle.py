"""Applying a rate-limit decision to an HTTP exchange (refuse with 429, or add the headers), and
documenting the abuse controls' answers in OpenAPI."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from footfall.auth.api_auth import authorize_site
from footfall.errors import NotFound, TooManyRequests
from footfall.ingestion.client_ip import client_ip
from footfall.ratelimit.base import RATE_LIMIT_HEADERS, Decision
from footfall.services import Services
from footfall.storage.models import SiteAuth

EXPOSE_HEADERS = ", ".join(RATE_LIMIT_HEADERS)
"""`Access-Control-Expose-Headers` of limited endpoints, so browser code can read them."""


def enforce(decision: Decision | None) -> None:
    """Raise `TooManyRequests` (429, `Retry-After`, `RateLimit-*`) for a denial."""
    if decision is not None and not decision.allowed:
        raise TooManyRequests(decision.retry_after_seconds, decision.headers())


async def authorize(
    services: Services, request: Request, website_id: str | None
) -> tuple[SiteAuth, str]:
    """`authorize_site` (the Realtime API's checks, in order) for a request naming its website,
    charging a request that names no existing website to its client's ingestion bucket: an
    unknown id costs a lookup, so a flood of made-up ids gets 429s once past that limit."""
    try:
        return await authorize_site(services.meta, request.headers.get("authorization"), website_id)
    except NotFound:
        ip = request_client_ip(services, request)
        enforce(await services.limits.unknown_site(ip, services.clock.now()))
        raise


def request_client_ip(services: Services, request: Request) -> str:
    """The client's address as the trusted-proxy settings resolve it (never stored)."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        services.settings.trusted_proxies,
    )


def with_limit_headers(
    headers: list[tuple[bytes, bytes]], decision: Decision | None
) -> list[tuple[bytes, bytes]]:
    """Raw response headers plus the `RateLimit-*` ones of an allowed request."""
    return headers if decision is None else [*headers, *decision.raw_headers()]


# Operations answering 429 under a rate limit (see `ratelimit.policies`), by path prefix.
_LIMITED = {
    ("get", "/api/v1/realtime"): "the API token's",
    ("get", "/api/v1/stats/"): "the API token's",
    ("post", "/api/event"): "the client's or the site's",
    ("post", "/api/v1/events"): "the site's",
    ("get", "/api/v1/live"): "the client's",
}


def document_abuse_answers(doc: dict[str, Any]) -> dict[str, Any]:
    """Add to an OpenAPI document the answers the abuse controls give: 429 on rate-limited
    operations (with their headers) and 408 on operations that read a body."""
    limit_headers = {
        name: {"schema": {"type": "integer" if name != "RateLimit-Policy" else "string"}}
        for name in RATE_LIMIT_HEADERS
    }
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            limited = next(
                (who for (m, p), who in _LIMITED.items() if m == method and path.startswith(p)),
                None,
            )
            if limited is not None:
                responses.setdefault(
                    "429",
                    {
                        "description": f"Too many requests: {limited} rate limit; retry after "
                        "`Retry-After` seconds",
                        "headers": limit_headers,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
            if "requestBody" in operation:
                responses.setdefault(
                    "408",
                    {
                        "description": "The body did not arrive in time "
                        "(`FOOTFALL_REQUEST_BODY_TIMEOUT_SECONDS`)",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                )
    return doc
