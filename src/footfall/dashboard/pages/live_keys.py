"""A site's live counter (owners and admins): publishable keys and the widget's snippet.

Publishable keys are public by design (they sit in the site's pages), so they are listed in
full, each with the snippet that shows the live count on a page (ready to copy at any time,
not only right after creating the key). Creating one asks for the origins the widget runs on
(prefilled with the site's own) and, optionally, the pages it may count; revoking one stops it
at once (docs/api/live-counter.md). The API token page lists the keys too and creates them
through the same form handler (`create_key`), whose answer is this page.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.dashboard import origin
from footfall.dashboard.auth import SiteAccess, require_site_access
from footfall.dashboard.pages.credentials import active_and_revoked, active_by_id
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form
from footfall.errors import NotFoundError
from footfall.storage.models import Site
from footfall.storage.publishable_keys import PublishableKey


def snippet(base_url: str, key: PublishableKey) -> str:
    """The script tag that renders the live count where it stands."""
    path = f' data-path="{html.escape(str(key.allowed_paths[0]))}"' if key.allowed_paths else ""
    return (
        f'<script src="{html.escape(base_url)}/widget.js" '
        f'data-key="{html.escape(key.key)}"{path}></script>'
    )


def pricing_card(tag: str) -> str:
    """The guide's example: a pricing card whose live line is the widget's script tag `tag`
    (styles that keep the card from moving when the number appears)."""
    return (
        '<div class="plan">\n'
        "  <h3>Pro</h3>\n"
        '  <p class="price">$29 / month</p>\n'
        f'  <p class="live">{tag}</p>\n'
        '  <a href="/checkout?plan=pro">Start now</a>\n'
        "</div>\n"
        "<style>\n"
        "  .plan .live { min-height: 1.4em; color: #b42318; }\n"
        '  .plan .live footfall-live::before { content: "\\25CF  "; }\n'
        "  .plan .live .footfall-count { font-weight: 700; }\n"
        "</style>"
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def form_defaults(site: Site) -> dict[str, str]:
    """The create form's fields before the user types: the site's own origin."""
    return {"origins": f"https://{site.domain}", "paths": "", "name": ""}


async def key_listing(request: Request, site: Site) -> dict[str, Any]:
    """Template context listing a site's keys: `active` and `revoked` (newest first), and
    `snippets`, the widget's script tag of each active key by key id."""
    board = dashboard(request)
    keys = await board.services.keys.list_keys(site.id)
    base = origin.base_url(request, board.settings)
    active, revoked = active_and_revoked(keys)
    return {
        "active": active,
        "revoked": revoked,
        "snippets": {key.id: snippet(base, key) for key in active},
    }


async def _render(
    request: Request,
    access: SiteAccess,
    *,
    created: PublishableKey | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    base = origin.base_url(request, dashboard(request).settings)
    listing = await key_listing(request, access.site)
    # The guide's example names the newest active key, else a placeholder to replace.
    newest = listing["active"][0] if listing["active"] else None
    tag = (
        snippet(base, newest)
        if newest is not None
        else f'<script src="{html.escape(base)}/widget.js" data-key="pk_…" '
        'data-path="/pricing"></script>'
    )
    context: dict[str, Any] = {
        "access": access,
        "site": access.site,
        **listing,
        "example": pricing_card(tag),
        "created": created,
        "snippet": snippet(base, created) if created else None,
        "values": values or form_defaults(access.site),
        "error": error,
    }
    return await render(request, "site_live.html", context, status)


@page
async def live_page(request: Request) -> Response:
    """GET /sites/{site_id}/live — the site's publishable keys and the create form."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    return await _render(request, access)


@page
async def create_key(request: Request) -> Response:
    """POST /sites/{site_id}/live — origins (one per line), paths (optional), name: answers
    with the new key and its snippet; 400 saying which origin or path is not valid. The form
    on the API token page posts here too: the answer is the Live counter tab either way."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    fields = await verify_form(request)
    values = {name: fields.get(name, "").strip() for name in ("origins", "paths", "name")}
    board = dashboard(request)
    try:
        created = await board.services.keys.create(
            access.site.id,
            board.now(),
            origins=_lines(values["origins"]),
            paths=_lines(values["paths"]),
            name=values["name"],
        )
    except ValueError as error:
        message = str(error)
        return await _render(
            request, access, values=values, error=message[:1].upper() + message[1:], status=400
        )
    return await _render(request, access, created=created)


@page
async def revoke_key(request: Request) -> Response:
    """POST /sites/{site_id}/live/{key_id}/revoke — the key stops working at once."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    await verify_form(request)
    board = dashboard(request)
    keys = await board.services.keys.list_keys(access.site.id)
    key = active_by_id(keys, request.path_params["key_id"], "key")
    with contextlib.suppress(NotFoundError):  # revoked meanwhile
        await board.services.keys.revoke(key.id, board.now())
    return redirect(request, f"/sites/{access.site.id}/live", notice="key-revoked")
