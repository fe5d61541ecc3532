"""Sharing a site with other users (by email) as viewer or admin; changing and removing access.

Owners and admins share. The site's owners cannot be changed or removed here, and nobody
changes their own access (an admin cannot lock themselves out by accident).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.models import Role
from footfall.accounts.users import normalise_email
from footfall.dashboard.auth import Forbidden, SiteAccess, require_site_access, require_user
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form

SHARED_ROLES = (Role.VIEWER, Role.ADMIN)  # roles that can be given here (owners stay owners)


async def _context(request: Request, access: SiteAccess, **extra: Any) -> dict[str, Any]:
    members = await dashboard(request).members.members(access.site.id)
    return {
        "access": access,
        "site": access.site,
        "members": members,
        "roles": SHARED_ROLES,
        "errors": {},
        "values": {"email": "", "role": Role.VIEWER.value},
        "create_account": None,
        **extra,
    }


def _role(value: str | None) -> Role | None:
    try:
        role = Role(value or "")
    except ValueError:
        return None
    return role if role in SHARED_ROLES else None


@page
async def sharing_page(request: Request) -> Response:
    """GET /sites/{site_id}/sharing — members and the share form (owners and admins)."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    # ?email=&role= prefill the form (the Users page comes back here after creating an account).
    query = request.query_params
    role = _role(query.get("role")) or Role.VIEWER
    values = {"email": query.get("email", "").strip()[:320], "role": role.value}
    return await render(
        request, "site_sharing.html", await _context(request, access, values=values)
    )


def _create_account_url(site_id: str, email: str, role: Role | None) -> str | None:
    """The Users page with its form prefilled, coming back to this sharing form afterwards;
    None when `email` is not an email address (the account could not be created)."""
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    back = {"email": address, "role": (role or Role.VIEWER).value}
    next_path = f"/sites/{site_id}/sharing?{urlencode(back)}"
    return "/users?" + urlencode({"email": address, "next": next_path})


@page
async def share(request: Request) -> Response:
    """POST /sites/{site_id}/sharing — email, role (viewer|admin): 303 back; 400 for an
    unknown email or role."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    user = await require_user(request)
    fields = await verify_form(request)
    board = dashboard(request)
    email = fields.get("email", "").strip()
    values = {"email": email, "role": fields.get("role", "")}
    role = _role(fields.get("role"))
    other = await board.users.by_email(email) if email else None
    error = None
    create_account = None
    if role is None:
        error = ("role", "Choose viewer or admin.")
    elif other is None and user.is_admin:
        # Installation administrators create accounts on the Users page: offer it, prefilled.
        error = ("email", f"No account uses {email or 'that address'}.")
        create_account = _create_account_url(access.site.id, email, role)
    elif other is None:
        error = (
            "email",
            f"No account uses {email or 'that address'}. An administrator creates accounts "
            "with `footfall users create EMAIL`.",
        )
    elif other.id == user.id:
        error = ("email", "That is you.")
    else:
        current = await board.members.members(access.site.id)
        if any(m.user_id == other.id and m.role is Role.OWNER for m in current):
            error = ("email", f"{other.email} owns this site already.")
    if error is not None or other is None or role is None:
        errors = dict([error]) if error else {}
        context = await _context(
            request, access, errors=errors, values=values, create_account=create_account
        )
        return await render(request, "site_sharing.html", context, 400)
    await board.members.set_role(access.site.id, other.id, role, board.now())
    return redirect(request, f"/sites/{access.site.id}/sharing", notice="member-added")


async def _changeable_member(request: Request, access: SiteAccess) -> tuple[str, Role]:
    """The id and current role of the member the URL names, if the signed-in user may change
    their access."""
    user = await require_user(request)
    member_id: str = request.path_params["user_id"]
    if member_id == user.id:
        raise Forbidden("You cannot change your own access to a site.")
    members = await dashboard(request).members.members(access.site.id)
    member = next((m for m in members if m.user_id == member_id), None)
    if member is None:
        raise Forbidden("That user has no access to this site.")
    if member.role is Role.OWNER:
        raise Forbidden("The owner's access cannot be changed.")
    return member_id, member.role


@page
async def change_role(request: Request) -> Response:
    """POST /sites/{site_id}/sharing/{user_id}/role — role (viewer|admin)."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    fields = await verify_form(request)
    member_id, current = await _changeable_member(request, access)
    role = _role(fields.get("role"))
    if role is None:
        context = await _context(request, access, errors={"role": "Choose viewer or admin."})
        return await render(request, "site_sharing.html", context, 400)
    if role is current:  # say so rather than claim a change that did not happen
        return redirect(request, f"/sites/{access.site.id}/sharing", notice="member-unchanged")
    board = dashboard(request)
    await board.members.set_role(access.site.id, member_id, role, board.now())
    return redirect(request, f"/sites/{access.site.id}/sharing", notice="member-updated")


@page
async def remove_member(request: Request) -> Response:
    """POST /sites/{site_id}/sharing/{user_id}/remove — the user loses access at once."""
    access = await require_site_access(request, request.path_params["site_id"], Role.ADMIN)
    await verify_form(request)
    member_id, _ = await _changeable_member(request, access)
    await dashboard(request).members.remove(access.site.id, member_id)
    return redirect(request, f"/sites/{access.site.id}/sharing", notice="member-removed")
