"""A site's conversion goals (owners and admins): list, add, delete.

Two forms add a goal, one per kind (`footfall.storage.goals`): a **page goal** (pageviews
whose path matches a pattern: `/signup`, `/product/*/buy`, `/blog/**`) and a **custom-event
goal** (events with a given name). Both post `kind` with the pattern or event name and an
optional display name. Validation is the goal store's, the one `footfall goals add` uses:
its messages are shown beside the field they concern (400), reworded only where they speak
of the command line or of goal ids. Deleting asks for confirmation on a page of its own
(works without scripts). Goals are read by each stats query, so changes apply at once.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.dashboard.auth import SiteAccess, require_site_access
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form
from footfall.errors import NotFoundError
from footfall.storage.goals import KINDS, Goal, GoalKind, GoalStore

# The form field holding what a goal of each kind matches.
MATCH_FIELD: dict[GoalKind, str] = {"pageview": "page", "event": "event"}
_KINDS: dict[str, GoalKind] = {kind: kind for kind in KINDS}
_FIELDS = ("kind", "page", "event", "name")

# Messages of the goal store that name a goal by id, or the command line's options.
_COUNTED = re.compile(r"^goal \S+ \((?P<name>.*)\) already counts ")
_NAMED = re.compile(r"^goal \S+ is already named ")
_USE_PAGE = "use --page with a pattern"


def _store(request: Request) -> GoalStore:
    return GoalStore(dashboard(request).services.meta.engine)


def stats_filter(goal: Goal) -> str:
    """The dashboard's `filters` parameter selecting `goal`'s conversions (JSON)."""
    return json.dumps([["is", "event:goal", [goal.name]]], separators=(",", ":"))


def form_error(kind: GoalKind, error: ValueError) -> tuple[str, str]:
    """(field, message) for a ValueError of `GoalStore.create`: the field it concerns
    (`page`, `event`, `name`, or `form` for the site's limit), in the dashboard's words."""
    text = str(error)
    if counted := _COUNTED.match(text):
        what = text[counted.end() :]
        return MATCH_FIELD[kind], f'The goal "{counted["name"]}" already counts {what}.'
    if named := _NAMED.match(text):
        rest = text[named.end() :].removesuffix("; choose another name")
        return "name", f"Another goal is already named {rest}: choose another name."
    if text.endswith(_USE_PAGE):
        return "event", "Pageviews are counted by page goals: add a page goal instead."
    for prefix, field in (("page pattern", "page"), ("event name", "event"), ("goal name", "name")):
        if text.startswith(prefix):
            message = text[len(prefix) :].removeprefix(":").strip()
            label = {"page": "Page pattern", "event": "Event name", "name": "Name"}[field]
            if text.startswith(f"{prefix} "):  # "page pattern 'x' must start with /"
                return field, f"{label} {message}."
            return field, f"{label}: {message}."
    return "form", text[:1].upper() + text[1:] + "."


def _context(
    access: SiteAccess,
    goals: list[Goal],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "access": access,
        "site": access.site,
        "goals": [(goal, stats_filter(goal)) for goal in goals],
        "values": values or {},
        "errors": errors or {},
    }


async def _goal_of_site(request: Request, access: SiteAccess) -> Goal | None:
    """The goal of this site that the URL names, None if the site has no such goal (another
    site's goal id must not work through this site's pages)."""
    goal_id = request.path_params["goal_id"]
    for goal in await _store(request).for_site(access.site.id):
        if goal.id == goal_id:
            return goal
    return None


async def _no_such_goal(request: Request, access: SiteAccess) -> Response:
    context = {
        "access": access,
        "site": access.site,
        "title": "Not found",
        "message": "This site has no such goal (it may have been deleted already).",
    }
    return await render(request, "error.html", context, 404)


@page
async def goals_page(request: Request) -> Response:
    """GET /sites/{site_id}/goals — the site's goals and the forms adding one."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    goals = await _store(request).for_site(access.site.id)
    return await render(request, "site_goals.html", _context(access, goals))


@page
async def add_goal(request: Request) -> Response:
    """POST /sites/{site_id}/goals — `kind` (`pageview` or `event`), `page` (a path pattern)
    or `event` (an event name), `name` (optional; default `Visit PATTERN` or the event
    name): 303 back with a notice; 400 with the form and the reason beside its field."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    fields = await verify_form(request)
    values = {name: fields.get(name, "").strip() for name in _FIELDS}
    store = _store(request)
    kind = _KINDS.get(values["kind"])
    if kind is None:
        errors = {"form": "Choose the kind of goal: a page or a custom event."}
    elif not values[MATCH_FIELD[kind]]:  # the store would say "must start with /"
        missing = "a path pattern" if kind == "pageview" else "an event name"
        errors = {MATCH_FIELD[kind]: f"Give {missing}."}
    else:
        try:
            await store.create(
                access.site.id,
                kind,
                values[MATCH_FIELD[kind]],
                dashboard(request).now(),
                values["name"] or None,
            )
        except ValueError as error:
            errors = dict([form_error(kind, error)])
        except NotFoundError:  # the site was deleted meanwhile
            return redirect(request, "/sites")
        else:
            return redirect(request, f"/sites/{access.site.id}/goals", notice="goal-added")
    goals = await store.for_site(access.site.id)
    context = _context(access, goals, values=values, errors=errors)
    return await render(request, "site_goals.html", context, 400)


@page
async def delete_form(request: Request) -> Response:
    """GET /sites/{site_id}/goals/{goal_id}/delete — the confirmation page; 404 for a goal
    this site does not have."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    goal = await _goal_of_site(request, access)
    if goal is None:
        return await _no_such_goal(request, access)
    context = {"access": access, "site": access.site, "goal": goal}
    return await render(request, "site_goal_delete.html", context)


@page
async def delete_submit(request: Request) -> Response:
    """POST /sites/{site_id}/goals/{goal_id}/delete — the goal leaves the stats at once (its
    events stay); 303 back with a notice; 404 for a goal this site does not have."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    await verify_form(request)
    goal = await _goal_of_site(request, access)
    if goal is None:
        return await _no_such_goal(request, access)
    with contextlib.suppress(NotFoundError):  # deleted meanwhile: the outcome asked for
        await _store(request).delete(goal.id)
    return redirect(request, f"/sites/{access.site.id}/goals", notice="goal-deleted")
