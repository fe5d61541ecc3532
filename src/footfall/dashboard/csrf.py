"""CSRF protection of every state-changing dashboard request.

Two independent checks, both required:

1. **Synchronizer token.** Every form carries `csrf_token`, an HMAC of the secret in the
   browser's session cookie (before signing in: of a random pre-session cookie). Another site
   can make the browser send the cookie, but cannot read it, so it cannot compute the token.
   Nothing extra is stored: the token is derived from the secret the request already carries,
   and a new session (login) means a new token. Scripts send it as `X-CSRF-Token`.
2. **Origin.** A browser names the page that sent a POST in `Origin` (or at least `Referer`);
   when it does, that must be this server. Requests naming neither (non-browser clients) rely
   on the token alone.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from footfall.config import Settings
from footfall.dashboard import origin

FIELD = "csrf_token"
HEADER = "x-csrf-token"
_CONTEXT = b"footfall dashboard csrf v1"


class CsrfRejected(Exception):
    """A state-changing request failed the CSRF checks; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token_for(secret: str) -> str:
    """The form token of the cookie secret `secret`."""
    return hmac.new(secret.encode("utf-8"), _CONTEXT, hashlib.sha256).hexdigest()


def _origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower case; None when it names none (a malformed URL,
    such as a `Referer` of `http://[x/`, names none: refused rather than a 500)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a request that a browser says came from another origin."""
    allowed = {origin.origin(request, settings).lower()}
    if settings.public_url:
        public = _origin_of(settings.public_url)
        if public:
            allowed.add(public)
    sent = request.headers.get("origin")
    if sent is not None:
        # "null" (sandboxed frames, some redirects) names no origin we can trust.
        if sent.lower() not in allowed:
            raise CsrfRejected("The request came from another site.")
        return
    referer = request.headers.get("referer")
    if referer and _origin_of(referer) not in allowed:
        raise CsrfRejected("The request came from another site.")


def check(request: Request, settings: Settings, secret: str | None, submitted: str | None) -> None:
    """Both checks; `secret` is the cookie secret the token must derive from."""
    check_origin(request, settings)
    if not secret or not submitted:
        raise CsrfRejected("The form expired. Reload the page and try again.")
    if not hmac.compare_digest(token_for(secret).encode(), submitted.encode("utf-8", "replace")):
        raise CsrfRejected("The form expired. Reload the page and try again.")
