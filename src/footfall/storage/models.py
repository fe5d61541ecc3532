"""Plain values the stores hand out (immutable, framework-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Site:
    """A tracked site and its settings (defaults are those of a site created without any)."""

    id: str
    domain: str
    name: str
    created_at: float
    timezone: str = "UTC"
    # Hostnames (beyond `domain` and its subdomains) whose pageviews count; exact names, or
    # "*.example.org" for a domain and its subdomains. Empty: the domain and subdomains only.
    allowed_hostnames: tuple[str, ...] = ()
    honor_gpc: bool = False  # drop events from browsers sending Sec-GPC: 1 or DNT: 1
    retention_days: int | None = None  # events older than this are deleted; None keeps all
    live_min_count: int = 0  # public live counters show nothing below this count


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: never the token or its hash."""

    id: str
    site_id: str
    prefix: str
    name: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class SiteAuth:
    """A site and its active tokens as (digest, token id) pairs, for the hot path."""

    site: Site
    tokens: tuple[tuple[str, str], ...] = ()
