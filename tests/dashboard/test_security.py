"""Dashboard security: CSRF, who sees which site, session fixation, throttling, cookies,
headers. Every check goes through HTTP against a real app (and real stores)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.accounts.login_throttle import LIMIT, WINDOW
from footfall.accounts.models import Role
from footfall.api.responses import json_response
from footfall.config import Settings
from footfall.dashboard.auth import require_user
from footfall.dashboard.csrf import token_for as csrf_token_for
from footfall.dashboard.views import json_view, verify_script_request
from footfall.storage.goals import GoalStore
from tests.conftest import FakeClock
from tests.dashboard.conftest import OWNER, PASSWORD, Dash, _dash, csrf_of

# -- CSRF --------------------------------------------------------------------------------------

# Every state-changing form, with a body that would succeed given a valid token.
FORMS = [
    ("/sites/new", {"domain": "csrf.example", "timezone": "UTC"}),
    ("/sites/{site}/settings", {"name": "Hijacked", "timezone": "UTC", "live_min_count": "0"}),
    ("/sites/{site}/delete", {"confirm_domain": "shop.example"}),
    ("/sites/{site}/sharing", {"email": "mallory@example.org", "role": "admin"}),
    ("/sites/{site}/tokens", {"name": "stolen"}),
    ("/sites/{site}/sharing/{member}/role", {"role": "admin"}),
    ("/sites/{site}/sharing/{member}/remove", {}),
    ("/sites/{site}/tokens/{token}/revoke", {}),
    ("/sites/{site}/tokens/{token}/rotate", {}),
    ("/sites/{site}/live", {"origins": "https://evil.example", "name": "stolen"}),
    ("/sites/{site}/live/{key}/revoke", {}),
    ("/sites/{site}/goals", {"kind": "pageview", "page": "/stolen"}),
    ("/sites/{site}/goals/{goal}/delete", {}),
    ("/users", {"email": "csrf@example.org", "password": PASSWORD, "password_confirm": PASSWORD}),
    ("/users/{member}/password", {"password": "y" * 12, "password_confirm": "y" * 12}),
    ("/users/{member}/delete", {"confirm_email": "viewer@example.org"}),
    (
        "/account/password",
        {"current_password": PASSWORD, "password": "x" * 12, "password_confirm": "x" * 12},
    ),
    ("/logout", {}),
]


@pytest.mark.parametrize("token", ["missing", "wrong", "other session's"])
async def test_state_changing_forms_refuse_a_missing_or_wrong_token(dash: Dash, token: str) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    await dash.users.create("mallory@example.org", PASSWORD, 0.0)
    # A member, a token and a live key for the forms that change them.
    viewer = await dash.users.create("viewer@example.org", PASSWORD, 0.0)
    await dash.services_members().set_role(site, viewer.id, Role.VIEWER, 0.0)
    _, api_token = await dash.services.meta.create_token(site, 0.0, "existing")
    key = await dash.services.keys.create(site, 0.0, origins=["https://shop.example"])
    goal = await GoalStore(dash.services.meta.engine).create(site, "event", "signup", 0.0)
    ids = {"site": site, "member": viewer.id, "token": api_token.id, "key": key.id}
    ids["goal"] = goal.id
    other = await dash.user("other@example.org")
    await other.get("/sites")
    values = {"missing": None, "wrong": "0" * 64, "other session's": other.csrf}
    for path, data in FORMS:
        fields = dict(data)
        if values[token] is not None:
            fields["csrf_token"] = values[token] or ""
        response = await owner.post(path.format(**ids), fields, csrf=False)
        assert response.status_code == 403, (path, response.status_code)
        assert "The form expired. Reload the page and try again." in response.text
    # Nothing changed.
    stored = await dash.services.meta.get_site(site)
    assert stored is not None and stored.name == "shop.example"
    assert await dash.services.meta.list_tokens(site) == [api_token]
    members = {m.email: m.role for m in await dash.services_members().members(site)}
    assert members["viewer@example.org"] is Role.VIEWER
    assert await dash.users.by_email("csrf@example.org") is None
    assert await dash.users.authenticate("viewer@example.org", PASSWORD) is not None
    assert await dash.services.keys.list_keys(site) == [key]
    assert await GoalStore(dash.services.meta.engine).for_site(site) == [goal]
    assert [s.domain for s in await dash.services.meta.list_sites()] == ["shop.example"]
    assert (await owner.get("/sites")).status_code == 200  # still signed in


async def test_forms_posted_from_another_origin_are_refused(dash: Dash) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site}/tokens")
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
    ):
        response = await owner.post(f"/sites/{site}/tokens", {"name": "x"}, headers=headers)
        assert response.status_code == 403, headers
        assert "The request came from another site." in response.text
    same = await owner.post(
        f"/sites/{site}/tokens", {"name": "x"}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 200 and len(await dash.services.meta.list_tokens(site)) == 1


async def test_login_and_setup_forms_are_csrf_protected_too(dash: Dash) -> None:
    browser = await dash.browser()
    refused = await browser.client.post(
        "/setup", data={"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert refused.status_code == 403 and await dash.users.count() == 0
    await dash.owner()
    attacker = await dash.browser()
    await attacker.get("/login")  # a pre-session cookie exists, but the token is not sent
    refused = await attacker.client.post("/login", data={"email": OWNER, "password": PASSWORD})
    assert refused.status_code == 403 and attacker.session_cookie is None


# -- who sees what -----------------------------------------------------------------------------


async def test_other_users_sites_answer_404_like_missing_ones(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    mine = await alice.add_site("alice.example")
    theirs = await owner.add_site("owner.example")
    missing = "00000000-0000-4000-8000-000000000000"
    for site in (theirs, missing):
        for suffix in ("", "/install", "/settings", "/delete", "/sharing", "/tokens"):
            response = await alice.get(f"/sites/{site}{suffix}")
            assert response.status_code == 404, (site, suffix)
            assert "owner.example" not in response.text
        status = await alice.get(f"/sites/{site}/status")
        assert (status.status_code, status.json()) == (404, {"error": "Website not found"})
        await alice.get(f"/sites/{mine}/tokens")  # a page with a valid token for the POSTs
        for suffix in ("/settings", "/delete", "/sharing", "/tokens"):
            response = await alice.post(f"/sites/{site}{suffix}", {"name": "x"})
            assert response.status_code == 404, (site, suffix)
    listing = await alice.get("/sites")
    assert "alice.example" in listing.text and "owner.example" not in listing.text
    # The owner is an installation admin: sees every site.
    assert "alice.example" in (await owner.get("/sites")).text


async def test_sites_created_from_the_cli_are_visible_to_admins_only(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    cli_site = await dash.services.meta.create_site("cli.example", "From the CLI", 0.0)
    assert "From the CLI" in (await owner.get("/sites")).text
    assert (await owner.get(f"/sites/{cli_site.id}/settings")).status_code == 200
    assert "From the CLI" not in (await alice.get("/sites")).text
    assert (await alice.get(f"/sites/{cli_site.id}")).status_code == 404


async def test_viewers_see_but_cannot_manage(dash: Dash) -> None:
    owner = await dash.owner()
    viewer = await dash.user("viewer@example.org")
    site = await owner.add_site("shop.example")
    await owner.form(
        f"/sites/{site}/sharing",
        f"/sites/{site}/sharing",
        {"email": "viewer@example.org", "role": "viewer"},
    )
    assert (await viewer.get(f"/sites/{site}")).status_code == 200
    assert (await viewer.get(f"/sites/{site}/install")).status_code == 200
    assert (await viewer.get(f"/sites/{site}/status")).status_code == 200
    for suffix in ("/settings", "/delete", "/sharing", "/tokens"):
        assert (await viewer.get(f"/sites/{site}{suffix}")).status_code == 403, suffix
    await viewer.get(f"/sites/{site}")
    response = await viewer.post(f"/sites/{site}/tokens", {"name": "x"})
    assert response.status_code == 403 and await dash.services.meta.list_tokens(site) == []
    page = await viewer.get(f"/sites/{site}")
    assert f"/sites/{site}/tokens" not in page.text  # no tab for what they cannot open


# -- sessions ----------------------------------------------------------------------------------


async def test_signing_in_always_starts_a_new_session(dash: Dash) -> None:
    await dash.owner()
    victim = await dash.browser()
    # A session id of the attacker's choosing is never adopted.
    victim.plant_session("attacker-chosen-value")
    assert (await victim.sign_in(OWNER)).status_code == 303
    assert victim.session_cookie not in (None, "attacker-chosen-value")

    # Nor is a real session id the attacker obtained and planted: signing in replaces it,
    # and the planted session ends on the server.
    attacker = await dash.browser()
    assert (await attacker.sign_in(OWNER)).status_code == 303
    planted = attacker.session_cookie
    assert planted is not None
    victim = await dash.browser()
    victim.plant_session(planted)
    await victim.get("/sites")
    victim.csrf = csrf_token_for(planted)  # a login form posted while that cookie is set
    response = await victim.post("/login", {"email": OWNER, "password": PASSWORD})
    assert response.status_code == 303
    assert victim.session_cookie not in (None, planted)
    assert (await attacker.get("/sites")).status_code == 303  # the planted session is dead
    assert (await victim.get("/sites")).status_code == 200


async def test_sessions_expire_after_two_weeks_without_use(dash: Dash) -> None:
    browser = await dash.owner()
    dash.clock.advance(13 * 24 * 3600)
    assert (await browser.get("/sites")).status_code == 200  # use slides the expiry
    dash.clock.advance(13 * 24 * 3600)
    assert (await browser.get("/sites")).status_code == 200
    dash.clock.advance(14 * 24 * 3600 + 1)
    assert (await browser.get("/sites")).headers["location"] == "/login?next=/sites"


# -- throttling --------------------------------------------------------------------------------


async def test_sign_in_is_throttled_per_account(dash: Dash) -> None:
    await dash.owner()
    for attempt in range(LIMIT):
        browser = await dash.browser(**{"X-Forwarded-For": f"198.51.100.{attempt}"})
        assert (await browser.sign_in(OWNER, "wrong password")).status_code == 401
    # From yet another address, even the right password is refused now: the account is locked.
    browser = await dash.browser(**{"X-Forwarded-For": "198.51.100.99"})
    locked = await browser.sign_in(OWNER)
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 3 minutes." in locked.text
    assert int(locked.headers["retry-after"]) == WINDOW / LIMIT
    assert browser.session_cookie is None
    dash.clock.advance(WINDOW / LIMIT)  # one failure has drained: one more try
    assert (await browser.sign_in(OWNER)).status_code == 303


async def test_sign_in_is_throttled_per_client(dash: Dash) -> None:
    await dash.owner()
    await dash.users.create("alice@example.org", PASSWORD, 0.0)
    attacker = await dash.browser(**{"X-Forwarded-For": "203.0.113.66"})
    for attempt in range(LIMIT):
        guess = await attacker.sign_in(f"user{attempt}@example.org", "guess")
        assert guess.status_code == 401
    assert (await attacker.sign_in("alice@example.org")).status_code == 429
    # Another client signs in to that account as usual.
    alice = await dash.browser(**{"X-Forwarded-For": "203.0.113.77"})
    assert (await alice.sign_in("alice@example.org")).status_code == 303


async def test_password_change_form_is_throttled_too(dash: Dash) -> None:
    owner = await dash.owner()
    await owner.get("/account")
    wrong = {"current_password": "guess", "password": "x" * 12, "password_confirm": "x" * 12}
    for _ in range(LIMIT):
        assert (await owner.post("/account/password", wrong)).status_code == 401
    right = {**wrong, "current_password": PASSWORD}
    refused = await owner.post("/account/password", right)
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert await dash.users.authenticate(OWNER, PASSWORD) is not None  # unchanged


# -- cookies and headers -----------------------------------------------------------------------


def _set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


async def _signed_in_cookie(dash: Dash, **headers: str) -> str:
    """The session cookie set by first-run set-up, as the browser received it. The
    pre-session cookie is sent back by hand: a Secure cookie never travels over the test's
    plain-HTTP transport, whereas the browser behind a TLS proxy does send it."""
    client = (await dash.browser(**headers)).client
    page = await client.get("/setup")
    pre_session = _set_cookie(page, "footfall_presession").split(";", 1)[0]
    response = await client.post(
        "/setup",
        data={
            "email": OWNER,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
        headers={"Cookie": pre_session},
    )
    assert response.status_code == 303, response.text[:1000]
    return _set_cookie(response, "footfall_session").lower()


async def test_session_cookie_flags_over_http(dash: Dash) -> None:
    cookie = await _signed_in_cookie(dash)
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie


async def test_session_cookie_is_secure_over_https(https_dash: Dash) -> None:
    cookie = await _signed_in_cookie(https_dash)
    assert "httponly" in cookie and "samesite=lax" in cookie and "; secure" in cookie


async def test_session_cookie_is_secure_behind_a_trusted_tls_proxy(dash: Dash) -> None:
    # The test client's peer (127.0.0.1) is a trusted proxy in the test settings.
    cookie = await _signed_in_cookie(
        dash, **{"X-Forwarded-Proto": "https", "Origin": "https://testserver"}
    )
    assert "; secure" in cookie


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "data", access_log=False)  # no trusted proxy
    async for dash in _dash(settings, clock, "http://testserver"):
        cookie = await _signed_in_cookie(dash, **{"X-Forwarded-Proto": "https"})
        assert "secure" not in cookie


async def test_pages_carry_the_security_headers(dash: Dash) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    for path in ("/login", "/sites", f"/sites/{site}/install", f"/sites/{site}/status"):
        response = await owner.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
    page = (await owner.get(f"/sites/{site}/install")).text
    assert "<script>" not in page and " style=" not in page and "onclick" not in page


async def test_scripts_send_the_token_in_a_header(dash: Dash) -> None:
    """`verify_script_request`: for endpoints the pages' scripts call with `X-CSRF-Token`
    (the token is in `<meta name="csrf-token">`)."""

    @json_view
    async def change(request: Request) -> Response:
        await require_user(request)
        await verify_script_request(request)
        return json_response({"ok": True})

    dash.app.router.routes.append(Route("/test-script-change", change, methods=["POST"]))
    owner = await dash.owner()
    page = await owner.get("/sites")
    token = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', page.text)
    assert token
    ok = await owner.client.post("/test-script-change", headers={"X-CSRF-Token": token.group(1)})
    assert (ok.status_code, ok.json()) == (200, {"ok": True})
    for headers in ({}, {"X-CSRF-Token": "0" * 64}):
        refused = await owner.client.post("/test-script-change", headers=headers)
        assert refused.status_code == 403, headers
    stranger = await owner.client.post(
        "/test-script-change",
        headers={"X-CSRF-Token": token.group(1), "Origin": "https://evil.example"},
    )
    assert stranger.status_code == 403
    signed_out = await (await dash.browser()).client.post("/test-script-change")
    assert (signed_out.status_code, signed_out.json()) == (401, {"error": "Sign in first"})
