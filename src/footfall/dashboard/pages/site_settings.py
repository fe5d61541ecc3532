"""A site's settings (owners and admins) and its deletion (owners, after typing the domain)."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.dashboard import forms
from footfall.dashboard.auth import SiteAccess, require_site_access
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form
from footfall.errors import NotFoundError
from footfall.storage.models import Site

_FIELDS = ("name", "timezone", "allowed_hostnames", "honor_gpc", "retention_days", "live_min_count")


def _values(site: Site) -> dict[str, str]:
    """A site's settings as the form shows them."""
    return {
        "name": site.name,
        "timezone": site.timezone,
        "allowed_hostnames": "\n".join(site.allowed_hostnames),
        "honor_gpc": "on" if site.honor_gpc else "",
        "retention_days": "" if site.retention_days is None else str(site.retention_days),
        "live_min_count": str(site.live_min_count),
    }


def _context(access: SiteAccess, values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "access": access,
        "site": access.site,
        "values": values,
        "errors": errors,
        "timezones": forms.timezones(),
    }


def _changes(values: dict[str, str]) -> dict[str, Any]:
    """The form's values as `SqlMetaStore.update_site` arguments (ValueError naming one)."""
    hostnames = values["allowed_hostnames"].replace(",", "\n").splitlines()
    return {
        "name": values["name"],
        "timezone": values["timezone"],
        "allowed_hostnames": tuple(h.strip() for h in hostnames if h.strip()),
        "honor_gpc": values["honor_gpc"] == "on",
        "retention_days": forms.optional_int(values["retention_days"], "retention_days"),
        "live_min_count": forms.required_int(values["live_min_count"], "live_min_count"),
    }


@page
async def settings_form(request: Request) -> Response:
    """GET /sites/{site_id}/settings — owners and admins (403 for viewers)."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    return await render(request, "site_settings.html", _context(access, _values(access.site), {}))


@page
async def settings_submit(request: Request) -> Response:
    """POST /sites/{site_id}/settings — 303 back with a notice; 400 naming the invalid field."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    fields = await verify_form(request)
    values = {name: fields.get(name, "").strip() for name in _FIELDS}
    try:
        await dashboard(request).services.meta.update_site(access.site.id, **_changes(values))
    except ValueError as error:
        name, message = forms.field_error(error, _FIELDS, "name")
        if name == "allowed_hostnames" or message.startswith("not a domain"):
            name, message = "allowed_hostnames", f"Not a hostname: {message.split(': ', 1)[-1]}"
        context = _context(access, values, {name: message})
        return await render(request, "site_settings.html", context, 400)
    except NotFoundError:
        return redirect(request, "/sites")
    return redirect(request, f"/sites/{access.site.id}/settings", notice="settings-saved")


@page
async def delete_form(request: Request) -> Response:
    """GET /sites/{site_id}/delete — the confirmation page (owners only)."""
    access = await require_site_access(request, request.path_params["site_id"], Role.OWNER)
    return await render(
        request, "site_delete.html", {"access": access, "site": access.site, "error": None}
    )


@page
async def delete_submit(request: Request) -> Response:
    """POST /sites/{site_id}/delete — `confirm_domain` must be the site's domain; the site
    stops answering at once and its events are purged by the server's housekeeping."""
    access = await require_site_access(request, request.path_params["site_id"], Role.OWNER)
    fields = await verify_form(request)
    board = dashboard(request)
    if fields.get("confirm_domain", "").strip().lower() != access.site.domain:
        context = {
            "access": access,
            "site": access.site,
            "error": f"Type {access.site.domain} to confirm.",
        }
        return await render(request, "site_delete.html", context, 400)
    with contextlib.suppress(NotFoundError):  # deleted meanwhile: the outcome the user asked for
        await board.services.meta.delete_site(access.site.id, board.now())
    return redirect(request, "/sites", notice="site-deleted")
