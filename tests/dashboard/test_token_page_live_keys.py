"""Publishable keys on the API token page: listed with a ready widget snippet each, created
from a form there (handled by the Live counter tab, with its CSRF and role checks), and the
widget guide the dashboard links to. Over HTTP, as a browser submitting the pages' forms."""

from __future__ import annotations

import html
import re

from tests.dashboard.conftest import Browser, Dash, csrf_of

KEY = re.compile(r"pk_[0-9A-Za-z]{30}")
ORIGIN = "https://shop.example"
SECTION = re.compile(r'<section class="panel" id="live-keys".*?</section>', re.S)


def live_section(page_html: str) -> str:
    """The token page's publishable-key section (the rest of the page is about tokens)."""
    found = SECTION.search(page_html)
    assert found, "no publishable-key section on the token page"
    return found.group(0)


def script_tag(key: str, path: str | None = None) -> str:
    data_path = f' data-path="{path}"' if path else ""
    return f'<script src="http://testserver/widget.js" data-key="{key}"{data_path}></script>'


async def live_status(browser: Browser, key: str) -> int:
    response = await browser.client.get(
        "/api/v1/live", params={"key": key, "path": "/pricing"}, headers={"Origin": ORIGIN}
    )
    return response.status_code


async def test_token_page_creates_and_lists_keys_with_their_snippets(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    page = await owner.get(f"/sites/{site_id}/tokens")
    assert page.status_code == 200
    section = live_section(page.text)
    assert "Publishable keys for the live counter" in section
    assert "No publishable key yet." in section
    assert f'<form method="post" action="/sites/{site_id}/live" class="stack">' in section
    assert f'name="csrf_token" value="{csrf_of(page.text)}"' in section
    assert f">{ORIGIN}</textarea>" in section  # the site's own origin, prefilled
    assert f'href="/sites/{site_id}/live">Live counter</a>' in section  # the full tab
    assert f'href="/sites/{site_id}/live#widget-guide"' in section  # the guide
    assert 'href="#live-keys"' in page.text  # the token panel points here

    # Submitted from the token page: the Live counter tab's handler answers with the key.
    created = await owner.post(
        f"/sites/{site_id}/live", {"origins": ORIGIN, "paths": "/pricing", "name": "card"}
    )
    assert created.status_code == 200
    (key,) = set(KEY.findall(created.text))
    assert script_tag(key, "/pricing") in html.unescape(created.text)
    assert await live_status(owner, key) == 200  # the key works at once

    # Listed in full on the token page, its snippet ready to copy again, then and later.
    other = await dash.services.keys.create(site_id, dash.clock.now(), origins=[ORIGIN])
    for _ in range(2):
        section = html.unescape(live_section((await owner.get(f"/sites/{site_id}/tokens")).text))
        assert "No publishable key yet." not in section
        assert f"<code>{key}</code>" in section and "card" in section
        assert script_tag(key, "/pricing") in section
        assert script_tag(other.key) in section  # a key for every page: no data-path
        assert f'id="pk-snippet-{other.id}"' in section


async def test_the_live_tab_shows_every_active_keys_snippet_and_the_guide(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    kept = await dash.services.keys.create(
        site_id, dash.clock.now(), origins=[ORIGIN], paths=["/pricing/*"], name="plans"
    )
    gone = await dash.services.keys.create(site_id, dash.clock.now(), origins=[ORIGIN])
    await owner.get(f"/sites/{site_id}/live")
    revoked = await owner.post(f"/sites/{site_id}/live/{gone.id}/revoke")
    assert revoked.status_code == 303

    page = await owner.get(f"/sites/{site_id}/live")  # no key just created: a plain listing
    text = html.unescape(page.text)
    assert script_tag(kept.key, "/pricing/*") in text
    assert f'data-copy="snippet-{kept.id}"' in text  # with its copy button
    assert script_tag(gone.key) not in text  # a revoked key offers no snippet
    assert "Your new publishable key" not in text
    # "live-counter widget" leads to the guide on this page, which says what a user needs.
    assert '<a href="#widget-guide">live-counter widget</a>' in page.text
    assert 'id="widget-guide"' in page.text
    guide = text[text.index('id="widget-guide"') :]
    assert "The count includes the visitor reading it" in guide
    assert 'data-min="2"' in guide and "data-fallback" in guide
    assert "docs/api/live-counter.md" in guide
    # Its pricing-card example carries the newest active key's snippet, ready to paste.
    assert f'<p class="live">{script_tag(kept.key, "/pricing/*")}</p>' in guide
    assert 'data-copy="pricing-card"' in guide


async def test_the_guides_example_has_a_placeholder_until_there_is_a_key(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    text = html.unescape((await owner.get(f"/sites/{site_id}/live")).text)
    placeholder = '<script src="http://testserver/widget.js" data-key="pk_…" data-path="/pricing">'
    assert f'<p class="live">{placeholder}</script></p>' in text


async def test_invalid_input_from_the_token_page_says_why(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site_id}/tokens")
    refused = await owner.post(f"/sites/{site_id}/live", {"origins": "shop.example"})
    assert refused.status_code == 400
    assert "Not an origin: &#39;shop.example&#39;" in refused.text
    assert ">shop.example</textarea>" in refused.text  # what was typed, kept to correct
    assert await dash.services.keys.list_keys(site_id) == []


async def test_the_form_needs_the_pages_csrf_token(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    page = await owner.get(f"/sites/{site_id}/tokens")
    fields = {"origins": ORIGIN, "paths": "", "name": "x"}
    for token in ("", "0" * 64):
        response = await owner.post(
            f"/sites/{site_id}/live", {**fields, "csrf_token": token}, csrf=False
        )
        assert response.status_code == 403, token
    assert await dash.services.keys.list_keys(site_id) == []
    ok = await owner.post(f"/sites/{site_id}/live", {**fields, "csrf_token": csrf_of(page.text)})
    assert ok.status_code == 200 and len(await dash.services.keys.list_keys(site_id)) == 1


async def test_admins_manage_keys_from_the_token_page_viewers_cannot(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    for email, role in (("admin@example.org", "admin"), ("viewer@example.org", "viewer")):
        await dash.user(email)
        shared = await owner.form(
            f"/sites/{site_id}/sharing", f"/sites/{site_id}/sharing", {"email": email, "role": role}
        )
        assert shared.status_code == 303, shared.text[-2000:]
    admin = await dash.browser()
    assert (await admin.sign_in("admin@example.org")).status_code == 303
    viewer = await dash.browser()
    assert (await viewer.sign_in("viewer@example.org")).status_code == 303

    page = await admin.get(f"/sites/{site_id}/tokens")
    assert page.status_code == 200 and "Create publishable key" in live_section(page.text)
    made = await admin.post(f"/sites/{site_id}/live", {"origins": ORIGIN, "name": "by admin"})
    assert made.status_code == 200

    assert (await viewer.get(f"/sites/{site_id}/tokens")).status_code == 403
    await viewer.get(f"/sites/{site_id}")  # a page of theirs, for a valid CSRF token
    refused = await viewer.post(f"/sites/{site_id}/live", {"origins": ORIGIN, "name": "x"})
    assert refused.status_code == 403
    assert [k.name for k in await dash.services.keys.list_keys(site_id)] == ["by admin"]
