"""The dashboard's Live counter page: publishable keys created with their widget snippet,
listed in full, revoked — each effective on the live endpoints at once."""

from __future__ import annotations

import html
import re

from tests.dashboard.conftest import Browser, Dash

KEY = re.compile(r"pk_[0-9A-Za-z]{30}")
ORIGIN = "https://shop.example"


async def _live(browser: Browser, key: str, path: str = "/pricing") -> tuple[int, object]:
    response = await browser.client.get(
        "/api/v1/live", params={"key": key, "path": path}, headers={"Origin": ORIGIN}
    )
    return response.status_code, response.json()


async def test_create_use_list_revoke(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    page = await owner.get(f"/sites/{site_id}/live")
    assert page.status_code == 200
    assert f">{ORIGIN}</textarea>" in page.text  # the site's own origin, prefilled
    assert "No publishable key yet." in page.text
    assert f'href="/sites/{site_id}/live" aria-current="page"' in page.text  # its tab

    created = await owner.post(
        f"/sites/{site_id}/live",
        {"origins": f"{ORIGIN}\nhttp://localhost:3000", "paths": "/pricing", "name": "card"},
    )
    assert created.status_code == 200
    text = html.unescape(created.text)
    (key,) = set(KEY.findall(text))
    assert (
        f'<script src="http://testserver/widget.js" data-key="{key}" data-path="/pricing">'
        "</script>" in text
    )
    status, body = await _live(owner, key)
    assert status == 200 and isinstance(body, dict)
    assert (body["currentVisitors"], body["path"]) == (0, "/pricing")  # the key works at once

    listing = html.unescape((await owner.get(f"/sites/{site_id}/live")).text)
    assert key in listing  # public: listed in full
    assert f"{ORIGIN}, http://localhost:3000" in listing and "card" in listing

    (info,) = await dash.services.keys.list_keys(site_id)
    revoked = await owner.post(f"/sites/{site_id}/live/{info.id}/revoke")
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"/sites/{site_id}/live")
    assert await _live(owner, key) == (401, {"error": "Invalid publishable key"})
    after = await owner.get(f"/sites/{site_id}/live")
    assert "Key revoked." in after.text and "Revoked keys (1)" in after.text
    again = await owner.post(f"/sites/{site_id}/live/{info.id}/revoke")
    assert again.status_code == 403  # not an active key any more


async def test_invalid_origins_and_paths_say_why(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site_id}/live")
    for origins, paths, reason in (
        ("", "", "Origins: give at least one origin"),
        ("shop.example", "", "Not an origin: &#39;shop.example&#39;"),
        (ORIGIN, "pricing", "Path &#39;pricing&#39;: must start with"),
    ):
        refused = await owner.post(f"/sites/{site_id}/live", {"origins": origins, "paths": paths})
        assert refused.status_code == 400 and reason in refused.text, refused.text[-3000:]
    assert await dash.services.keys.list_keys(site_id) == []


async def test_only_owners_and_admins_manage_keys(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    site_id = await owner.add_site("shop.example")
    await owner.form(
        f"/sites/{site_id}/sharing",
        f"/sites/{site_id}/sharing",
        {"email": "alice@example.org", "role": "viewer"},
    )
    assert (await alice.get(f"/sites/{site_id}/live")).status_code == 403
    key = await dash.services.keys.create(site_id, dash.clock.now(), origins=[ORIGIN])
    other = await alice.add_site("alice.example")
    await alice.get(f"/sites/{other}/live")
    # Another site's key cannot be revoked through a site one manages.
    assert (await alice.post(f"/sites/{other}/live/{key.id}/revoke")).status_code == 403
    assert (await _live(owner, key.key, "/"))[0] == 200
