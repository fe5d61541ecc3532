"""The Users page: installation administrators manage the accounts of the installation.

- `GET /users` lists every account (email, administrator or not, created, last active,
  sites) with the form that creates one; `?email=` prefills it and `?next=` (a local path)
  is where a successful creation goes (the sharing page uses both).
- `POST /users` creates an account with the rules of `/setup` and `footfall users create`
  (`UserStore.create`: the email check and the password policy).
- `/users/{id}/password` sets a new password that the administrator passes on; every
  session of that user ends, as after `footfall users set-password` or a password change.
- `/users/{id}/delete` asks to type the email, then deletes the account as
  `footfall users delete` does (sessions and memberships go, sites stay;
  `accounts.directory`).

Only installation administrators (`is_admin`) get these pages; anyone else signed in gets
403 on every one of them, whatever the id (nothing is looked up first, so the answer tells
nothing about which accounts exist). Nobody resets their own password here (the account page
asks for the current one) or deletes themselves, and the last administrator is never deleted.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.directory import LastAdmin, UserDirectory
from footfall.accounts.models import User
from footfall.accounts.users import DuplicateEmail, normalise_email
from footfall.dashboard import forms
from footfall.dashboard.auth import Forbidden, require_user
from footfall.dashboard.pages.accounts import PASSWORDS_DIFFER
from footfall.dashboard.state import dashboard
from footfall.dashboard.views import page, redirect, render, verify_form
from footfall.errors import NotFoundError

ADMINS_ONLY = "Only administrators of this installation manage users."
OWN_PASSWORD = "Change your own password on your account page: it asks for the current one."  # noqa: S105
OWN_ACCOUNT = "You cannot delete your own account. Another administrator can."
LAST_ADMIN = "{email} is the last administrator of this installation. Create another one first."
CONFIRM_MISMATCH = "Type the account's email address exactly."
ADMIN_CHECKBOX = "yes"  # the value the form's "administrator" checkbox sends


async def require_admin(request: Request) -> User:
    """The signed-in installation administrator; Forbidden (403) for anyone else signed in,
    LoginRequired (sign-in) without a session."""
    user = await require_user(request)
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user


def _directory(request: Request) -> UserDirectory:
    return UserDirectory(dashboard(request).services.meta.engine)


async def _target(request: Request) -> User | None:
    """The user the URL names (None: no such user)."""
    return await dashboard(request).users.get(request.path_params["user_id"])


async def _not_found(request: Request) -> Response:
    context = {"title": "Not found", "message": "There is no such user."}
    return await render(request, "error.html", context, 404)


async def _list_context(request: Request, **extra: Any) -> dict[str, Any]:
    board = dashboard(request)
    directory = _directory(request)
    return {
        "summaries": await directory.summaries(board.now()),
        "total_sites": await directory.live_site_count(),
        "values": {"email": "", "admin": False},
        "next": "",
        "errors": {},
        **extra,
    }


@page
async def users_page(request: Request) -> Response:
    """GET /users?email=&next= — every account, and the form that creates one."""
    await require_admin(request)
    query = request.query_params
    values = {"email": query.get("email", "").strip()[:320], "admin": False}
    next_path = forms.safe_next(query.get("next"), default="")
    context = await _list_context(request, values=values, next=next_path)
    return await render(request, "users.html", context)


@page
async def create_user(request: Request) -> Response:
    """POST /users — email, password, password_confirm, admin (`yes` or absent), next.

    303 to `next` (a local path) or /users; 400 naming the field for an invalid or taken
    email, a password the policy refuses, passwords that differ or a bad admin value.
    """
    await require_admin(request)
    fields = await verify_form(request)
    board = dashboard(request)
    email = fields.get("email", "").strip()
    password = fields.get("password", "")
    admin_value = fields.get("admin", "")
    values = {"email": email, "admin": admin_value == ADMIN_CHECKBOX}
    next_path = forms.safe_next(fields.get("next"), default="")
    errors: dict[str, str] = {}
    if admin_value not in ("", ADMIN_CHECKBOX):
        errors["admin"] = "Tick the box or leave it empty."
    elif password != fields.get("password_confirm", ""):
        errors["password_confirm"] = PASSWORDS_DIFFER
    else:
        try:
            await board.users.create(email, password, board.now(), is_admin=bool(values["admin"]))
        except DuplicateEmail:
            # Not through `field_error`: it would capitalise the address.
            errors["email"] = f"{normalise_email(email)} already has an account."
        except ValueError as error:
            name, message = forms.field_error(error, ("email", "password"), "email")
            errors[name] = message
    if errors:
        context = await _list_context(request, values=values, next=next_path, errors=errors)
        return await render(request, "users.html", context, 400)
    return redirect(request, next_path or "/users", notice="user-created")


@page
async def password_form(request: Request) -> Response:
    """GET /users/{user_id}/password — set a new password for another user."""
    user = await require_admin(request)
    target = await _target(request)
    if target is None:
        return await _not_found(request)
    if target.id == user.id:
        raise Forbidden(OWN_PASSWORD)
    return await render(request, "user_password.html", {"target": target, "errors": {}})


@page
async def set_password(request: Request) -> Response:
    """POST /users/{user_id}/password — password, password_confirm: 303 to /users, every
    session of that user ended; 400 for a password the policy refuses or passwords that
    differ; 403 for your own account; 404 for no such user."""
    user = await require_admin(request)
    fields = await verify_form(request)
    board = dashboard(request)
    target = await _target(request)
    if target is None:
        return await _not_found(request)
    if target.id == user.id:
        raise Forbidden(OWN_PASSWORD)
    password = fields.get("password", "")
    errors: dict[str, str] = {}
    if password != fields.get("password_confirm", ""):
        errors["password_confirm"] = PASSWORDS_DIFFER
    else:
        try:
            # The same two steps as `footfall users set-password` and the account page.
            await board.users.set_password(target.id, password, board.now())
        except ValueError as error:
            errors["password"] = forms.field_error(error, ("password",), "password")[1]
        except NotFoundError:  # deleted meanwhile
            return await _not_found(request)
    if errors:
        context = {"target": target, "errors": errors}
        return await render(request, "user_password.html", context, 400)
    await board.sessions.end_all_for(target.id)
    return redirect(request, "/users", notice="user-password-set")


async def _delete_context(request: Request, target: User, error: str | None) -> dict[str, Any]:
    return {
        "target": target,
        "orphaned": await _directory(request).sole_owned_sites(target.id),
        "error": error,
    }


@page
async def delete_form(request: Request) -> Response:
    """GET /users/{user_id}/delete — what deleting the account does, and its confirmation."""
    user = await require_admin(request)
    target = await _target(request)
    if target is None:
        return await _not_found(request)
    if target.id == user.id:
        raise Forbidden(OWN_ACCOUNT)
    return await render(request, "user_delete.html", await _delete_context(request, target, None))


@page
async def delete_user(request: Request) -> Response:
    """POST /users/{user_id}/delete — confirm_email (the account's email): 303 to /users;
    400 when it does not match; 403 for your own account; 409 for the last administrator;
    404 for no such user."""
    user = await require_admin(request)
    fields = await verify_form(request)
    target = await _target(request)
    if target is None:
        return await _not_found(request)
    if target.id == user.id:
        raise Forbidden(OWN_ACCOUNT)
    if fields.get("confirm_email", "").strip().lower() != target.email:
        context = await _delete_context(request, target, CONFIRM_MISMATCH)
        return await render(request, "user_delete.html", context, 400)
    try:
        await _directory(request).delete(target.id)
    except NotFoundError:
        return await _not_found(request)
    except LastAdmin:
        # Reached only when administrators delete each other at the same moment: the
        # directory's one-statement check keeps one of them.
        context = {"title": "Not deleted", "message": LAST_ADMIN.format(email=target.email)}
        return await render(request, "error.html", context, 409)
    return redirect(request, "/users", notice="user-deleted")
