"""Sites in the dashboard: list, add, install snippet and live status, settings, deletion,
sharing."""

from __future__ import annotations

import html
import re

from footfall.accounts.models import Role
from footfall.clock import iso_millis
from tests.conftest import CHROME_UA
from tests.dashboard.conftest import Browser, Dash


async def _pageview(owner: Browser, site_id: str, domain: str) -> None:
    response = await owner.client.post(
        "/api/event",
        json={"websiteId": site_id, "name": "pageview", "url": f"https://{domain}/"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.status_code == 202, response.text


async def test_add_a_site_then_see_the_snippet_and_the_waiting_state_turn_live(dash: Dash) -> None:
    owner = await dash.owner()
    empty = await owner.get("/sites")
    assert "No sites yet" in empty.text
    page = await owner.get("/sites/new")
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page.text
    response = await owner.post(
        "/sites/new",
        {
            "domain": "https://WWW.Shop.example/pricing",
            "name": "My shop",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 303
    site_id = response.headers["location"].split("/")[2]
    assert response.headers["location"] == f"/sites/{site_id}/install"
    site = await dash.services.meta.get_site(site_id)
    assert site is not None
    assert (site.domain, site.name, site.timezone) == (
        "www.shop.example",
        "My shop",
        "Europe/Berlin",
    )
    # The creator owns it.
    users = await dash.users.list()
    members = await dash.services_members().members(site_id)
    assert [(m.user_id, m.role) for m in members] == [(users[0].id, Role.OWNER)]

    install = await owner.get(f"/sites/{site_id}/install")
    assert "Site added. Paste the snippet into your pages." in install.text
    snippet = html.unescape(
        re.search(r'id="snippet".*?<code>(.*?)</code>', install.text, re.S).group(1)
    )
    assert snippet == (
        f'<script defer src="http://testserver/script.js" data-website-id="{site_id}"></script>'
    )
    assert "Waiting for the first pageview" in install.text
    assert f'data-status-url="/sites/{site_id}/status"' in install.text
    status = await owner.get(f"/sites/{site_id}/status")
    assert status.json() == {
        "websiteId": site_id,
        "receiving": False,
        "firstEventAt": None,
        "currentVisitors": 0,
    }
    assert status.headers["cache-control"] == "no-store"

    await _pageview(owner, site_id, "www.shop.example")
    status = await owner.get(f"/sites/{site_id}/status")
    assert status.json() == {
        "websiteId": site_id,
        "receiving": True,
        "firstEventAt": iso_millis(dash.clock.now()),
        "currentVisitors": 1,
    }
    live = await owner.get(f"/sites/{site_id}/install")
    assert "Receiving events" in live.text and "is-live" in live.text
    assert "1 current visitor." in live.text
    listing = await owner.get("/sites")
    assert "My shop" in listing.text and "www.shop.example" in listing.text


async def test_snippet_names_the_public_url_when_one_is_set(dash: Dash) -> None:
    dash.services.settings.public_url = "https://stats.example.org/"
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    install = await owner.get(f"/sites/{site_id}/install")
    assert "https://stats.example.org/script.js" in html.unescape(install.text)


async def test_add_site_errors_name_the_field(dash: Dash) -> None:
    owner = await dash.owner()
    await owner.get("/sites/new")
    bad_domain = await owner.post("/sites/new", {"domain": "", "timezone": "UTC"})
    assert bad_domain.status_code == 400
    assert "Enter the domain the site is served on" in bad_domain.text
    bad_zone = await owner.post("/sites/new", {"domain": "shop.example", "timezone": "Mars/Base"})
    assert bad_zone.status_code == 400 and "Unknown time zone" in bad_zone.text
    assert 'value="shop.example"' in bad_zone.text  # what was typed is kept
    assert await dash.services.meta.list_sites() == []


async def test_settings_are_saved_and_validated(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    form = await owner.get(f"/sites/{site_id}/settings")
    assert form.status_code == 200 and 'name="live_min_count" type="number" value="0"' in form.text
    saved = await owner.post(
        f"/sites/{site_id}/settings",
        {
            "name": "Shop",
            "timezone": "America/New_York",
            "allowed_hostnames": "shop-staging.example.net\n*.cdn.example",
            "honor_gpc": "on",
            "retention_days": "400",
            "live_min_count": "3",
        },
    )
    assert (saved.status_code, saved.headers["location"]) == (303, f"/sites/{site_id}/settings")
    site = await dash.services.meta.get_site(site_id)
    assert site is not None
    assert (site.name, site.timezone, site.allowed_hostnames) == (
        "Shop",
        "America/New_York",
        ("shop-staging.example.net", "*.cdn.example"),
    )
    assert (site.honor_gpc, site.retention_days, site.live_min_count) == (True, 400, 3)
    page = await owner.get(f"/sites/{site_id}/settings")
    assert "Settings saved." in page.text and "*.cdn.example" in page.text

    cases = [
        ({"retention_days": "forever"}, "Must be a whole number", "retention_days"),
        ({"retention_days": "0"}, "Must be between 1 and 36500", "retention_days"),
        ({"live_min_count": ""}, "Required", "live_min_count"),
        ({"name": " "}, "Must be 1 to 200 characters", "name"),
        ({"allowed_hostnames": "not a host"}, "Not a hostname", "allowed_hostnames"),
    ]
    base = {"name": "Shop", "timezone": "UTC", "live_min_count": "0"}
    for change, message, field in cases:
        refused = await owner.post(f"/sites/{site_id}/settings", {**base, **change})
        assert refused.status_code == 400, change
        assert message in refused.text, (change, refused.text[-3000:])
        assert f'id="f-{field}-error"' in refused.text, change
    unchanged = await dash.services.meta.get_site(site_id)
    assert unchanged == site


async def test_delete_needs_the_domain_typed_and_the_owner_role(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    admin = await dash.user("admin@example.org")
    await owner.form(
        f"/sites/{site_id}/sharing",
        f"/sites/{site_id}/sharing",
        {"email": "admin@example.org", "role": "admin"},
    )
    assert (await admin.get(f"/sites/{site_id}/delete")).status_code == 403
    settings = await admin.get(f"/sites/{site_id}/settings")
    assert settings.status_code == 200 and f"/sites/{site_id}/delete" not in settings.text

    page = await owner.get(f"/sites/{site_id}/delete")
    assert "Type <strong>shop.example</strong> to confirm" in page.text
    wrong = await owner.post(f"/sites/{site_id}/delete", {"confirm_domain": "shop"})
    assert wrong.status_code == 400 and "Type shop.example to confirm." in wrong.text
    assert await dash.services.meta.get_site(site_id) is not None
    done = await owner.post(f"/sites/{site_id}/delete", {"confirm_domain": " Shop.Example "})
    assert (done.status_code, done.headers["location"]) == (303, "/sites")
    assert await dash.services.meta.get_site(site_id) is None
    assert "Site deleted." in (await owner.get("/sites")).text
    assert (await owner.get(f"/sites/{site_id}")).status_code == 404
    assert (await admin.get(f"/sites/{site_id}")).status_code == 404


async def test_sharing_adds_changes_and_removes_access(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    friend = await dash.user("friend@example.org")
    assert (await friend.get(f"/sites/{site_id}")).status_code == 404

    await owner.get(f"/sites/{site_id}/sharing")
    unknown = await owner.post(
        f"/sites/{site_id}/sharing", {"email": "nobody@example.org", "role": "viewer"}
    )
    assert unknown.status_code == 400 and "No account uses nobody@example.org" in unknown.text
    bad_role = await owner.post(
        f"/sites/{site_id}/sharing", {"email": "friend@example.org", "role": "owner"}
    )
    assert bad_role.status_code == 400 and "Choose viewer or admin." in bad_role.text
    shared = await owner.post(
        f"/sites/{site_id}/sharing", {"email": "Friend@Example.org", "role": "viewer"}
    )
    assert shared.status_code == 303
    page = await owner.get(f"/sites/{site_id}/sharing")
    assert "Access shared." in page.text and "friend@example.org" in page.text
    assert (await friend.get(f"/sites/{site_id}")).status_code == 200
    assert "shop.example" in (await friend.get("/sites")).text

    friend_id = (await dash.users.by_email("friend@example.org")).id
    promoted = await owner.post(f"/sites/{site_id}/sharing/{friend_id}/role", {"role": "admin"})
    assert promoted.status_code == 303
    assert (await friend.get(f"/sites/{site_id}/settings")).status_code == 200
    # The new admin may share too, but not change their own access or the owner's.
    await friend.get(f"/sites/{site_id}/sharing")
    own = await friend.post(f"/sites/{site_id}/sharing/{friend_id}/remove")
    assert own.status_code == 403 and "your own access" in own.text
    owner_id = (await dash.users.by_email("owner@example.org")).id
    await friend.get(f"/sites/{site_id}/sharing")
    demote_owner = await friend.post(
        f"/sites/{site_id}/sharing/{owner_id}/role", {"role": "viewer"}
    )
    assert demote_owner.status_code == 403

    await owner.get(f"/sites/{site_id}/sharing")
    removed = await owner.post(f"/sites/{site_id}/sharing/{friend_id}/remove")
    assert removed.status_code == 303
    assert (await friend.get(f"/sites/{site_id}")).status_code == 404
    assert await dash.users.by_email("friend@example.org") is not None  # the account stays


async def test_header_lists_the_users_sites(dash: Dash) -> None:
    owner = await dash.owner()
    first = await owner.add_site("one.example", "First")
    await owner.add_site("two.example", "Second")
    page = await owner.get(f"/sites/{first}")
    menu = page.text[page.text.index("data-site-menu") : page.text.index("</details>")]
    assert "First" in menu and "Second" in menu
    current = re.findall(r'href="/sites/([0-9a-f-]+)"[^>]*aria-current="page"', menu)
    assert current == [first]
