"""Who is signed in, and what they may see: the interface every dashboard page uses.

    user = await require_user(request)                      # else: redirect to sign-in
    site = await require_site(request, site_id)             # else: 404, never 403
    access = await require_site_access(request, site_id, Role.ADMIN)  # site + the user's role

A site the user may not see answers 404, exactly like a site that does not exist, so ids of
other people's sites cannot be probed. A site the user sees with too small a role answers 403
(they know it exists already).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from footfall.accounts.models import Role, Session, User
from footfall.dashboard import cookies
from footfall.dashboard.state import dashboard
from footfall.storage.models import Site


class LoginRequired(Exception):
    """No live session: pages redirect to sign-in (or first-run set-up), JSON answers 401."""


class SiteHidden(Exception):
    """The site does not exist or the user may not see it: 404."""


class Forbidden(Exception):
    """The user sees the site but their role does not allow this: 403; `reason` is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The signed-in user, their session, and the cookie secret it came from."""

    user: User
    session: Session
    secret: str


@dataclass(frozen=True, slots=True)
class SiteAccess:
    """A site with the signed-in user's role on it."""

    site: Site
    role: Role

    @property
    def can_manage(self) -> bool:
        """Change settings, share, manage API tokens (owners and admins)."""
        return self.role.allows(Role.ADMIN)

    @property
    def can_delete(self) -> bool:
        return self.role.allows(Role.OWNER)


_NOT_LOOKED_UP = object()


async def signed_in(request: Request) -> SignedIn | None:
    """The request's live session, looked up once per request (sliding its expiry)."""
    cached = getattr(request.state, "signed_in", _NOT_LOOKED_UP)
    if cached is not _NOT_LOOKED_UP:
        return cached  # type: ignore[return-value]
    result = None
    secret = request.cookies.get(cookies.SESSION)
    if secret:
        board = dashboard(request)
        found = await board.sessions.lookup(secret, board.now())
        if found is not None:
            result = SignedIn(user=found[1], session=found[0], secret=secret)
    request.state.signed_in = result
    return result


def set_signed_in(request: Request, now_signed_in: SignedIn | None) -> None:
    """Replace the cached session of this request (after login, logout or rotation)."""
    request.state.signed_in = now_signed_in


async def require_user(request: Request) -> User:
    """The signed-in user; raises `LoginRequired` otherwise."""
    found = await signed_in(request)
    if found is None:
        raise LoginRequired()
    return found.user


async def require_site_access(
    request: Request, site_id: str, role: Role | str = Role.VIEWER
) -> SiteAccess:
    """The site and the user's role on it, if that role allows `role`.

    LoginRequired without a session; SiteHidden (404) if the site does not exist or the user
    may not see it; Forbidden (403) if they see it with a smaller role than `role`.
    """
    needed = Role(role)
    user = await require_user(request)
    board = dashboard(request)
    has = await board.members.role_of(user, site_id)
    if has is None:
        raise SiteHidden()
    site = await board.services.meta.get_site(site_id)
    if site is None:  # deleted between the two reads
        raise SiteHidden()
    if not has.allows(needed):
        raise Forbidden(f"This needs the {needed.value} role on {site.name}; yours is {has.value}.")
    return SiteAccess(site=site, role=has)


async def require_site(request: Request, site_id: str, role: Role | str = Role.VIEWER) -> Site:
    """The site, if the signed-in user's role on it allows `role` (see `require_site_access`)."""
    return (await require_site_access(request, site_id, role)).site
