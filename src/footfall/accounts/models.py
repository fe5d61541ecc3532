"""Plain values the account stores hand out: users, roles, members, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class User:
    """A dashboard user. The password hash never leaves `accounts.users`."""

    id: str
    email: str  # lower-case
    is_admin: bool  # an installation administrator: sees and manages every site
    created_at: float
    password_changed_at: float | None


class Role(StrEnum):
    """A user's role on a site, from least to most powerful."""

    VIEWER = "viewer"  # sees the site's dashboard
    ADMIN = "admin"  # also changes settings, shares the site, manages API tokens
    OWNER = "owner"  # also deletes the site

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """True when this role grants at least what `needed` grants."""
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}


@dataclass(frozen=True, slots=True)
class Member:
    """A user's membership of a site, as listed on its sharing page."""

    site_id: str
    user_id: str
    email: str
    role: Role
    created_at: float


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser. `id` is the SHA-256 of the cookie's secret, never the secret."""

    id: str
    user_id: str
    created_at: float
    last_seen_at: float
    expires_at: float
