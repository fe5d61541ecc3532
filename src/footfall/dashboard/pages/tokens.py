"""A site's API tokens (owners and admins): generate, list, revoke, rotate.

A new token is shown once, in the answer to the POST that created it (never in a URL, never
stored): with a copy button and ready-made `curl` and `fetch` examples naming the real website
id and host. Listings show the display prefix, name, created and last-used times.

The page also has the site's publishable keys for the live counter (public, unlike tokens):
listed with their widget snippets, and a form to create one, handled by the Live counter tab
(`live_keys.create_key`, same checks and roles), where the full management is.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.dashboard import origin
from footfall.dashboard.auth import Forbidden, SiteAccess, require_site_access
from footfall.dashboard.pages.credentials import active_and_revoked, active_by_id
from footfall.dashboard.pages.live_keys import form_defaults, key_listing
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form
from footfall.errors import NotFoundError
from footfall.storage.models import TokenInfo

MAX_NAME_LENGTH = 200


def examples(base_url: str, website_id: str, token: str) -> dict[str, str]:
    """`curl` and `fetch` calls of the Realtime API with this token."""
    url = f"{base_url}/api/v1/realtime?websiteId={website_id}"
    return {
        "curl": f'curl "{url}" \\\n  -H "Authorization: Bearer {token}"',
        "fetch": (
            f"fetch('{url}', {{\n"
            f"  headers: {{ 'Authorization': 'Bearer {token}' }}\n"
            "}).then(r => r.json()).then(data => console.log(data.currentVisitors));"
        ),
    }


async def _render(
    request: Request,
    access: SiteAccess,
    *,
    created: tuple[str, TokenInfo] | None = None,
    rotated: TokenInfo | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    board = dashboard(request)
    listed = await board.services.meta.list_tokens(access.site.id)
    base = origin.base_url(request, board.settings)
    active, revoked = active_and_revoked(listed)
    context: dict[str, Any] = {
        "access": access,
        "site": access.site,
        "active": active,
        "revoked": revoked,
        "created": None,
        "rotated": rotated,
        "error": error,
        "base_url": base,
        "placeholder": examples(base, access.site.id, "vt_your_api_token_here"),
        "live": await key_listing(request, access.site),
        "live_values": form_defaults(access.site),
    }
    if created is not None:
        secret, info = created
        context["created"] = {
            "token": secret,
            "info": info,
            **examples(base, access.site.id, secret),
        }
    return await render(request, "site_tokens.html", context, status)


@page
async def tokens_page(request: Request) -> Response:
    """GET /sites/{site_id}/tokens — the site's tokens and the generate form."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    return await _render(request, access)


@page
async def create_token(request: Request) -> Response:
    """POST /sites/{site_id}/tokens — name (optional): answers with the new token, shown
    this once; 400 for a name over 200 characters."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    fields = await verify_form(request)
    name = fields.get("name", "").strip()
    if len(name) > MAX_NAME_LENGTH:
        error = f"Name: at most {MAX_NAME_LENGTH} characters."
        return await _render(request, access, error=error, status=400)
    board = dashboard(request)
    created = await board.services.meta.create_token(access.site.id, board.now(), name)
    return await _render(request, access, created=created)


async def _active_token(request: Request, access: SiteAccess) -> TokenInfo:
    """The active token of this site that the URL names (403 for anything else: the user
    sees this site, and another site's token id must not work through it)."""
    listed = await dashboard(request).services.meta.list_tokens(access.site.id)
    return active_by_id(listed, request.path_params["token_id"], "token")


@page
async def revoke_token(request: Request) -> Response:
    """POST /sites/{site_id}/tokens/{token_id}/revoke — the token stops working at once."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    await verify_form(request)
    info = await _active_token(request, access)
    board = dashboard(request)
    with contextlib.suppress(NotFoundError):  # revoked meanwhile
        await board.services.meta.revoke_token(info.id, board.now())
    return redirect(request, f"/sites/{access.site.id}/tokens", notice="token-revoked")


@page
async def rotate_token(request: Request) -> Response:
    """POST /sites/{site_id}/tokens/{token_id}/rotate — a new token (shown once) replaces
    this one, which is revoked in the same transaction."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    await verify_form(request)
    info = await _active_token(request, access)
    board = dashboard(request)
    try:
        secret, new, old = await board.services.meta.rotate_token(
            access.site.id, info.id, board.now()
        )
    except NotFoundError:
        raise Forbidden("No such active token for this site.") from None
    return await _render(request, access, created=(secret, new), rotated=old)
