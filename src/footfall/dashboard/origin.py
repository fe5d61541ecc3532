"""Where the browser thinks it is: scheme, origin and public base URL of a dashboard request.

Footfall runs either directly (the socket tells the scheme) or behind a reverse proxy that
terminates TLS. `X-Forwarded-Proto` is believed only from a configured trusted proxy
(`FOOTFALL_TRUSTED_PROXIES`), like `X-Forwarded-For` in `ingestion.client_ip`: anyone else
could otherwise make the server believe a plain-HTTP request was HTTPS (or the reverse).
"""

from __future__ import annotations

from starlette.requests import Request

from footfall.config import Settings
from footfall.ingestion.addresses import parse_address
from footfall.ingestion.client_ip import client_ip, trusted


def _peer_is_trusted(request: Request, settings: Settings) -> bool:
    if not settings.trusted_proxies or request.client is None:
        return False
    peer = parse_address(request.client.host)
    # As for X-Forwarded-For: an IPv4-mapped peer is trusted in either form.
    return peer is not None and trusted(peer, settings.trusted_proxies)


def scheme(request: Request, settings: Settings) -> str:
    """`https` or `http`, as the browser sees it."""
    if _peer_is_trusted(request, settings):
        forwarded = request.headers.get("x-forwarded-proto", "")
        # A chain of proxies appends; the first value is what the client used.
        first = forwarded.split(",", 1)[0].strip().lower()
        if first in ("http", "https"):
            return first
    return request.url.scheme


def is_https(request: Request, settings: Settings) -> bool:
    return scheme(request, settings) == "https"


def origin(request: Request, settings: Settings) -> str:
    """The origin the browser sent this request to (`scheme://host[:port]`)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{scheme(request, settings)}://{host}"


def base_url(request: Request, settings: Settings) -> str:
    """The URL snippets and API examples should name: `public_url`, else this request's."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return origin(request, settings)


def client_address(request: Request, settings: Settings) -> str:
    """The client's address (for throttling sign-ins), proxies honoured as for ingestion."""
    return client_ip(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        settings.trusted_proxies,
    )
