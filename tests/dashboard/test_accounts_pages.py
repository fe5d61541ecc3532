"""First-run set-up, sign-in, sign-out and password change, through HTTP."""

from __future__ import annotations

from tests.dashboard.conftest import OWNER, PASSWORD, Dash


async def test_fresh_installation_leads_to_setup_and_only_once(dash: Dash) -> None:
    browser = await dash.browser()
    for path in ("/", "/login", "/sites", "/sites/new"):
        response = await browser.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/setup"), path
    page = await browser.get("/setup")
    assert page.status_code == 200 and "Create the owner account" in page.text
    # The email field's extra attributes are attributes, not escaped text.
    assert 'value="" autocomplete="username" required autofocus>' in " ".join(page.text.split())

    response = await browser.post(
        "/setup", {"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert (response.status_code, response.headers["location"]) == (303, "/sites/new")
    users = await dash.users.list()
    assert [(u.email, u.is_admin) for u in users] == [(OWNER, True)]
    welcome = await browser.get("/sites/new")
    assert "Your owner account is ready" in welcome.text
    assert OWNER in welcome.text  # signed in: the header names the account

    # Set-up is over, for everyone.
    other = await dash.browser()
    assert (await other.get("/setup")).headers["location"] == "/login"
    await other.get("/login")
    late = await other.post(
        "/setup", {"email": "late@example.org", "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert (late.status_code, late.headers["location"]) == (303, "/login")
    assert len(await dash.users.list()) == 1


async def test_setup_form_errors_name_the_field(dash: Dash) -> None:
    browser = await dash.browser()
    await browser.get("/setup")
    differ = await browser.post(
        "/setup", {"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD + "x"}
    )
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    short = await browser.post(
        "/setup", {"email": OWNER, "password": "short", "password_confirm": "short"}
    )
    assert short.status_code == 400 and "Must be at least 10 characters" in short.text
    bad = await browser.post(
        "/setup", {"email": "nope", "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert bad.status_code == 400 and "is not an email address" in bad.text
    assert 'aria-invalid="true"' in bad.text
    assert await dash.users.count() == 0


async def test_sign_in_goes_to_the_page_asked_for_and_only_local_ones(dash: Dash) -> None:
    await dash.owner()
    browser = await dash.browser()
    asked = await browser.get("/sites/new")
    assert asked.headers["location"] == "/login?next=/sites/new"
    await browser.get("/login?next=/sites/new")
    response = await browser.post(
        "/login", {"email": OWNER, "password": PASSWORD, "next": "/sites/new"}
    )
    assert (response.status_code, response.headers["location"]) == (303, "/sites/new")
    assert (await browser.get("/login")).headers["location"] == "/sites"  # signed in already

    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        other = await dash.browser()
        await other.get("/login")
        answer = await other.post("/login", {"email": OWNER, "password": PASSWORD, "next": target})
        assert answer.headers["location"] == "/sites", target


async def test_wrong_password_and_unknown_email_answer_alike(dash: Dash) -> None:
    await dash.owner()
    browser = await dash.browser()
    await browser.get("/login")
    wrong = await browser.post("/login", {"email": OWNER, "password": "not the password"})
    unknown = await browser.post("/login", {"email": "who@example.org", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
        assert browser.session_cookie is None


async def test_logout_ends_the_session_on_the_server(dash: Dash) -> None:
    browser = await dash.owner()
    secret = browser.session_cookie
    assert secret is not None
    await browser.get("/sites")
    response = await browser.post("/logout")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert browser.session_cookie is None
    assert "You are signed out." in (await browser.get("/login")).text
    # Replaying the old cookie (as a thief who copied it would) no longer works.
    thief = await dash.browser()
    thief.plant_session(secret)
    assert (await thief.get("/sites")).headers["location"] == "/login?next=/sites"


async def test_password_change_ends_other_sessions_and_renews_this_one(dash: Dash) -> None:
    laptop = await dash.owner()
    phone = await dash.browser()
    assert (await phone.sign_in(OWNER)).status_code == 303
    old_laptop_cookie = laptop.session_cookie

    await laptop.get("/account")
    wrong = await laptop.post(
        "/account/password",
        {
            "current_password": "nope",
            "password": "brand new secret",
            "password_confirm": "brand new secret",
        },
    )
    assert wrong.status_code == 401 and "not your current password" in wrong.text
    short = await laptop.post(
        "/account/password",
        {"current_password": PASSWORD, "password": "short", "password_confirm": "short"},
    )
    assert short.status_code == 400 and "at least 10 characters" in short.text

    changed = await laptop.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "brand new secret",
            "password_confirm": "brand new secret",
        },
    )
    assert (changed.status_code, changed.headers["location"]) == (303, "/account")
    assert laptop.session_cookie not in (None, old_laptop_cookie)
    assert "Password changed." in (await laptop.get("/account")).text
    assert (await phone.get("/sites")).status_code == 303  # signed out
    stale = await dash.browser()
    stale.plant_session(old_laptop_cookie or "")
    assert (await stale.get("/sites")).status_code == 303
    assert (await phone.sign_in(OWNER)).status_code == 401
    assert (await phone.sign_in(OWNER, "brand new secret")).status_code == 303
