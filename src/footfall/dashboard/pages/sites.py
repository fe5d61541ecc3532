"""The site list, adding a site, the site dashboard's page, and its install page with the
snippet.

The install page shows "waiting for the first pageview" until the site's first event is
stored; its script polls `GET /sites/{id}/status` every 2.5 seconds and turns the panel green
when events arrive (then stops polling). "Has the site any event" is asked as "its oldest
event", one index lookup on PostgreSQL, never a count over a large site's history.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.api.assets import snippet
from footfall.api.responses import json_response
from footfall.clock import iso_millis
from footfall.dashboard import forms, origin
from footfall.dashboard.auth import require_site_access, require_user
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import json_view, page, redirect, render, verify_form
from footfall.services import Services
from footfall.storage.meta import normalise_domain
from footfall.storage.models import Site

STATUS_POLL_MS = 2500
REALTIME_REFRESH_MS = 30_000
"""The realtime view reloads its numbers this often, and besides when the live count moves."""


async def _first_event_at(services: Services, site_id: str) -> float | None:
    """When the site's first stored event happened, or None while it has none."""
    first = await services.events.events(site_id, limit=1)
    return first[0].ts if first else None


@page
async def site_list(request: Request) -> Response:
    """GET /sites — the sites the user may see, with their role."""
    user = await require_user(request)
    board = dashboard(request)
    listed = await board.members.sites_for(user)
    return await render(request, "sites.html", {"sites": listed})


def _new_site_context(
    values: dict[str, str], errors: dict[str, str], existing: Site | None = None
) -> dict[str, object]:
    """The add-a-site form; `existing`: the user's site with the domain typed, linked."""
    return {
        "values": values,
        "errors": errors,
        "timezones": forms.timezones(),
        "existing": existing,
    }


@page
async def new_site_form(request: Request) -> Response:
    """GET /sites/new — domain, name and time zone of a new site."""
    await require_user(request)
    values = {"domain": "", "name": "", "timezone": ""}
    return await render(request, "site_new.html", _new_site_context(values, {}))


@page
async def new_site_submit(request: Request) -> Response:
    """POST /sites/new — creates the site with the user as its owner; 303 to its install
    page; 400 with the field named for invalid input."""
    user = await require_user(request)
    board = dashboard(request)
    fields = await verify_form(request)
    values = {key: fields.get(key, "").strip() for key in ("domain", "name", "timezone")}
    now = board.now()
    # One domain, one site (as Plausible does): a second one would split the domain's
    # stats between two dashboards. Checked among the sites this user sees; an invalid
    # domain is left to create_site's own message.
    with contextlib.suppress(ValueError):
        host = normalise_domain(values["domain"])
        existing = next(
            (site for site, _ in await board.members.sites_for(user) if site.domain == host),
            None,
        )
        if existing is not None:
            errors = {"domain": f"You already have a site for {host}: {existing.name}."}
            context = _new_site_context(values, errors, existing)
            return await render(request, "site_new.html", context, 400)
    try:
        site = await board.services.meta.create_site(
            values["domain"], values["name"] or None, now, timezone=values["timezone"] or "UTC"
        )
    except ValueError as error:
        message = str(error)
        if message.startswith("not a domain"):
            errors = {"domain": "Enter the domain the site is served on, e.g. example.com."}
        else:
            name, text = forms.field_error(error, ("name", "timezone"), "domain")
            errors = {name: text}
        return await render(request, "site_new.html", _new_site_context(values, errors), 400)
    await board.members.set_role(site.id, user.id, Role.OWNER, now)
    return redirect(request, f"/sites/{site.id}/install", notice="site-added")


@page
async def site_overview(request: Request) -> Response:
    """GET /sites/{site_id} — the site dashboard: a frame its script fills from the stats
    endpoints (`pages.site_stats`) with the view its query string describes."""
    access = await require_site_access(request, request.path_params["site_id"])
    board = dashboard(request)
    services = board.services
    site = access.site
    current = await services.presence.count(site.id)
    first = await _first_event_at(services, site.id)
    today = datetime.fromtimestamp(board.now(), ZoneInfo(site.timezone)).date()
    return await render(
        request,
        "site_overview.html",
        {
            "access": access,
            "site": site,
            "current": current,
            "receiving": first is not None,
            "today": today.isoformat(),
            "realtime_refresh_ms": REALTIME_REFRESH_MS,
        },
    )


@page
async def install(request: Request) -> Response:
    """GET /sites/{site_id}/install — the tracking snippet and the live "waiting" state."""
    access = await require_site_access(request, request.path_params["site_id"])
    board = dashboard(request)
    base = origin.base_url(request, board.settings)
    first = await _first_event_at(board.services, access.site.id)
    return await render(
        request,
        "site_install.html",
        {
            "access": access,
            "site": access.site,
            "snippet": snippet(base, access.site.id),
            "base_url": base,
            "receiving": first is not None,
            "first_event_at": first,
            "current": await board.services.presence.count(access.site.id),
            "poll_ms": STATUS_POLL_MS,
        },
    )


@json_view
async def status(request: Request) -> Response:
    """GET /sites/{site_id}/status — `{"websiteId", "receiving", "firstEventAt" (ISO 8601
    or null), "currentVisitors"}` for the install page's script; 401 signed out; 404 hidden
    site."""
    access = await require_site_access(request, request.path_params["site_id"])
    services = dashboard(request).services
    first = await _first_event_at(services, access.site.id)
    return json_response(
        {
            "websiteId": access.site.id,
            "receiving": first is not None,
            "firstEventAt": iso_millis(first) if first is not None else None,
            "currentVisitors": await services.presence.count(access.site.id),
        }
    )
