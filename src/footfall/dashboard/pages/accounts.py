"""First-run set-up, sign-in, sign-out and password change.

- `/setup` exists only while the installation has no user: it creates the owner account (an
  installation administrator) and signs it in.
- `/login` starts a brand-new session (whatever session cookie the browser had is ended
  first: no fixation) after the throttle allows the attempt (`accounts.login_throttle`).
- `/logout` ends the session on the server, not only in the browser.
- `/account` changes the password (current one required), ends every other session of the
  user and moves the current browser to a new session.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts import login_throttle, passwords
from footfall.dashboard import cookies, forms, origin
from footfall.dashboard.auth import SignedIn, require_user, set_signed_in, signed_in
from footfall.dashboard.state import Dashboard, dashboard
from footfall.dashboard.views import page, redirect, render, verify_form

PASSWORDS_DIFFER = "The two passwords differ."
WRONG_CURRENT_PASSWORD = "That is not your current password."  # noqa: S105


def _throttled_message(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins. Try again in {minutes} {unit}."


async def _start_session(
    request: Request, response: Response, board: Dashboard, user_id: str
) -> None:
    """End the browser's old session (if any), start a new one, set its cookie."""
    old = request.cookies.get(cookies.SESSION)
    if old:
        await board.sessions.end(old)
    secret, _ = await board.sessions.create(user_id, board.now())
    cookies.set_session(response, request, board.settings, secret)
    cookies.clear(response, request, board.settings, cookies.PRE_SESSION)


@page
async def home(request: Request) -> Response:
    """GET / — the sites of the signed-in user; else sign-in, or set-up on a fresh install."""
    if await signed_in(request) is not None:
        return redirect(request, "/sites")
    if await dashboard(request).users.count() == 0:
        return redirect(request, "/setup")
    return redirect(request, "/login")


@page
async def setup_form(request: Request) -> Response:
    """GET /setup — create the owner account (only while there is no user)."""
    if await dashboard(request).users.count() > 0:
        return redirect(request, "/login")
    return await render(request, "setup.html", {"email": "", "errors": {}})


@page
async def setup_submit(request: Request) -> Response:
    """POST /setup — email, password, password_confirm: creates the owner and signs in."""
    board = dashboard(request)
    fields = await verify_form(request)
    if await board.users.count() > 0:
        return redirect(request, "/login")
    email = fields.get("email", "")
    password = fields.get("password", "")
    # Every empty field says so at once, rather than one per submission.
    # (Passwords are taken as typed: only an empty one is missing.)
    errors = {
        name: "Required."
        for name, value in (
            ("email", email.strip()),
            ("password", password),
            ("password_confirm", fields.get("password_confirm", "")),
        )
        if not value
    }
    if errors:
        return await render(request, "setup.html", {"email": email, "errors": errors}, 400)
    if password != fields.get("password_confirm", ""):
        errors["password_confirm"] = PASSWORDS_DIFFER
    else:
        try:
            user = await board.users.create_first(email, password, board.now())
        except ValueError as error:
            name, message = forms.field_error(error, ("email", "password"), "email")
            errors[name] = message
        else:
            if user is None:  # someone else finished set-up first
                return redirect(request, "/login")
            response = redirect(request, "/sites/new", notice="welcome")
            await _start_session(request, response, board, user.id)
            return response
    return await render(request, "setup.html", {"email": email, "errors": errors}, 400)


@page
async def login_form(request: Request) -> Response:
    """GET /login?next=/path — the sign-in form."""
    board = dashboard(request)
    target = forms.safe_next(request.query_params.get("next"))
    if await signed_in(request) is not None:
        return redirect(request, target)
    if await board.users.count() == 0:
        return redirect(request, "/setup")
    return await render(request, "login.html", {"email": "", "next": target, "error": None})


@page
async def login_submit(request: Request) -> Response:
    """POST /login — email, password, next: 303 to `next` on success; 401 wrong credentials;
    429 (with Retry-After) after 5 failures within 15 minutes per account or per client."""
    board = dashboard(request)
    fields = await verify_form(request)
    email = fields.get("email", "").strip()
    password = fields.get("password", "")
    target = forms.safe_next(fields.get("next"))
    now = board.now()
    keys = [
        login_throttle.account_key(email),
        login_throttle.client_key(origin.client_address(request, board.settings)),
    ]
    context = {"email": email, "next": target}
    wait = await board.throttle.retry_after(keys, now)
    if wait > 0:
        return await render(
            request,
            "login.html",
            {**context, "error": _throttled_message(wait)},
            429,
            {"Retry-After": str(int(wait))},
        )
    user = await board.users.authenticate(email, password)
    if user is None:
        await board.throttle.record_failure(keys, now)
        return await render(
            request, "login.html", {**context, "error": "Wrong email or password."}, 401
        )
    await board.sessions.purge_expired(now)
    response = redirect(request, target)
    await _start_session(request, response, board, user.id)
    return response


@page
async def logout(request: Request) -> Response:
    """POST /logout — ends the session on the server and clears the cookie; 303 to /login."""
    board = dashboard(request)
    await verify_form(request)
    session = await signed_in(request)
    if session is not None:
        await board.sessions.end(session.secret)
        set_signed_in(request, None)
    response = redirect(request, "/login", notice="signed-out")
    cookies.clear(response, request, board.settings, cookies.SESSION)
    return response


@page
async def account_form(request: Request) -> Response:
    """GET /account — the signed-in user's account: change the password."""
    await require_user(request)
    return await render(request, "account.html", {"errors": {}})


@page
async def account_password(request: Request) -> Response:
    """POST /account/password — current_password, password, password_confirm.

    303 to /account on success (every other session of the user ends, this browser gets a
    new session); 400 invalid new password; 401 wrong current password; 429 throttled.
    """
    board = dashboard(request)
    user = await require_user(request)
    fields = await verify_form(request)
    now = board.now()
    keys = [login_throttle.account_key(user.email)]
    errors: dict[str, str] = {}
    wait = await board.throttle.retry_after(keys, now)
    if wait > 0:
        errors["current_password"] = _throttled_message(wait)
        return await render(
            request, "account.html", {"errors": errors}, 429, {"Retry-After": str(int(wait))}
        )
    if await board.users.authenticate(user.email, fields.get("current_password", "")) is None:
        await board.throttle.record_failure(keys, now)
        errors["current_password"] = WRONG_CURRENT_PASSWORD
        return await render(request, "account.html", {"errors": errors}, 401)
    new = fields.get("password", "")
    if new != fields.get("password_confirm", ""):
        errors["password_confirm"] = PASSWORDS_DIFFER
    else:
        try:
            passwords.check_policy(new)
        except ValueError as error:
            errors["password"] = forms.field_error(error, ("password",), "password")[1]
    if errors:
        return await render(request, "account.html", {"errors": errors}, 400)
    await board.users.set_password(user.id, new, now)
    await board.sessions.end_all_for(user.id)
    response = redirect(request, "/account", notice="password-changed")
    secret, session = await board.sessions.create(user.id, now)
    cookies.set_session(response, request, board.settings, secret)
    set_signed_in(request, SignedIn(user=user, session=session, secret=secret))
    return response
