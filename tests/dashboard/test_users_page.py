"""The Users page (installation administrators manage accounts), through HTTP against a real
app and real stores; the last-administrator guard also on both metadata backends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from footfall.accounts.directory import LastAdmin, UserDirectory
from footfall.accounts.models import Role
from footfall.accounts.users import UserStore
from footfall.config import Settings
from footfall.storage.meta import SqlMetaStore
from tests.backends import tier_settings_for
from tests.conftest import FakeClock
from tests.dashboard.conftest import OWNER, PASSWORD, Browser, Dash, _dash

NEW_PASSWORD = "a brand new passphrase"
ADMINS_ONLY = "Only administrators of this installation manage users."


def _row(html: str, user_id: str) -> str:
    """The text of the users table's row of `user_id`, tags removed."""
    found = re.search(rf'<tr data-user-id="{user_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {user_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


async def _create(browser: Browser, email: str, **extra: str) -> int:
    response = await browser.form(
        "/users",
        "/users",
        {"email": email, "password": PASSWORD, "password_confirm": PASSWORD, **extra},
    )
    return response.status_code


async def test_an_admin_creates_accounts_that_can_sign_in(dash: Dash) -> None:
    owner = await dash.owner()
    sites = await owner.get("/sites")
    assert 'href="/users"' in sites.text  # the header links the page for administrators
    page = await owner.get("/users")
    assert page.status_code == 200 and OWNER in page.text

    response = await owner.form(
        "/users",
        "/users",
        {"email": " Bob@Example.org ", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert (response.status_code, response.headers["location"]) == (303, "/users")
    listed = await owner.get("/users")
    assert "Account created." in listed.text
    bob = await dash.users.by_email("bob@example.org")
    assert bob is not None and not bob.is_admin
    assert _row(listed.text, bob.id).startswith("bob@example.org user")

    assert await _create(owner, "carol@example.org", admin="yes") == 303
    carol = await dash.users.by_email("carol@example.org")
    assert carol is not None and carol.is_admin

    # Both sign in with the password they were given; only the administrator sees the link.
    bob_browser = await dash.browser()
    assert (await bob_browser.sign_in("bob@example.org")).status_code == 303
    assert 'href="/users"' not in (await bob_browser.get("/sites")).text
    carol_browser = await dash.browser()
    assert (await carol_browser.sign_in("carol@example.org")).status_code == 303
    assert (await carol_browser.get("/users")).status_code == 200


async def test_the_list_shows_role_sites_and_last_activity(dash: Dash) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    await owner.add_site("blog.example")
    dash.clock.advance(3600)
    bob = await dash.user("bob@example.org")
    bob_id = (await dash.users.by_email("bob@example.org")).id  # type: ignore[union-attr]
    await dash.services_members().set_role(site, bob_id, Role.VIEWER, dash.clock.now())
    idle = await dash.users.create("idle@example.org", PASSWORD, dash.clock.now())
    await bob.get("/sites")
    page = (await owner.get("/users")).text
    owner_id = (await dash.users.by_email(OWNER)).id  # type: ignore[union-attr]
    assert _row(page, owner_id).startswith(f"{OWNER} (you) administrator")
    assert _row(page, owner_id).endswith("all 2 Your account")
    bob_row = _row(page, bob_id)
    when = re.escape(datetime.fromtimestamp(dash.clock.now(), UTC).strftime("%Y-%m-%d %H:%M UTC"))
    assert re.search(rf"bob@example.org user .+ {when} 1 Reset password", bob_row), bob_row
    assert re.search(r"idle@example.org user .+ — 0 Reset password", _row(page, idle.id))


async def test_the_create_form_applies_the_setup_rules(dash: Dash) -> None:
    owner = await dash.owner()
    await owner.get("/users")
    cases = [
        (
            {"email": "x@example.org", "password_confirm": PASSWORD + "x"},
            "The two passwords differ.",
        ),
        (
            {"email": "x@example.org", "password": "short", "password_confirm": "short"},
            "Must be at least 10 characters",
        ),
        ({"email": "nope"}, "is not an email address"),
        ({"email": OWNER.upper()}, f"{OWNER} already has an account"),
        ({"email": "x@example.org", "admin": "maybe"}, "Tick the box or leave it empty."),
    ]
    for fields, message in cases:
        data = {"password": PASSWORD, "password_confirm": PASSWORD, **fields}
        response = await owner.post("/users", data)
        assert response.status_code == 400, (fields, response.status_code)
        assert message in response.text, fields
        assert 'aria-invalid="true"' in response.text or "Tick the box" in message
        assert f'value="{fields["email"]}"' in response.text  # the email is kept
    assert [u.email for u in await dash.users.list()] == [OWNER]


async def test_non_admins_are_refused_on_every_users_route(dash: Dash) -> None:
    await dash.owner()
    owner_id = (await dash.users.by_email(OWNER)).id  # type: ignore[union-attr]
    alice = await dash.user("alice@example.org")
    alice_id = (await dash.users.by_email("alice@example.org")).id  # type: ignore[union-attr]
    page = await alice.get("/sites")
    assert 'href="/users"' not in page.text
    missing = "0" * 32
    gets = ["/users", f"/users/{owner_id}/password", f"/users/{owner_id}/delete"]
    gets += [f"/users/{missing}/password", f"/users/{alice_id}/delete"]
    for path in gets:
        response = await alice.get(path)
        assert response.status_code == 403, path
        assert ADMINS_ONLY in response.text
    await alice.get("/sites")  # a page with a valid token for the forms
    posts = [
        ("/users", {"email": "m@example.org", "password": PASSWORD, "password_confirm": PASSWORD}),
        (
            f"/users/{owner_id}/password",
            {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        ),
        (f"/users/{owner_id}/delete", {"confirm_email": OWNER}),
        (f"/users/{missing}/delete", {"confirm_email": OWNER}),
    ]
    for path, data in posts:
        response = await alice.post(path, data)
        assert response.status_code == 403, path
        assert ADMINS_ONLY in response.text
    assert sorted(u.email for u in await dash.users.list()) == ["alice@example.org", OWNER]
    assert await dash.users.authenticate(OWNER, PASSWORD) is not None
    # Signed out: the usual way to sign-in.
    stranger = await dash.browser()
    response = await stranger.get("/users")
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/users")


async def test_users_forms_refuse_a_missing_token(dash: Dash) -> None:
    owner = await dash.owner()
    bob = await dash.users.create("bob@example.org", PASSWORD, 0.0)
    await owner.get("/users")
    forms = [
        ("/users", {"email": "m@example.org", "password": PASSWORD, "password_confirm": PASSWORD}),
        (f"/users/{bob.id}/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}),
        (f"/users/{bob.id}/delete", {"confirm_email": "bob@example.org"}),
    ]
    for path, data in forms:
        response = await owner.post(path, data, csrf=False)
        assert response.status_code == 403, path
        assert "The form expired. Reload the page and try again." in response.text
    assert sorted(u.email for u in await dash.users.list()) == ["bob@example.org", OWNER]
    assert await dash.users.authenticate("bob@example.org", PASSWORD) is not None


async def test_a_reset_password_works_and_ends_that_users_sessions(dash: Dash) -> None:
    owner = await dash.owner()
    bob_phone = await dash.user("bob@example.org")
    bob_laptop = await dash.browser()
    assert (await bob_laptop.sign_in("bob@example.org")).status_code == 303
    bob_id = (await dash.users.by_email("bob@example.org")).id  # type: ignore[union-attr]

    form = await owner.get(f"/users/{bob_id}/password")
    assert form.status_code == 200 and "bob@example.org" in form.text
    # A refused password changes nothing: Bob stays signed in.
    short = await owner.post(
        f"/users/{bob_id}/password", {"password": "short", "password_confirm": "short"}
    )
    assert short.status_code == 400 and "Must be at least 10 characters" in short.text
    differ = await owner.post(
        f"/users/{bob_id}/password", {"password": NEW_PASSWORD, "password_confirm": PASSWORD}
    )
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    assert (await bob_phone.get("/sites")).status_code == 200

    done = await owner.post(
        f"/users/{bob_id}/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert (done.status_code, done.headers["location"]) == (303, "/users")
    assert "Password set" in (await owner.get("/users")).text
    for browser in (bob_phone, bob_laptop):
        response = await browser.get("/sites")
        assert (response.status_code, response.headers["location"]) == (303, "/login?next=/sites")
    fresh = await dash.browser()
    assert (await fresh.sign_in("bob@example.org")).status_code == 401  # the old password
    assert (await fresh.sign_in("bob@example.org", NEW_PASSWORD)).status_code == 303
    assert (await owner.get("/sites")).status_code == 200  # the admin's session is untouched


async def test_an_admin_resets_their_own_password_only_on_the_account_page(dash: Dash) -> None:
    owner = await dash.owner()
    owner_id = (await dash.users.by_email(OWNER)).id  # type: ignore[union-attr]
    response = await owner.get(f"/users/{owner_id}/password")
    assert response.status_code == 403 and "your account page" in response.text
    await owner.get("/users")
    response = await owner.post(
        f"/users/{owner_id}/password",
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 403
    assert await dash.users.authenticate(OWNER, PASSWORD) is not None


async def test_unknown_user_ids_answer_404_to_admins(dash: Dash) -> None:
    owner = await dash.owner()
    missing = "f" * 32
    for suffix in ("password", "delete"):
        response = await owner.get(f"/users/{missing}/{suffix}")
        assert response.status_code == 404 and "There is no such user." in response.text
    await owner.get("/users")
    response = await owner.post(f"/users/{missing}/delete", {"confirm_email": "x@example.org"})
    assert response.status_code == 404


async def test_deleting_an_account_keeps_its_sites(dash: Dash) -> None:
    owner = await dash.owner()
    bob = await dash.user("bob@example.org")
    bob_site = await bob.add_site("bob.example", "Bob's blog")
    shared = await owner.add_site("shop.example")
    bob_id = (await dash.users.by_email("bob@example.org")).id  # type: ignore[union-attr]
    await dash.services_members().set_role(shared, bob_id, Role.VIEWER, dash.clock.now())

    confirm = await owner.get(f"/users/{bob_id}/delete")
    assert confirm.status_code == 200
    orphaned = re.search(r'<ul id="orphaned-sites">(.*?)</ul>', confirm.text, re.S)
    assert orphaned and "Bob&#39;s blog" in orphaned.group(1)
    assert "shop.example" not in orphaned.group(1)  # Bob does not own it

    wrong = await owner.post(f"/users/{bob_id}/delete", {"confirm_email": "bob@example.com"})
    assert (
        wrong.status_code == 400 and "Type the account&#39;s email address exactly." in wrong.text
    )
    assert await dash.users.get(bob_id) is not None

    done = await owner.post(f"/users/{bob_id}/delete", {"confirm_email": "Bob@Example.org "})
    assert (done.status_code, done.headers["location"]) == (303, "/users")
    assert "Account deleted" in (await owner.get("/users")).text
    assert await dash.users.get(bob_id) is None
    response = await bob.get("/sites")
    assert response.status_code == 303  # Bob's session ended with the account
    # The sites stay; Bob's, now without members, is the administrators' (like a CLI site).
    assert await dash.services.meta.get_site(bob_site) is not None
    assert await dash.services_members().members(bob_site) == []
    assert [m.email for m in await dash.services_members().members(shared)] == [OWNER]
    assert (await owner.get(f"/sites/{bob_site}/settings")).status_code == 200


async def test_an_admin_cannot_delete_themselves(dash: Dash) -> None:
    owner = await dash.owner()
    await dash.users.create("other-admin@example.org", PASSWORD, 0.0, is_admin=True)
    owner_id = (await dash.users.by_email(OWNER)).id  # type: ignore[union-attr]
    page = await owner.get("/users")
    assert f"/users/{owner_id}/delete" not in page.text  # no button for yourself
    response = await owner.get(f"/users/{owner_id}/delete")
    assert response.status_code == 403 and "You cannot delete your own account." in response.text
    response = await owner.post(f"/users/{owner_id}/delete", {"confirm_email": OWNER})
    assert response.status_code == 403
    assert await dash.users.get(owner_id) is not None
    assert (await owner.get("/sites")).status_code == 200


async def test_the_last_admin_is_never_deleted(meta: SqlMetaStore) -> None:
    """On both backends: the directory refuses to delete the only administrator, and two
    administrators deleting each other at once leave one (the check and the deletion are one
    statement; PostgreSQL takes a table lock for it)."""
    users, directory = UserStore(meta.engine), UserDirectory(meta.engine)
    only = await users.create("only@example.org", PASSWORD, 0.0, is_admin=True)
    plain = await users.create("plain@example.org", PASSWORD, 0.0)
    with pytest.raises(LastAdmin):
        await directory.delete(only.id)
    await directory.delete(plain.id)  # not an administrator: no such rule
    assert [u.email for u in await users.list()] == ["only@example.org"]

    for round_ in range(5):
        other = await users.create(f"a{round_}@example.org", PASSWORD, 0.0, is_admin=True)
        survivors = [only, other]
        results = await asyncio.gather(
            directory.delete(only.id), directory.delete(other.id), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, LastAdmin)]
        assert len(refused) == 1 and results.count(None) == 1, results
        remaining = [u for u in await users.list() if u.is_admin]
        assert len(remaining) == 1 and remaining[0].id in {u.id for u in survivors}
        only = remaining[0]


@pytest.fixture(params=["embedded", "cluster"])
async def tier_dash(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Dash]:
    settings: Settings = tier_settings_for(request, tmp_path)
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


async def test_two_admins_deleting_each_other_leave_one(tier_dash: Dash) -> None:
    dash = tier_dash
    first = await dash.owner()
    second = await dash.user("second@example.org", admin=True)
    first_id = (await dash.users.by_email(OWNER)).id  # type: ignore[union-attr]
    second_id = (await dash.users.by_email("second@example.org")).id  # type: ignore[union-attr]
    await first.get(f"/users/{second_id}/delete")
    await second.get(f"/users/{first_id}/delete")
    answers = await asyncio.gather(
        first.post(f"/users/{second_id}/delete", {"confirm_email": "second@example.org"}),
        second.post(f"/users/{first_id}/delete", {"confirm_email": OWNER}),
    )
    admins = [u for u in await dash.users.list() if u.is_admin]
    assert len(admins) == 1
    deleted = [a for a in answers if a.headers.get("location") == "/users"]
    assert len(deleted) == 1, [(a.status_code, a.headers.get("location")) for a in answers]
    other = next(a for a in answers if a is not deleted[0])
    # The other one was either refused by the guard (409) or arrived signed out (its account
    # had gone first): never a second deletion.
    assert other.status_code == 409 or other.headers.get("location", "").startswith("/login")
    if other.status_code == 409:
        assert "is the last administrator of this installation" in other.text


async def test_sharing_offers_admins_to_create_the_missing_account(dash: Dash) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site}/sharing")
    response = await owner.post(
        f"/sites/{site}/sharing", {"email": "New@Example.org", "role": "admin"}
    )
    assert response.status_code == 400 and "No account uses New@Example.org." in response.text
    link = re.search(r'<a class="button secondary small" href="(/users\?[^"]+)"', response.text)
    assert link, response.text
    url = link.group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(url).query)
    assert query["email"] == ["new@example.org"]
    assert query["next"] == [f"/sites/{site}/sharing?email=new%40example.org&role=admin"]

    users_page = await owner.get(url)
    assert users_page.status_code == 200
    assert 'value="new@example.org"' in users_page.text
    created = await owner.post(
        "/users",
        {
            "email": "new@example.org",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "next": query["next"][0],
        },
    )
    assert (created.status_code, created.headers["location"]) == (303, query["next"][0])
    back = await owner.get(created.headers["location"])
    assert "Account created." in back.text
    assert 'value="new@example.org"' in back.text
    assert re.search(r'<option value="admin" selected>', back.text)
    shared = await owner.post(
        f"/sites/{site}/sharing", {"email": "new@example.org", "role": "admin"}
    )
    assert shared.status_code == 303
    members = {m.email: m.role for m in await dash.services_members().members(site)}
    assert members["new@example.org"] is Role.ADMIN
    # An off-site `next` is not followed.
    await owner.get("/users")
    off = await owner.post(
        "/users",
        {
            "email": "third@example.org",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "next": "//evil.example/",
        },
    )
    assert (off.status_code, off.headers["location"]) == (303, "/users")


async def test_sharing_keeps_the_command_line_hint_for_site_admins(dash: Dash) -> None:
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    alice = await dash.user("alice@example.org")
    alice_id = (await dash.users.by_email("alice@example.org")).id  # type: ignore[union-attr]
    await dash.services_members().set_role(site, alice_id, Role.ADMIN, 0.0)
    await alice.get(f"/sites/{site}/sharing")
    response = await alice.post(
        f"/sites/{site}/sharing", {"email": "new@example.org", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "An administrator creates accounts with `footfall users create EMAIL`." in response.text
    assert "/users?" not in response.text and 'href="/users"' not in response.text
