"""What every dashboard endpoint shares: rendering, security headers, error pages, redirects.

Handlers are wrapped by `page` (HTML) or `json_view` (JSON for the pages' scripts). The
wrappers turn the exceptions of `dashboard.auth` and `dashboard.csrf` into the right answer
and add the security headers, so a handler only parses, calls one domain function and
renders:

- `LoginRequired` -> 303 to `/login?next=…` (or `/setup` on a fresh installation); JSON: 401
- `SiteHidden` -> 404, `Forbidden` -> 403, `CsrfRejected` -> 403, `BackendUnavailable` -> 503

Every answer carries a strict Content-Security-Policy (scripts and styles only from this
server's files: no inline code), refuses framing, and is never cached (pages show private
data).
"""

from __future__ import annotations

import functools
import html
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from footfall.api.responses import json_response
from footfall.dashboard import cookies, csrf, static
from footfall.dashboard.auth import Forbidden, LoginRequired, SiteHidden, signed_in
from footfall.dashboard.state import dashboard
from footfall.errors import BackendUnavailable

Handler = Callable[[Request], Awaitable[Response]]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

# One-shot notices shown after a redirect; the cookie carries only the key.
NOTICES = {
    "welcome": "Welcome! Your owner account is ready. Add your first site.",
    "signed-out": "You are signed out.",
    "password-changed": "Password changed. Your other sessions were signed out.",
    "site-added": "Site added. Paste the snippet into your pages.",
    "site-deleted": "Site deleted. Its events are being removed.",
    "settings-saved": "Settings saved.",
    "member-added": "Access shared.",
    "member-updated": "Role changed.",
    "member-unchanged": "Role unchanged: they already had that role.",
    "member-removed": "Access removed.",
    "token-revoked": "Token revoked. Requests using it are refused from now on.",
    "key-revoked": "Key revoked. Widgets using it stop showing the count.",
    "goal-added": "Goal added. Its conversions show at once, past events included.",
    "goal-deleted": "Goal deleted. Its conversions no longer show; the events are kept.",
    "user-created": "Account created. Give them the password; they can change it later.",
    "user-password-set": "Password set, and their sessions signed out. Give them the new one.",
    "user-deleted": "Account deleted: its sessions ended, its site access went; the sites stay.",
}

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@functools.cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails its test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are part of the installed package: read once, never again, so a server
        # keeps rendering the templates of its own version while a new one is installed.
        auto_reload=False,
    )
    env.globals["static"] = static.static_url
    env.filters["timestamp"] = _timestamp
    return env


def _timestamp(unix_seconds: float) -> str:
    """A stored time as shown before scripts localise it (`time[data-ts]`)."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def secure(response: Response) -> Response:
    """Add the security headers (and `no-store` unless the handler chose a cache policy)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` with the shared context: `user`, `csrf_token`, `header_sites`
    (the signed-in user's sites with their roles), `notice`, `path`, `static()`."""
    board = dashboard(request)
    settings = board.settings
    session = await signed_in(request)
    header_sites = await board.members.sites_for(session.user) if session else []
    new_pre_session = None
    if session is not None:
        token = csrf.token_for(session.secret)
    else:
        pre_session = request.cookies.get(cookies.PRE_SESSION)
        if not pre_session or len(pre_session) > 100:
            pre_session = new_pre_session = secrets.token_urlsafe(32)
        token = csrf.token_for(pre_session)
    notice_key = request.cookies.get(cookies.NOTICE)
    values = {
        "request": request,
        "path": request.url.path,
        "user": session.user if session else None,
        "csrf_token": token,
        "header_sites": header_sites,
        "notice": NOTICES.get(notice_key or ""),
        **(context or {}),
    }
    body = templates().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers=headers)
    if new_pre_session is not None:
        cookies.set_pre_session(response, request, settings, new_pre_session)
    if notice_key is not None:
        cookies.clear(response, request, settings, cookies.NOTICE)
    return response


def redirect(request: Request, url: str, notice: str | None = None) -> Response:
    """303 See Other to `url` (after a POST: the browser follows with a GET)."""
    response = RedirectResponse(url, status_code=303)
    if notice is not None:
        assert notice in NOTICES, notice
        cookies.set_notice(response, request, dashboard(request).settings, notice)
    return response


async def verify_form(request: Request) -> dict[str, str]:
    """The submitted form's text fields, after the CSRF checks (raises `CsrfRejected`)."""
    # As a context manager: uploaded files (a multipart form may carry any) are closed here.
    async with request.form() as form:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    session = await signed_in(request)
    secret = session.secret if session else request.cookies.get(cookies.PRE_SESSION)
    submitted = fields.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
    csrf.check(request, dashboard(request).settings, secret, submitted)
    return fields


async def verify_script_request(request: Request) -> None:
    """CSRF checks of a state-changing request sent by the pages' scripts (token in header)."""
    session = await signed_in(request)
    secret = session.secret if session else None
    csrf.check(request, dashboard(request).settings, secret, request.headers.get(csrf.HEADER))


async def _login_redirect(request: Request) -> Response:
    if await dashboard(request).users.count() == 0:
        return redirect(request, "/setup")
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or target in ("/", "/login"):
        return redirect(request, "/login")
    return redirect(request, "/login?next=" + quote(target, safe="/"))


def page(handler: Handler) -> Handler:
    """Wrap an HTML endpoint: auth and CSRF failures become pages; security headers added."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request)
        except LoginRequired:
            response = await _login_redirect(request)
        except SiteHidden:
            response = await render(request, "error.html", _error("Not found", _HIDDEN), 404)
        except Forbidden as error:
            response = await render(request, "error.html", _error("Not allowed", error.reason), 403)
        except csrf.CsrfRejected as error:
            response = await render(
                request, "error.html", _error("Request refused", error.reason), 403
            )
        except BackendUnavailable as error:
            response = HTMLResponse(
                f"<!doctype html><title>Unavailable</title><p>{html.escape(error.message)}</p>",
                status_code=503,
                headers={"Retry-After": str(error.retry_after)},
            )
        return secure(response)

    return endpoint


def json_view(handler: Handler) -> Handler:
    """Wrap a JSON endpoint of the pages' scripts: 401 / 404 / 403 as `{"error": …}`."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request)
        except LoginRequired:
            response = json_response({"error": "Sign in first"}, 401)
        except SiteHidden:
            response = json_response({"error": "Website not found"}, 404)
        except Forbidden as error:
            response = json_response({"error": error.reason}, 403)
        except csrf.CsrfRejected as error:
            response = json_response({"error": error.reason}, 403)
        except BackendUnavailable as error:
            response = json_response(
                {"error": error.message}, 503, {"Retry-After": str(error.retry_after)}
            )
        return secure(response)

    return endpoint


_HIDDEN = "There is no such site, or it has not been shared with you."


def _error(title: str, message: str) -> dict[str, str]:
    return {"title": title, "message": message}
