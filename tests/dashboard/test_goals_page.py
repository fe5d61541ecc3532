"""The dashboard's Goals page: goals added (page patterns and custom events, validated as
`footfall goals add` validates them), listed, deleted after a confirmation — each change
showing in the stats answers at once; owners and admins only, CSRF-protected."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from footfall.storage.goals import GoalStore
from tests.conftest import CHROME_UA
from tests.dashboard.conftest import Browser, Dash

GOAL_ROW = re.compile(r'<tr data-goal-id="([0-9a-f]+)">(.*?)</tr>', re.S)


async def _hit(dash: Dash, site_id: str, path: str, ip: str, name: str = "pageview") -> None:
    client = await dash.browser()
    response = await client.client.post(
        "/api/event",
        json={"websiteId": site_id, "name": name, "url": f"https://shop.example{path}"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip},
    )
    assert response.status_code == 202, response.text


async def _goal_rows(browser: Browser, site_id: str) -> list[tuple[str, str]]:
    """(name, what it counts) of each goal the page lists, in its order."""
    page = await browser.get(f"/sites/{site_id}/goals")
    assert page.status_code == 200, page.text[-2000:]
    rows = []
    for _, row in GOAL_ROW.findall(page.text):
        name = re.search(r'<td data-label="Name"><a [^>]*>(.*?)</a>', row)
        counts = re.search(r'<td data-label="Counts"><code>(.*?)</code>', row)
        assert name and counts, row
        rows.append((html.unescape(name.group(1)), html.unescape(counts.group(1))))
    return rows


async def _goal_breakdown(browser: Browser, site_id: str) -> list[tuple[str, Any, Any]]:
    response = await browser.get(
        f"/sites/{site_id}/stats/breakdown",
        params={"period": "day", "property": "event:goal", "metrics": "visitors,events"},
    )
    assert response.status_code == 200, response.text
    return [(r["value"], r["visitors"], r["events"]) for r in response.json()["results"]]


async def test_add_list_and_delete_goals_change_the_stats_at_once(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await _hit(dash, site_id, "/product/42/buy", "198.51.100.1")
    await _hit(dash, site_id, "/product/7/buy", "198.51.100.2")
    await _hit(dash, site_id, "/product/7/buy", "198.51.100.2")
    await _hit(dash, site_id, "/product/7/buy/now", "198.51.100.3")  # `*` stays in a segment
    await _hit(dash, site_id, "/pricing", "198.51.100.3", name="signup")

    empty = await owner.get(f"/sites/{site_id}/goals")
    assert empty.status_code == 200
    assert f'href="/sites/{site_id}/goals" aria-current="page"' in empty.text  # its tab
    assert "No goals yet." in empty.text
    assert await _goal_breakdown(owner, site_id) == []

    added = await owner.post(
        f"/sites/{site_id}/goals", {"kind": "pageview", "page": "/product/*/buy", "name": ""}
    )
    assert (added.status_code, added.headers["location"]) == (303, f"/sites/{site_id}/goals")
    assert await _goal_breakdown(owner, site_id) == [("Visit /product/*/buy", 2, 3)]

    dash.clock.advance(60)  # goals are listed oldest first
    added = await owner.post(
        f"/sites/{site_id}/goals", {"kind": "event", "event": "signup", "name": "Signed up"}
    )
    assert added.status_code == 303
    assert await _goal_breakdown(owner, site_id) == [
        ("Visit /product/*/buy", 2, 3),
        ("Signed up", 1, 1),
    ]

    listing = await owner.get(f"/sites/{site_id}/goals")
    assert "Goal added." in listing.text
    assert await _goal_rows(owner, site_id) == [
        ("Visit /product/*/buy", "/product/*/buy"),
        ("Signed up", "signup"),
    ]
    # Each name links to the dashboard filtered by the goal.
    filters = json.dumps([["is", "event:goal", ["Signed up"]]], separators=(",", ":"))
    assert f'href="/sites/{site_id}?filters=' in listing.text
    link = re.search(rf'href="/sites/{site_id}\?filters=([^"]+)">Signed up<', listing.text)
    assert link is not None
    assert unquote_plus(html.unescape(link.group(1))) == filters

    # Delete: a confirmation page first, then the POST.
    stored = await GoalStore(dash.services.meta.engine).for_site(site_id)
    buy = next(goal for goal in stored if goal.kind == "pageview")
    confirm = await owner.get(f"/sites/{site_id}/goals/{buy.id}/delete")
    assert confirm.status_code == 200
    assert "Delete the goal “Visit /product/*/buy”?" in html.unescape(confirm.text)
    assert f'action="/sites/{site_id}/goals/{buy.id}/delete"' in confirm.text
    assert len(await GoalStore(dash.services.meta.engine).for_site(site_id)) == 2  # not yet

    deleted = await owner.post(f"/sites/{site_id}/goals/{buy.id}/delete")
    assert (deleted.status_code, deleted.headers["location"]) == (303, f"/sites/{site_id}/goals")
    assert await _goal_breakdown(owner, site_id) == [("Signed up", 1, 1)]
    assert "Goal deleted." in (await owner.get(f"/sites/{site_id}/goals")).text
    assert await _goal_rows(owner, site_id) == [("Signed up", "signup")]
    # Deleted already: nothing to confirm or delete.
    assert (await owner.get(f"/sites/{site_id}/goals/{buy.id}/delete")).status_code == 404
    assert (await owner.post(f"/sites/{site_id}/goals/{buy.id}/delete")).status_code == 404


async def test_the_goal_filter_of_the_stats_accepts_a_goal_added_in_the_dashboard(
    dash: Dash,
) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await _hit(dash, site_id, "/blog/", "198.51.100.1")
    await _hit(dash, site_id, "/blog/a/b", "198.51.100.2")
    await _hit(dash, site_id, "/blog", "198.51.100.3")  # `/blog/**` needs the slash
    params = {
        "period": "day",
        "metrics": "conversions,events",
        "filters": json.dumps([["is", "event:goal", ["Blog"]]]),
    }
    before = await owner.get(f"/sites/{site_id}/stats/aggregate", params=params)
    assert before.status_code == 400 and "unknown goal" in before.json()["error"]
    await owner.get(f"/sites/{site_id}/goals")
    added = await owner.post(
        f"/sites/{site_id}/goals", {"kind": "pageview", "page": "/blog/**", "name": "Blog"}
    )
    assert added.status_code == 303
    after = await owner.get(f"/sites/{site_id}/stats/aggregate", params=params)
    assert after.status_code == 200, after.text
    assert after.json()["results"] == {"conversions": {"value": 2}, "events": {"value": 2}}


async def test_invalid_goals_are_refused_with_the_reason_beside_the_field(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    await owner.get(f"/sites/{site_id}/goals")
    first = await owner.post(
        f"/sites/{site_id}/goals", {"kind": "pageview", "page": "/pricing", "name": "Pricing"}
    )
    assert first.status_code == 303
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"kind": "pageview", "page": ""}, "pageview-page", "Give a path pattern."),
        (
            {"kind": "pageview", "page": "pricing"},
            "pageview-page",
            "Page pattern 'pricing' must start with /.",
        ),
        (
            {"kind": "pageview", "page": "/a b"},
            "pageview-page",
            "Page pattern: no spaces or control characters.",
        ),
        (
            {"kind": "pageview", "page": "/search?q=1"},
            "pageview-page",
            "Page pattern: paths are matched without query string or fragment; remove ? and #.",
        ),
        (
            {"kind": "pageview", "page": "/a/***"},
            "pageview-page",
            "Page pattern: use * (within a segment) or ** (across segments).",
        ),
        (
            {"kind": "pageview", "page": "/" + "a" * 500},
            "pageview-page",
            "Page pattern: at most 500 characters.",
        ),
        (
            {"kind": "pageview", "page": "/pricing", "name": "Again"},
            "pageview-page",
            "The goal \"Pricing\" already counts the page pattern '/pricing'.",
        ),
        (
            {"kind": "pageview", "page": "/about", "name": "Pricing"},
            "pageview-name",
            "Another goal is already named 'Pricing': choose another name.",
        ),
        ({"kind": "event", "event": ""}, "event-event", "Give an event name."),
        (
            {"kind": "event", "event": "sign up"},
            "event-event",
            "Event name: 1 to 120 characters, no spaces or control characters.",
        ),
        (
            {"kind": "event", "event": "pageview"},
            "event-event",
            "Pageviews are counted by page goals: add a page goal instead.",
        ),
        (
            {"kind": "event", "event": "signup", "name": "x" * 201},
            "event-name",
            "Name: 1 to 200 characters, no control characters.",
        ),
    ]
    for fields, field_id, message in cases:
        refused = await owner.post(f"/sites/{site_id}/goals", fields)
        assert refused.status_code == 400, (fields, refused.status_code)
        text = html.unescape(refused.text)
        assert f'<p class="error" id="f-{field_id}-error">{message}</p>' in text, (fields, text)
        assert f'id="f-{field_id}"' in text and 'aria-invalid="true"' in text
        if fields.get("page") or fields.get("event"):  # what was typed is kept
            typed = fields.get("page") or fields.get("event") or ""
            assert f'value="{typed}"' in text
    no_kind = await owner.post(f"/sites/{site_id}/goals", {"kind": "visit", "page": "/x"})
    assert no_kind.status_code == 400
    assert "Choose the kind of goal: a page or a custom event." in no_kind.text
    stored = await GoalStore(dash.services.meta.engine).for_site(site_id)
    assert [goal.name for goal in stored] == ["Pricing"]  # nothing else was added


async def test_the_forms_refuse_a_missing_or_wrong_csrf_token(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    store = GoalStore(dash.services.meta.engine)
    goal = await store.create(site_id, "event", "signup", dash.clock.now())
    await owner.get(f"/sites/{site_id}/goals")
    for token in (None, "0" * 64):
        fields = {"kind": "pageview", "page": "/signup"}
        if token is not None:
            fields["csrf_token"] = token
        refused = await owner.post(f"/sites/{site_id}/goals", fields, csrf=False)
        assert refused.status_code == 403
        assert "The form expired. Reload the page and try again." in refused.text
        extra = {} if token is None else {"csrf_token": token}
        refused = await owner.post(f"/sites/{site_id}/goals/{goal.id}/delete", extra, csrf=False)
        assert refused.status_code == 403
    from_elsewhere = await owner.post(
        f"/sites/{site_id}/goals/{goal.id}/delete", headers={"Origin": "https://evil.example"}
    )
    assert from_elsewhere.status_code == 403
    assert await store.for_site(site_id) == [goal]  # nothing added, nothing deleted


async def test_viewers_get_403_and_other_users_sites_404(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    site_id = await owner.add_site("shop.example")
    store = GoalStore(dash.services.meta.engine)
    goal = await store.create(site_id, "event", "signup", dash.clock.now())
    await owner.form(
        f"/sites/{site_id}/sharing",
        f"/sites/{site_id}/sharing",
        {"email": "alice@example.org", "role": "viewer"},
    )
    mine = await alice.add_site("alice.example")
    await alice.get(f"/sites/{mine}/goals")  # a page with a valid token for the POSTs
    # A viewer sees the dashboard but not the Goals tab, and may not manage goals.
    overview = await alice.get(f"/sites/{site_id}")
    assert overview.status_code == 200 and f"/sites/{site_id}/goals" not in overview.text
    for method, path, fields in (
        ("GET", f"/sites/{site_id}/goals", {}),
        ("POST", f"/sites/{site_id}/goals", {"kind": "event", "event": "buy"}),
        ("GET", f"/sites/{site_id}/goals/{goal.id}/delete", {}),
        ("POST", f"/sites/{site_id}/goals/{goal.id}/delete", {}),
    ):
        response = await (alice.get(path) if method == "GET" else alice.post(path, fields))
        assert response.status_code == 403, (method, path)
        assert "This needs the admin role" in response.text
    # Sites she may not see, and sites that do not exist, answer 404 alike.
    theirs = await owner.add_site("owner.example")
    missing = "00000000-0000-4000-8000-000000000000"
    for site in (theirs, missing):
        for method, path, fields in (
            ("GET", f"/sites/{site}/goals", {}),
            ("POST", f"/sites/{site}/goals", {"kind": "event", "event": "buy"}),
            ("GET", f"/sites/{site}/goals/{goal.id}/delete", {}),
            ("POST", f"/sites/{site}/goals/{goal.id}/delete", {}),
        ):
            response = await (alice.get(path) if method == "GET" else alice.post(path, fields))
            assert response.status_code == 404, (method, path)
            assert "owner.example" not in response.text
    # Her own site's pages do not reach another site's goal.
    assert (await alice.get(f"/sites/{mine}/goals/{goal.id}/delete")).status_code == 404
    assert (await alice.post(f"/sites/{mine}/goals/{goal.id}/delete")).status_code == 404
    assert await store.for_site(site_id) == [goal]
    assert await store.for_site(theirs) == []


async def test_admins_manage_goals_and_the_goals_panel_links_to_them(dash: Dash) -> None:
    owner = await dash.owner()
    bob = await dash.user("bob@example.org")
    site_id = await owner.add_site("shop.example")
    await owner.form(
        f"/sites/{site_id}/sharing",
        f"/sites/{site_id}/sharing",
        {"email": "bob@example.org", "role": "admin"},
    )
    overview = await bob.get(f"/sites/{site_id}")
    assert f'data-goals-url="/sites/{site_id}/goals"' in overview.text  # the panel's link
    assert f'<a href="/sites/{site_id}/goals">Goals</a>' in overview.text  # the tab
    added = await bob.form(
        f"/sites/{site_id}/goals", f"/sites/{site_id}/goals", {"kind": "event", "event": "buy"}
    )
    assert added.status_code == 303
    assert await _goal_rows(bob, site_id) == [("buy", "buy")]
