"""Plain values the stores hand out (immutable, framework-free)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    domain: str
    name: str
    created_at: float


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
