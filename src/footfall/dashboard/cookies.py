"""The dashboard's cookies: the session, the pre-login CSRF secret, one-shot notices.

Every cookie is HttpOnly (no script reads them), SameSite=Lax (not sent on cross-site
sub-requests or cross-site POSTs) and Secure whenever the browser reached Footfall over HTTPS
(directly or through a trusted proxy). The session cookie carries 256 random bits; the server
stores only their SHA-256 (`accounts.sessions`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.sessions import LIFETIME
from footfall.config import Settings
from footfall.dashboard import origin

SESSION = "footfall_session"
PRE_SESSION = "footfall_presession"  # CSRF secret of forms shown before signing in
NOTICE = "footfall_notice"

_PRE_SESSION_AGE = 24 * 3600


def _set(
    response: Response,
    request: Request,
    settings: Settings,
    name: str,
    value: str,
    max_age: int | None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=origin.is_https(request, settings),
        httponly=True,
        samesite="lax",
    )


def set_session(response: Response, request: Request, settings: Settings, secret: str) -> None:
    # The cookie outlives the server-side expiry a little; the server decides what is live.
    _set(response, request, settings, SESSION, secret, int(LIFETIME))


def clear(response: Response, request: Request, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name,
        path="/",
        secure=origin.is_https(request, settings),
        httponly=True,
        samesite="lax",
    )


def set_pre_session(response: Response, request: Request, settings: Settings, secret: str) -> None:
    _set(response, request, settings, PRE_SESSION, secret, _PRE_SESSION_AGE)


def set_notice(response: Response, request: Request, settings: Settings, key: str) -> None:
    _set(response, request, settings, NOTICE, key, 300)
