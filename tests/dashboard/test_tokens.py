"""API tokens in the dashboard: shown once with ready-made examples, listed by prefix,
revoked and rotated, each effective on the Realtime API at once."""

from __future__ import annotations

import html
import re

from tests.conftest import CHROME_UA
from tests.dashboard.conftest import Browser, Dash

TOKEN = re.compile(r"vt_[0-9A-Za-z]{36}")


async def _realtime(browser: Browser, site_id: str, token: str) -> tuple[int, dict[str, object]]:
    response = await browser.client.get(
        "/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


async def test_generate_use_list_revoke(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    page = await owner.get(f"/sites/{site_id}/tokens")
    assert "No active token." in page.text
    assert "vt_your_api_token_here" in page.text  # the examples, before there is a token

    created = await owner.post(f"/sites/{site_id}/tokens", {"name": "pricing card"})
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    text = html.unescape(created.text)
    tokens = set(TOKEN.findall(text))
    assert len(tokens) == 1
    token = tokens.pop()
    assert "Copy it now: it is not shown again." in text
    url = f"http://testserver/api/v1/realtime?websiteId={site_id}"
    assert f'curl "{url}" \\\n  -H "Authorization: Bearer {token}"' in text
    assert f"fetch('{url}', {{\n  headers: {{ 'Authorization': 'Bearer {token}' }}" in text

    await owner.client.post(
        "/api/event",
        json={"websiteId": site_id, "name": "pageview", "url": "https://shop.example/"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "203.0.113.7"},
    )
    status, body = await _realtime(owner, site_id, token)
    assert (status, body["currentVisitors"]) == (200, 1)

    listing = await owner.get(f"/sites/{site_id}/tokens")
    assert token not in listing.text  # never shown again
    assert f"<code>{token[:9]}…</code>" in listing.text
    assert "pricing card" in listing.text
    last_used = re.search(
        r'<td data-label="Last used">(<time[^>]*>[^<]*</time>|never)</td>\s*<td class="actions"',
        listing.text,
    )
    assert last_used and last_used.group(1) != "never"

    info = (await dash.services.meta.list_tokens(site_id))[0]
    revoked = await owner.post(f"/sites/{site_id}/tokens/{info.id}/revoke")
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"/sites/{site_id}/tokens")
    status, body = await _realtime(owner, site_id, token)
    assert (status, body) == (401, {"error": "No API token configured for this website"})
    after = await owner.get(f"/sites/{site_id}/tokens")
    assert "Token revoked." in after.text and "Revoked tokens (1)" in after.text
    again = await owner.post(f"/sites/{site_id}/tokens/{info.id}/revoke")
    assert again.status_code == 403  # not an active token any more


async def test_rotate_replaces_the_token_in_one_step(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site_id}/tokens")
    first = TOKEN.findall((await owner.post(f"/sites/{site_id}/tokens", {"name": "api"})).text)[0]
    old = (await dash.services.meta.list_tokens(site_id))[0]
    rotated = await owner.post(f"/sites/{site_id}/tokens/{old.id}/rotate")
    assert rotated.status_code == 200
    assert f"The old token ({old.prefix}…) no longer works." in html.unescape(rotated.text)
    new = [t for t in set(TOKEN.findall(rotated.text)) if t != first]
    assert len(new) == 1
    assert (await _realtime(owner, site_id, first))[0] == 401
    assert (await _realtime(owner, site_id, new[0]))[0] == 200
    listed = await dash.services.meta.list_tokens(site_id)
    assert sorted((t.name, t.revoked_at is None) for t in listed) == [("api", False), ("api", True)]


async def test_another_sites_token_cannot_be_revoked_through_this_site(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    theirs = await owner.add_site("owner.example")
    secret, info = await dash.services.meta.create_token(theirs, dash.clock.now())
    mine = await alice.add_site("alice.example")
    await alice.get(f"/sites/{mine}/tokens")
    for action in ("revoke", "rotate"):
        response = await alice.post(f"/sites/{mine}/tokens/{info.id}/{action}")
        assert response.status_code == 403, action
    assert (await _realtime(owner, theirs, secret))[0] == 200


async def test_token_names_are_bounded(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site_id}/tokens")
    refused = await owner.post(f"/sites/{site_id}/tokens", {"name": "x" * 201})
    assert refused.status_code == 400 and "at most 200 characters" in refused.text
    assert await dash.services.meta.list_tokens(site_id) == []
