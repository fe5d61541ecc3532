"""The dashboard end to end in Chromium, against a real `footfall serve` process.

A new owner goes from an empty installation to a site with its live status and an API token:
first-run account creation, sign-out and sign-in, adding a site, copying its snippet (through
the real clipboard), loading a customer's page carrying that snippet in a second tab (served
by a separate HTTP server on another origin), watching the live header's count go up and the
install page turn green without a reload, generating a token, calling the Realtime API with it,
opening the site dashboard and finding the Stats API's numbers there (also after clicking a
row to filter, and after reloading the filtered URL), the realtime view with this minute's
pageview, revoking the token and seeing the API refuse it. Along the way: no console errors
(a CSP violation would be one), cookie flags as the browser stored them, keyboard access,
narrow screens, dark mode.

With backfilled visits in this period and the previous one, every number of the site dashboard
is the Stats API's (called with a token and the same parameters): each metric and its change,
the chart, every tab of every panel (goals and custom events included), and the CSV download;
and every control keeps its view in the URL: the chart's interval, a custom range, filters
added from rows and removed by their chips or "Clear all", Back and Forward. The live header's
3-minute poll runs on Playwright's fake clock, with its stream cut off.

Headless Chromium announces itself as "HeadlessChrome", which Footfall drops as a bot, so the
context poses as desktop Chrome. Every wait is on the page (a selector, a response) with
Playwright's timeout as the deadline; nothing sleeps. On failure, every open tab is saved as a
screenshot, with the console errors and the end of the server's log, under `test-artifacts/`
(a test checks that it is).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import csv
import glob
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    expect,
)

from tests.browser import (
    ARTIFACTS,
    PHASE_REPORTS,
    WAIT_MS,
    StaticSite,
    evidence_stem,
    failed,
    save_evidence,
    static_site,
)
from tests.conftest import CHROME_UA, FIREFOX_UA
from tests.serverproc import ServerProcess, footfall_cli, footfall_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMAIL = "owner@example.org"
PASSWORD = "correct horse battery"


# -- the customer's site: pages served on another origin ------------------------------------------


@pytest.fixture
def customer() -> Iterator[StaticSite]:
    with static_site("customer-site") as site:
        yield site


# -- Footfall and the browser ---------------------------------------------------------------------


@pytest.fixture
def server_env() -> dict[str, str]:
    """Settings of the test's server beyond the defaults (a test parametrizes this)."""
    return {}


@pytest.fixture
def server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[ServerProcess]:
    with footfall_server(tmp_path / "data", env=server_env) as running:
        yield running


# For a test that changes the dashboard's view a few times a second, faster than a person
# clicks, and asks the Stats API about each: the stats rate limits (tested on their own)
# would answer 429 to some of its requests.
UNLIMITED_STATS = {
    "FOOTFALL_RATE_LIMIT_STATS_PER_SECOND": "0",
    "FOOTFALL_RATE_LIMIT_DASHBOARD_STATS_PER_SECOND": "0",
}


@dataclass
class Tabs:
    """Every page opened in the context, with the console errors each reported."""

    context: BrowserContext
    errors: dict[str, list[str]] = field(default_factory=dict)

    def open(self, name: str) -> Page:
        page = self.context.new_page()
        self.errors[name] = []

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors[name].append(f"{message.text} at {message.location}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors[name].append(f"{error.name}: {error}"))
        return page


@pytest.fixture
def tabs(browser: Browser, server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    context = browser.new_context(user_agent=CHROME_UA, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    opened = Tabs(context)
    yield opened
    if failed(request.node):
        with contextlib.suppress(Exception):  # the evidence must not mask the failure
            save_evidence(evidence_stem(request.node), context, opened.errors, server.log())
    context.close()


def customer_page(snippet: str, body: str = "<h1>Shop</h1><p>Welcome.</p>") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="icon" href="data:,">
{snippet}
</head><body>{body}</body></html>
"""


PRICING = """<h1>Pricing</h1>
<button type="button" onclick="footfall('signup', {plan: 'pro'})">Sign up</button>"""


def realtime(server: ServerProcess, site_id: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )


def clipboard(page: Page) -> str:
    text: str = page.evaluate("navigator.clipboard.readText()")
    return text


# One client for this module's Stats API calls: kept-alive connections, and one SSL context
# instead of one per call (httpx builds one per client, slowly).
API = httpx.Client(timeout=10.0)


@pytest.fixture(scope="module", autouse=True)
def api_client() -> Iterator[httpx.Client]:
    yield API
    API.close()


def stats_api(
    server: ServerProcess, site_id: str, token: str, kind: str, **params: str
) -> dict[str, Any]:
    """A Stats API answer (200 asserted), in the site's time zone."""
    answer = API.get(
        f"{server.url}/api/v1/stats/{kind}",
        params={"websiteId": site_id, "timezone": "Europe/Berlin", **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


TOP_METRICS = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration"


def minute_in_berlin() -> datetime:
    """This minute in the site's time zone (the realtime view's buckets)."""
    return datetime.now(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Tab:
    """A tab of a breakdown panel: its link's label and the Stats API query behind it, as
    panels.js asks it (the five UTM parameters share one "UTM" tab, chosen beside it)."""

    key: str
    label: str
    property: str
    metrics: str
    filters: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


UTM_TABS = [
    Tab(f"utm_{part}", "UTM", f"visit:utm_{part}", "visitors,bounce_rate")
    for part in ("source", "medium", "campaign", "term", "content")
]
PANELS: dict[str, list[Tab]] = {
    "pages": [
        Tab("top", "Top pages", "event:page", "visitors,pageviews"),
        Tab("entry", "Entry pages", "visit:entry_page", "visitors,visits,bounce_rate"),
        Tab("exit", "Exit pages", "visit:exit_page", "visitors,visits"),
    ],
    "sources": [
        Tab("source", "Sources", "visit:source", "visitors,bounce_rate"),
        Tab("referrer", "Referrers", "visit:referrer", "visitors,bounce_rate"),
        *UTM_TABS,
    ],
    "locations": [
        Tab("country", "Countries", "visit:country", "visitors"),
        Tab("region", "Regions", "visit:region", "visitors"),
        Tab("city", "Cities", "visit:city", "visitors"),
    ],
    "devices": [
        Tab("browser", "Browsers", "visit:browser", "visitors"),
        Tab("os", "Operating systems", "visit:os", "visitors"),
        Tab("device", "Devices", "visit:device", "visitors"),
        Tab("screen", "Screen sizes", "visit:screen", "visitors"),
    ],
    "conversions": [
        Tab("goals", "Goals", "event:goal", "visitors,events,conversion_rate"),
        Tab(
            "events",
            "Custom events",
            "event:name",
            "visitors,events",
            (("is_not", "event:name", ("pageview",)),),
        ),
        # A custom property's values: the first property the range's custom events carry.
        Tab(
            "props",
            "Properties",
            "event:props:plan",
            "visitors,events",
            (("is_not", "event:name", ("pageview",)),),
        ),
    ],
}
GOAL_METRICS = "conversions,events,conversion_rate"


def panel_tab(page: Page, panel: str, label: str) -> Locator:
    """The link to a panel's tab."""
    return page.locator(f'[data-panel="{panel}"] .tab-links').get_by_role(
        "link", name=label, exact=True
    )


def tab_of(panel: str, key: str) -> Tab:
    return next(tab for tab in PANELS[panel] if tab.key == key)


def wait_until_loaded(page: Page) -> None:
    """Wait until the dashboard shows the view of the page's current URL (after a click, a
    reload, Back or Forward): `data-loaded` names the view shown, and nothing is loading.
    Then the page must not be saying that some of its numbers could not be loaded."""
    page.wait_for_function(
        """() => {
        const root = document.querySelector('[data-dashboard]');
        if (!root || root.dataset.loaded === undefined || root.classList.contains('is-loading')) {
          return false;
        }
        const shown = new URLSearchParams(root.dataset.loaded);
        return shown.toString() === new URLSearchParams(window.location.search).toString();
    }""",
        timeout=WAIT_MS,
    )
    error = page.locator("[data-dash-error]")
    assert error.is_hidden(), error.text_content()


def shown_view(page: Page) -> dict[str, Any]:
    """What the site dashboard shows, read from the page once it has loaded the view: each
    top metric's value and change against the previous period (as the badge shows it: `None`
    for its dash), the chart's table, each panel's table (its property and rows) and the chips."""
    wait_until_loaded(page)
    shown: dict[str, Any] = page.evaluate(
        """() => {
        const all = (selector) => [...document.querySelectorAll(selector)];
        const number = (text) => (text === 'null' ? null : Number(text));
        const cells = (tr) => Object.fromEntries(
            [...tr.querySelectorAll('td[data-metric]')].map(
                (td) => [td.dataset.metric, number(td.dataset.value)]));
        const change = (tile) => {
          const badge = tile.querySelector('.metric-change');
          const visible = badge.querySelector('[aria-hidden="true"]');
          if (!visible) {
            return badge.textContent === '\u2013' ? null : `unreadable: ${badge.textContent}`;
          }
          const found = /^(▲ |▼ )?(\\d+(?:\\.\\d+)?)%$/.exec(visible.textContent);
          if (!found) return `unreadable: ${visible.textContent}`;
          return found[1] === '▼ ' ? -Number(found[2]) : Number(found[2]);
        };
        const panel = (section) => {
          const table = section.querySelector('table[data-property]');
          return {
            property: table ? table.dataset.property : null,
            rows: table ? [...table.tBodies[0].rows].map(
                (tr) => ({value: tr.dataset.value, ...cells(tr)})) : [],
          };
        };
        const tiles = all('[data-metrics] [data-metric]');
        return {
          metrics: Object.fromEntries(tiles.map(
              (tile) => [tile.dataset.metric, number(tile.dataset.value)])),
          changes: Object.fromEntries(tiles.map((tile) => [tile.dataset.metric, change(tile)])),
          chart: all('[data-chart-table] tbody tr').map(
              (tr) => ({date: tr.dataset.bucket, ...cells(tr)})),
          panels: Object.fromEntries(all('[data-panel]').map(
              (section) => [section.dataset.panel, panel(section)])),
          chips: all('[data-chips] .chip > span').map((chip) => chip.textContent),
        };
    }"""
    )
    return shown


def merged_filters(params: dict[str, str], tab: Tab) -> dict[str, str]:
    """`params` with the tab's own filters added to the view's (as the page sends them)."""
    if not tab.filters:
        return params
    view = json.loads(params.get("filters", "[]"))
    own = [[op, dimension, list(values)] for op, dimension, values in tab.filters]
    return {**params, "filters": json.dumps(view + own, separators=(",", ":"))}


def api_panel(
    server: ServerProcess, site_id: str, token: str, tab: Tab, **params: str
) -> dict[str, Any]:
    """A panel's tab as the Stats API answers it (the top 10 rows)."""
    rows = stats_api(
        server,
        site_id,
        token,
        "breakdown",
        property=tab.property,
        metrics=tab.metrics,
        limit="10",
        **merged_filters(params, tab),
    )["results"]
    return {"property": tab.property if rows else None, "rows": rows}


def api_view(
    server: ServerProcess,
    site_id: str,
    token: str,
    *,
    tabs: dict[str, str] | None = None,
    interval: str | None = None,
    **params: str,
) -> dict[str, Any]:
    """The same numbers from the Stats API (with a vt_ token): `tabs` names the tab each
    panel shows (its first by default), `interval` the chart's (the API's default if None);
    `params` are the view's period, date and filters."""
    goal = any(
        f[1] == "event:goal" and f[0] != "is_not" for f in json.loads(params.get("filters", "[]"))
    )
    series = "visitors,events" if goal else "visitors,pageviews"
    chart_params = {**params, "interval": interval} if interval else params
    shown_tabs = tabs or {}
    # The seven requests at once, as the page sends them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(PANELS) + 2) as pool:
        aggregate = pool.submit(
            stats_api,
            server,
            site_id,
            token,
            "aggregate",
            metrics=GOAL_METRICS if goal else TOP_METRICS,
            compare="previous_period",
            **params,
        )
        timeseries = pool.submit(
            stats_api, server, site_id, token, "timeseries", metrics=series, **chart_params
        )
        panels = {
            key: pool.submit(
                api_panel,
                server,
                site_id,
                token,
                tab_of(key, shown_tabs[key]) if key in shown_tabs else panel_tabs[0],
                **params,
            )
            for key, panel_tabs in PANELS.items()
        }
        metrics = aggregate.result()["results"]
        return {
            "metrics": {name: found["value"] for name, found in metrics.items()},
            "changes": {name: found["change"] for name, found in metrics.items()},
            "chart": timeseries.result()["results"],
            "panels": {key: panel.result() for key, panel in panels.items()},
        }


# -- the journey ----------------------------------------------------------------------------------


def test_from_first_visit_to_a_live_site_and_a_working_token(
    server: ServerProcess, customer: StaticSite, tabs: Tabs, tmp_path: Path
) -> None:
    page = tabs.open("dashboard")

    # First visit to a fresh installation: create the owner account.
    page.goto(server.url)
    expect(page).to_have_url(f"{server.url}/setup")
    expect(page.get_by_role("heading", name="Welcome to Footfall")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the owner account").click()
    expect(page).to_have_url(f"{server.url}/sites/new")
    expect(page.locator(".notice")).to_contain_text("Your owner account is ready")

    # The session cookie as the browser stored it.
    cookies = {c["name"]: c for c in tabs.context.cookies(server.url)}
    session = cookies["footfall_session"]
    assert (session["httpOnly"], session["sameSite"], session["secure"]) == (True, "Lax", False)

    # Sign out, then sign in again (with a wrong password first).
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    expect(page.locator(".notice")).to_have_text("You are signed out.")
    assert "footfall_session" not in {c["name"] for c in tabs.context.cookies(server.url)}
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # Chromium logs the 401 answer to a document as a console error: the only one expected.
    assert tabs.errors["dashboard"] == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized) "
        f"at {{'url': '{server.url}/login', 'line': 0, 'column': 0, 'lineNumber': 0, "
        "'columnNumber': 0}"
    ]
    tabs.errors["dashboard"].clear()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/sites")
    expect(page.get_by_role("heading", name="No sites yet")).to_be_visible()
    assert tabs.context.cookies(server.url)[0]["value"] != session["value"]  # a new session

    # Add a site; the browser's time zone is preselected, we pick another.
    page.get_by_role("link", name="Add your first site").click()
    page.get_by_label("Domain").fill("localhost")
    page.get_by_label("Name").fill("Shop")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Add site").click()
    expect(page).to_have_url(re.compile(r"/sites/[0-9a-f-]{36}/install$"))
    site_id = page.url.split("/")[-2]
    panel = page.locator("[data-status-url]")
    expect(panel).to_contain_text("Waiting for the first pageview")
    expect(panel).not_to_have_class(re.compile(r"\bis-live\b"))

    # Copy the snippet through the clipboard.
    page.locator('button[data-copy="snippet"]').click()
    expect(page.locator('[data-copy-status="snippet"]')).to_have_text("Copied to the clipboard.")
    snippet = clipboard(page)
    assert snippet == (
        f'<script defer src="{server.url}/script.js" data-website-id="{site_id}"></script>'
    )

    # The live header shows the site's current visitors.
    header_count = page.locator("summary [data-live-count] [data-live-value]")
    expect(header_count).to_have_text("0")
    expect(page.locator("summary [data-live-count]")).to_have_text("0 current visitors")

    # The customer's page, carrying the copied snippet, opens in a second tab.
    customer.pages["/"] = customer_page(snippet)
    customer.pages["/pricing"] = customer_page(snippet, PRICING)
    shop = tabs.open("customer")
    with shop.expect_response(lambda r: r.url == f"{server.url}/api/event") as tracked:
        shop.goto(f"{customer.origin}/")
    assert tracked.value.status == 202

    # The header count goes up within seconds, pushed to the page (no reload, and long
    # before its 3-minute poll); the install page, untouched, turns green.
    expect(header_count).to_have_text("1", timeout=5_000)
    # Read aloud as "1 current visitor", not "1 current visitors".
    header_label = page.locator("summary [data-live-count]")
    expect(header_label).to_have_text("1 current visitor")
    expect(panel).to_have_class(re.compile(r"\bis-live\b"))
    expect(panel).to_contain_text("Receiving events")
    expect(panel).to_contain_text("1 current visitor")

    # The visitor goes on to the pricing page and signs up (a custom event).
    with shop.expect_response(lambda r: r.url == f"{server.url}/api/event") as tracked:
        shop.goto(f"{customer.origin}/pricing")
    assert tracked.value.status == 202
    with shop.expect_response(lambda r: r.url == f"{server.url}/api/event") as tracked:
        shop.get_by_role("button", name="Sign up").click()
    assert tracked.value.status == 202

    # Generate an API token; it is shown once, with examples naming this site and server.
    page.bring_to_front()
    page.get_by_role("link", name="API tokens").click()
    generate = page.get_by_role("button", name="Generate token")
    page.locator("form", has=generate).get_by_label("Name (optional)").fill("pricing card")
    generate.click()
    expect(page.get_by_role("heading", name="Your new API token")).to_be_visible()
    token = page.locator("#new-token").inner_text().strip()
    assert re.fullmatch(r"vt_[0-9A-Za-z]{36}", token)
    page.locator('button[data-copy="new-token"]').click()
    expect(page.locator('[data-copy-status="new-token"]')).to_have_text("Copied to the clipboard.")
    assert clipboard(page) == token
    curl = page.locator("#example-curl").inner_text()
    assert f"{server.url}/api/v1/realtime?websiteId={site_id}" in curl
    assert f"Authorization: Bearer {token}" in curl

    answer = realtime(server, site_id, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["currentVisitors"] == 1

    # The signup becomes a goal (from the command line, while the server runs).
    footfall_cli(
        "goals", "add", site_id, "--event", "signup", "--name", "Signup", data_dir=tmp_path / "data"
    )

    # The site dashboard shows the Stats API's numbers for the same range (the default,
    # last 30 days, in the site's time zone): metrics and their changes, the chart, and
    # every panel.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page).to_have_url(f"{server.url}/sites/{site_id}")
    shown = shown_view(page)
    expected = api_view(server, site_id, token)
    assert shown == {**expected, "chips": []}
    assert shown["metrics"]["visitors"] == 1 and shown["metrics"]["pageviews"] == 2
    assert {row["value"] for row in shown["panels"]["pages"]["rows"]} == {"/", "/pricing"}
    expect(page.locator("[data-current-visitors]")).to_have_text("1")
    goals = shown["panels"]["conversions"]
    assert goals["property"] == "event:goal"
    assert [(row["value"], row["visitors"], row["events"]) for row in goals["rows"]] == [
        ("Signup", 1, 1)
    ]

    # The signup in the custom events tab, as the API counts it; Back shows the previous
    # view again, in place (the page handles popstate: no reload).
    page.evaluate("window.sameDocument = true")
    panel_tab(page, "conversions", "Custom events").click()
    expect(page).to_have_url(f"{server.url}/sites/{site_id}?conversions=events")
    events = shown_view(page)
    assert events == {
        **api_view(server, site_id, token, tabs={"conversions": "events"}),
        "chips": [],
    }
    assert events["panels"]["conversions"]["rows"] == [
        {"value": "signup", "visitors": 1, "events": 1}
    ]
    page.go_back()
    expect(page).to_have_url(f"{server.url}/sites/{site_id}")
    assert shown_view(page) == shown
    assert page.evaluate("window.sameDocument") is True

    # Clicking a row filters the whole dashboard and puts the filter in the URL.
    page.locator('[data-panel="pages"] tr[data-value="/pricing"] a').click()
    expect(page).to_have_url(re.compile(r"\?filters="))
    filters = '[["is","event:page",["/pricing"]]]'
    assert parse_qs(urlsplit(page.url).query) == {"filters": [filters]}
    filtered = shown_view(page)
    assert filtered == {
        **api_view(server, site_id, token, filters=filters),
        "chips": ["Page is /pricing"],
    }
    assert filtered["metrics"]["pageviews"] == 1

    # Reloading the URL shows the same view.
    page.reload()
    assert shown_view(page) == filtered

    # The realtime view: the last 30 minutes by minute, with this minute's pageview.
    sent = minute_in_berlin()
    with shop.expect_response(lambda r: r.url == f"{server.url}/api/event") as tracked:
        shop.reload()
    assert tracked.value.status == 202
    acknowledged = minute_in_berlin()
    page.bring_to_front()
    page.locator("[data-period-menu] > summary").click()
    page.get_by_role("link", name="Realtime (last 30 minutes)").click()
    expect(page.locator("[data-realtime-note]")).to_be_visible()
    assert parse_qs(urlsplit(page.url).query) == {"period": ["30m"], "filters": [filters]}
    minutes = {row["date"]: row for row in shown_view(page)["chart"]}
    assert len(minutes) == 30
    from_api = api_view(server, site_id, token, period="30m", filters=filters)["chart"]
    same = [row for row in from_api if row["date"] in minutes]
    assert len(same) >= 29  # the API was asked a moment later: the window may have moved on
    assert same == [minutes[row["date"]] for row in same]
    minute = acknowledged if minutes[f"{acknowledged:%Y-%m-%dT%H:%M:00}"]["pageviews"] else sent
    bucket = minutes[f"{minute:%Y-%m-%dT%H:%M:00}"]
    assert bucket["visitors"] == 1 and bucket["pageviews"] >= 1
    label = page.locator(f'[data-chart-table] tr[data-bucket="{minute:%Y-%m-%dT%H:%M:00}"] th')
    expect(label).to_have_text(re.compile(f"^({minute:%H:%M}|{minute:%I:%M} [AP]M)$"))

    # The list shows it by prefix, used just now; revoke it and the API refuses it.
    page.get_by_role("link", name="API tokens").click()
    row = page.locator("#active-tokens tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(token[:9] + "…")
    expect(row).to_contain_text("pricing card")
    assert token not in page.content()
    row.get_by_role("button", name=re.compile("^Revoke")).click()
    expect(page.locator(".notice")).to_contain_text("Token revoked.")
    refused = realtime(server, site_id, token)
    assert refused.status_code == 401
    assert refused.json() == {"error": "No API token configured for this website"}

    assert tabs.errors["dashboard"] == [], tabs.errors
    assert tabs.errors["customer"] == [], tabs.errors


def test_keyboard_narrow_screens_and_dark_mode(server: ServerProcess, tabs: Tabs) -> None:
    page = tabs.open("dashboard")
    page.goto(f"{server.url}/setup")
    # The form is usable with the keyboard alone (the email field has the focus already).
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/sites/new")
    page.get_by_label("Domain").fill("localhost")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/install$"))
    site_id = page.url.split("/")[-2]
    # On a page without a form, the first Tab reaches the skip link, which moves focus to
    # the content; the next ones reach the copy button through the page's links.
    page.goto(f"{server.url}/sites/{site_id}/install")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    copy = page.locator('button[data-copy="snippet"]')
    for _ in range(12):
        page.keyboard.press("Tab")
        if copy.evaluate("button => button === document.activeElement"):
            break
    expect(copy).to_be_focused()
    outline = copy.evaluate("button => getComputedStyle(button).outlineStyle")
    assert outline == "solid"  # a visible focus ring

    # The site dashboard's date ranges with the keyboard: open the menu, reach a range, go.
    page.goto(f"{server.url}/sites/{site_id}")
    expect(page.locator("[data-dashboard][data-loaded]")).to_have_count(1)
    page.locator("[data-period-menu] > summary").focus()
    page.keyboard.press("Enter")
    week = page.get_by_role("link", name="Last 7 days")
    for _ in range(6):
        page.keyboard.press("Tab")
        if week.evaluate("link => link === document.activeElement"):
            break
    expect(week).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/sites/{site_id}?period=7d")
    expect(page.locator("[data-period-label]")).to_have_text("Last 7 days")
    page.keyboard.press("Escape")

    # A phone's width: nothing wider than the screen.
    page.set_viewport_size({"width": 360, "height": 740})
    dashboards = (f"/sites/{site_id}", f"/sites/{site_id}?period=30m")
    for path in (
        "/sites",
        *dashboards,
        f"/sites/{site_id}/install",
        f"/sites/{site_id}/tokens",
        f"/sites/{site_id}/settings",
        f"/sites/{site_id}/sharing",
    ):
        page.goto(f"{server.url}{path}")
        if path in dashboards:
            expect(page.locator("[data-dashboard][data-loaded]")).to_have_count(1)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    # The site menu opens, and Escape closes it with focus back on its summary.
    summary = page.locator("[data-site-menu] > summary")
    summary.click()
    expect(page.locator("[data-site-menu]")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("[data-site-menu]")).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()

    # Dark mode follows the system setting.
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light != dark and dark == "rgb(18, 22, 20)"
    assert tabs.errors["dashboard"] == [], tabs.errors


# -- every number and every control of the site dashboard -----------------------------------------

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
MAC_SAFARI_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
US, DE, JP, NL, BR = "8.8.8.8", "81.169.145.1", "133.1.1.1", "193.0.6.139", "200.160.2.3"
GOOGLE = "https://www.google.com/search?q=shop"


@dataclass(frozen=True)
class Visit:
    """A visit to backfill: its pages a minute apart (then a `signup`), `days_ago` days
    before today at `hour` o'clock in the site's time zone."""

    days_ago: int
    hour: int
    visitor: str
    ip: str
    user_agent: str
    width: int
    referrer: str | None
    pages: tuple[str, ...]
    signup: bool = False


# This period (the last 30 days): 5 visitors in 6 visits; the previous 30 days: 3 visitors,
# so every top metric has a change to show.
VISITS = (
    Visit(2, 10, "v1", US, CHROME_UA, 1920, None,
          ("/?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "/pricing"), True),
    Visit(2, 16, "v1", US, CHROME_UA, 1920, GOOGLE, ("/blog/hello",)),
    Visit(3, 11, "v2", DE, FIREFOX_UA, 1440, GOOGLE, ("/blog/hello", "/pricing")),
    Visit(5, 9, "v3", JP, IPHONE_UA, 390, "https://news.ycombinator.com/item?id=1", ("/",)),
    Visit(6, 15, "v4", NL, CHROME_UA, 1920, None, ("/pricing",), True),
    Visit(1, 8, "v5", US, MAC_SAFARI_UA, 1512, None,
          ("/?utm_source=twitter&utm_medium=social&utm_campaign=spring", "/blog/hello")),
    Visit(40, 10, "p1", DE, CHROME_UA, 1920, GOOGLE, ("/", "/pricing")),
    Visit(42, 12, "p2", BR, CHROME_UA, 1920, None, ("/blog/hello",), True),
    Visit(45, 14, "p3", US, FIREFOX_UA, 1440, None, ("/",)),
)  # fmt: skip


def backfill(server: ServerProcess, token: str, visits: tuple[Visit, ...]) -> None:
    """Send the visits' events through `POST /api/v1/events` (with their timestamps)."""
    berlin = ZoneInfo("Europe/Berlin")
    today = datetime.now(berlin).date()
    events: list[dict[str, Any]] = []
    for visit in visits:
        day = today - timedelta(days=visit.days_ago)
        start = datetime(day.year, day.month, day.day, visit.hour, tzinfo=berlin)
        names = ["pageview"] * len(visit.pages) + (["signup"] if visit.signup else [])
        paths = [*visit.pages, visit.pages[-1]]
        for minute, (name, path) in enumerate(zip(names, paths, strict=False)):
            events.append(
                {
                    "name": name,
                    "url": f"https://shop.example{path}",
                    "referrer": visit.referrer if minute == 0 else None,
                    "screenWidth": visit.width,
                    "timestamp": (start + timedelta(minutes=minute)).isoformat(),
                    "visitorId": visit.visitor,
                    "ip": visit.ip,
                    "userAgent": visit.user_agent,
                    **({"props": {"plan": "pro"}} if name == "signup" else {}),
                }
            )
    answer = httpx.post(
        f"{server.url}/api/v1/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["accepted"] == len(events), answer.text


def new_site(page: Page, server: ServerProcess, domain: str = "shop.example") -> str:
    """First-run set-up (the owner account) and a site in Berlin's time zone; its id."""
    page.goto(f"{server.url}/setup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the owner account").click()
    expect(page).to_have_url(f"{server.url}/sites/new")
    page.get_by_label("Domain").fill(domain)
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Add site").click()
    expect(page).to_have_url(re.compile(r"/sites/[0-9a-f-]{36}/install$"))
    return page.url.split("/")[-2]


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("server_env", [UNLIMITED_STATS], ids=["stats unlimited"])
def test_every_panel_and_control_of_the_dashboard_agrees_with_the_stats_api(
    server: ServerProcess, tabs: Tabs, tmp_path: Path
) -> None:
    page = tabs.open("dashboard")
    site_id = new_site(page, server)
    # Two goals from the command line (each a process, so both at once, while the browser
    # generates a token).
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        goals = [
            pool.submit(footfall_cli, "goals", "add", site_id, *goal, data_dir=tmp_path / "data")
            for goal in (
                ("--event", "signup", "--name", "Signup"),
                ("--page", "/pricing", "--name", "Pricing"),
            )
        ]
        page.goto(f"{server.url}/sites/{site_id}/tokens")
        page.get_by_role("button", name="Generate token").click()
        token = page.locator("#new-token").inner_text().strip()
        backfill(server, token, VISITS)
        for goal in goals:
            goal.result()
    dashboard = f"{server.url}/sites/{site_id}"

    # Every top metric, its change against the previous 30 days, the chart and the first
    # tab of every panel: the Stats API's numbers.
    page.goto(dashboard)
    start = shown_view(page)
    assert start == {**api_view(server, site_id, token), "chips": []}
    assert start["metrics"]["visitors"] == 5 and start["metrics"]["visits"] == 6
    assert start["changes"]["visitors"] == pytest.approx(66.7)  # 5 against 3
    assert all(change is not None for change in start["changes"].values()), start["changes"]
    by_value = {
        key: {row["value"]: row["visitors"] for row in panel["rows"]}
        for key, panel in start["panels"].items()
    }
    assert by_value["sources"] == {
        "Google": 2, "Direct / None": 1, "Hacker News": 1, "newsletter": 1, "twitter": 1
    }  # fmt: skip
    assert by_value["locations"] == {"US": 2, "DE": 1, "JP": 1, "NL": 1}
    assert by_value["devices"] == {"Chrome": 2, "Firefox": 1, "Mobile Safari": 1, "Safari": 1}
    assert by_value["conversions"] == {"Pricing": 3, "Signup": 2}
    # Each badge says whether the change is good: up is good, except for the bounce rate.
    for metric, change in start["changes"].items():
        badge = page.locator(f'[data-metrics] [data-metric="{metric}"] .metric-change')
        good = change < 0 if metric == "bounce_rate" else change > 0
        tone = "flat" if change == 0 else "good" if good else "bad"
        expect(badge).to_have_class(re.compile(rf"\b{tone}\b"))

    # Every tab of every panel (the UTM tab's parameter chosen beside its table): the tab
    # goes into the URL and its rows are the API's.
    shown_tabs: dict[str, str] = {}
    for key, panel_tabs in PANELS.items():
        for tab in panel_tabs:
            if tab.key.startswith("utm_"):
                if tab.key == "utm_source":
                    panel_tab(page, key, "UTM").click()
                else:
                    chooser = page.locator(f'[data-panel="{key}"]').get_by_label("UTM parameter")
                    chooser.select_option(tab.key)
            elif tab is not panel_tabs[0]:
                panel_tab(page, key, tab.label).click()
            else:
                continue
            shown_tabs[key] = tab.key
            expect(page).to_have_url(re.compile(rf"[?&]{key}={tab.key}(&|$)"))
            assert query_of(page) == {name: [value] for name, value in shown_tabs.items()}
            shown = shown_view(page)
            expected = api_panel(server, site_id, token, tab)
            assert shown["panels"][key] == expected, tab
            if tab.key not in ("region", "city", "utm_term", "utm_content"):
                assert expected["rows"], tab  # the data has rows for it: a real comparison
    # With every panel on its last tab, the whole view is still the API's.
    assert shown_view(page) == {**api_view(server, site_id, token, tabs=shown_tabs), "chips": []}
    page.goto(dashboard)
    assert shown_view(page) == start

    # The CSV download of a panel: the API's breakdown, row by row, and the API's own CSV.
    sources = page.locator('[data-panel="sources"]')
    with page.expect_download() as downloading:
        sources.get_by_role("link", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename.startswith("footfall-breakdown-visit-source-")
    content = Path(download.path()).read_bytes()
    text = content.decode()
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == ["visit:source", "visitors", "bounce_rate"]
    params = {"property": "visit:source", "metrics": "visitors,bounce_rate", "limit": "1000"}
    breakdown = stats_api(server, site_id, token, "breakdown", **params)["results"]
    assert [[row[0], float(row[1]), float(row[2])] for row in rows] == [
        [found["value"], found["visitors"], found["bounce_rate"]] for found in breakdown
    ]
    assert len(rows) == 5
    api_csv = httpx.get(
        f"{server.url}/api/v1/stats/breakdown.csv",
        params={"websiteId": site_id, "timezone": "Europe/Berlin", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    assert api_csv.status_code == 200 and api_csv.content == content

    # The chart's interval: weeks instead of days, in the URL and as the API counts them.
    intervals = page.locator("[data-intervals]")
    expect(intervals.locator("[aria-current]")).to_have_text("Days")
    intervals.get_by_role("link", name="Weeks").click()
    expect(page).to_have_url(f"{dashboard}?interval=week")
    weekly = shown_view(page)
    assert weekly == {**api_view(server, site_id, token, interval="week"), "chips": []}
    assert 4 <= len(weekly["chart"]) <= 6 and weekly["metrics"] == start["metrics"]
    expect(intervals.locator("[aria-current]")).to_have_text("Weeks")

    # A custom range: the week of the previous period's visits.
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    first, last = today - timedelta(days=46), today - timedelta(days=39)
    page.locator("[data-period-menu] > summary").click()
    custom_range = page.locator("[data-custom-range]")
    custom_range.get_by_label("From", exact=True).fill(first.isoformat())
    custom_range.get_by_label("To", exact=True).fill(last.isoformat())
    custom_range.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(f"{dashboard}?period=custom&date={first},{last}")
    expect(page.locator("[data-period-label]")).to_have_text(f"{first} \u2013 {last}")
    custom = shown_view(page)
    assert custom == {
        **api_view(server, site_id, token, period="custom", date=f"{first},{last}"),
        "chips": [],
    }
    assert custom["metrics"]["visitors"] == 3 and len(custom["chart"]) == 8
    page.goto(dashboard)
    wait_until_loaded(page)

    # Filters: a source, then a browser, from their rows; each chip removes its filter and
    # "Clear all" removes them all; Back and Forward step through the views again.
    google = '["is","visit:source",["Google"]]'
    chrome = '["is","visit:browser",["Chrome"]]'
    page.locator('[data-panel="sources"] tr[data-value="Google"] a').click()
    expect(page).to_have_url(re.compile(r"\?filters="))
    assert query_of(page) == {"filters": [f"[{google}]"]}
    only_google = shown_view(page)
    assert only_google == {
        **api_view(server, site_id, token, filters=f"[{google}]"),
        "chips": ["Source is Google"],
    }
    page.locator('[data-panel="devices"] tr[data-value="Chrome"] a').click()
    expect(page).to_have_url(re.compile("Chrome"))
    assert query_of(page) == {"filters": [f"[{google},{chrome}]"]}
    both = shown_view(page)
    assert both == {
        **api_view(server, site_id, token, filters=f"[{google},{chrome}]"),
        "chips": ["Source is Google", "Browser is Chrome"],
    }
    assert both["metrics"]["visitors"] == 1  # v1 came back from Google (p1 came earlier)
    page.get_by_role("link", name="Remove filter: Source is Google").click()
    expect(page).not_to_have_url(re.compile("Google"))
    assert query_of(page) == {"filters": [f"[{chrome}]"]}
    only_chrome = shown_view(page)
    assert only_chrome == {
        **api_view(server, site_id, token, filters=f"[{chrome}]"),
        "chips": ["Browser is Chrome"],
    }
    page.get_by_role("link", name="Clear all").click()
    expect(page).to_have_url(dashboard)
    assert shown_view(page) == start
    expect(page.locator("[data-filter-bar]")).to_be_hidden()
    page.evaluate("window.sameDocument = true")
    for step, url, view in (
        (page.go_back, re.compile(r"\?filters=\[\[.*Chrome.*\]\]$"), only_chrome),
        (page.go_back, re.compile(r"Google.*Chrome"), both),
        (page.go_back, re.compile(r"\?filters=\[\[[^\]]*Google"), only_google),
        (page.go_forward, re.compile(r"Google.*Chrome"), both),
    ):
        step()
        expect(page).to_have_url(url)
        assert shown_view(page) == view
    assert page.evaluate("window.sameDocument") is True  # no reload: popstate

    # A goal as the filter: the tiles become the goal's conversions, as the API counts them.
    page.get_by_role("link", name="Clear all").click()
    expect(page).to_have_url(dashboard)
    wait_until_loaded(page)
    page.locator('[data-panel="conversions"] tr[data-value="Signup"] a').click()
    expect(page).to_have_url(re.compile("Signup"))
    signup = '[["is","event:goal",["Signup"]]]'
    converted = shown_view(page)
    assert converted == {
        **api_view(server, site_id, token, filters=signup),
        "chips": ["Goal is Signup"],
    }
    assert converted["metrics"]["conversions"] == 2

    # A property's row filters to custom events too, as the Properties tab counts them: a
    # "(none)" row would otherwise match every pageview as well.
    page.get_by_role("link", name="Clear all").click()
    expect(page).to_have_url(dashboard)
    wait_until_loaded(page)
    panel_tab(page, "conversions", "Properties").click()
    page.locator('[data-panel="conversions"] tr[data-value="pro"] a').click()
    expect(page).to_have_url(re.compile("pro"))
    pro = '[["is_not","event:name",["pageview"]],["is","event:props:plan",["pro"]]]'
    assert shown_view(page)["metrics"] == api_view(server, site_id, token, filters=pro)["metrics"]
    assert json.loads(parse_qs(urlsplit(page.url).query)["filters"][0]) == json.loads(pro)

    assert tabs.errors["dashboard"] == [], tabs.errors


# -- the live header's poll, on a fake clock ------------------------------------------------------

POLL_MS = 180_000  # live.js: the header asks `GET /live` at once and every 3 minutes

# Records when (on the page's clock) the page asked for the counts: live.js polls with fetch.
RECORD_POLLS = """
window.livePolls = [];
const fetchBeforeTheTest = window.fetch;
window.fetch = function (resource, options) {
  if (String(resource) === '/live') window.livePolls.push(Date.now());
  return fetchBeforeTheTest.call(this, resource, options);
};
"""


def test_the_live_header_polls_every_3_minutes_when_its_stream_is_gone(
    server: ServerProcess, tabs: Tabs
) -> None:
    page = tabs.open("dashboard")
    site_id = new_site(page, server, domain="localhost")
    # The stream ends at once, empty, asking to be reopened in an hour: no count is pushed,
    # and the page keeps (and counts on) its poll.
    streams: list[str] = []

    def empty_stream(route: Route) -> None:
        streams.append(route.request.url)
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"},
            body="retry: 3600000\n\n",
        )

    tabs.context.route(f"{server.url}/live/stream", empty_stream)
    page.add_init_script(RECORD_POLLS)
    page.clock.install()
    page.goto(f"{server.url}/sites/{site_id}/settings")
    count = page.locator("summary [data-live-count] [data-live-value]")
    expect(count).to_have_text("0")
    assert len(page.evaluate("window.livePolls")) == 1 and streams
    # From now on the page's time moves only when the test says so (paused a little ahead of
    # its clock, which still runs meanwhile: a pause cannot go back in time).
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000 + 10, UTC))
    first_poll = page.evaluate("window.livePolls[0]")

    # A visitor arrives; the server counts them at once.
    hit = httpx.post(
        f"{server.url}/api/event",
        json={"websiteId": site_id, "url": "http://localhost/"},
        headers={"User-Agent": CHROME_UA},
        timeout=10.0,
    )
    assert hit.status_code == 202, hit.text
    counted = page.request.get(f"{server.url}/live", headers={"Accept": "application/json"})
    assert counted.json()["sites"] == [{"websiteId": site_id, "currentVisitors": 1}]

    # Up to a second before the poll is due, the header is not asked to change...
    due_in = first_poll + POLL_MS - page.evaluate("Date.now()")
    page.clock.run_for(due_in - 1000)
    assert len(page.evaluate("window.livePolls")) == 1
    expect(count).to_have_text("0")
    # ...then the 3-minute poll shows the visitor.
    page.clock.run_for(2000)
    polls = page.evaluate("window.livePolls")
    assert len(polls) == 2 and POLL_MS <= polls[1] - polls[0] < POLL_MS + 1000
    expect(count).to_have_text("1")
    assert tabs.errors["dashboard"] == [], tabs.errors


# -- evidence of a failure ------------------------------------------------------------------------


@pytest.fixture
def evidence_checked(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a test that marks itself failed: set up before `tabs`, so torn down after it,
    this checks the evidence `tabs` saved under test-artifacts/, then removes it."""
    stem = evidence_stem(request.node)
    yield
    files = sorted(ARTIFACTS.glob(f"{glob.escape(stem.name)}*"))
    try:
        assert [path.name for path in files] == [
            f"{stem.name}-tab0.png",
            f"{stem.name}-tab1.png",
            f"{stem.name}.log",
        ]
        for shot in files[:2]:
            assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), shot
            assert shot.stat().st_size > 2000, shot  # a page, not an empty image
        log = files[2].read_text()
        assert "TypeError: the console error of the second tab" in log
        assert "server log:" in log and "Application startup complete." in log
    finally:
        for path in files:
            path.unlink()


def test_a_failed_test_leaves_screenshots_console_errors_and_the_server_log(
    evidence_checked: None, server: ServerProcess, tabs: Tabs, request: pytest.FixtureRequest
) -> None:
    page = tabs.open("dashboard")
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Welcome to Footfall")).to_be_visible()
    second = tabs.open("second")
    second.goto(f"{server.url}/login")
    tabs.errors["second"].append("TypeError: the console error of the second tab")
    # The hook of this folder records each phase's outcome (else nothing is ever kept):
    reports = request.node.stash[PHASE_REPORTS]
    assert list(reports) == ["setup"] and not failed(request.node)
    # ...and a failed phase makes `tabs` keep the evidence when it closes the tabs.
    failure = copy.copy(reports["setup"])
    failure.outcome = "failed"
    reports["setup"] = failure
    assert failed(request.node)


# -- a view that cannot be loaded -----------------------------------------------------------------


def test_a_part_of_the_view_that_fails_shows_none_of_the_previous_views_numbers(
    server: ServerProcess, tabs: Tabs
) -> None:
    page = tabs.open("dashboard")
    site_id = new_site(page, server, domain="localhost")
    for path in ("/", "/pricing"):
        hit = httpx.post(
            f"{server.url}/api/event",
            json={"websiteId": site_id, "url": f"http://localhost{path}"},
            headers={"User-Agent": CHROME_UA},
            timeout=10.0,
        )
        assert hit.status_code == 202, hit.text
    page.goto(f"{server.url}/sites/{site_id}")
    wait_until_loaded(page)
    pages = page.locator('[data-panel="pages"]')
    expect(pages.locator("tbody tr")).to_have_count(2)

    # The next view's chart and pages are refused (as past a rate limit); the other parts
    # show the filtered view, those two show nothing rather than the unfiltered numbers.
    def refuse(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "1"},
            json={"error": "Too many requests; retry in 1 seconds"},
        )

    refused = re.compile(r"/stats/(timeseries\?|breakdown\?.*property=event%3Apage&)")
    page.route(refused, refuse)
    pages.locator('tr[data-value="/pricing"] a').click()
    expect(page.locator("[data-dash-error]")).to_have_text(
        "Could not load the numbers: Too many requests; retry in 1 seconds"
    )
    expect(page.locator("[data-dashboard][data-loaded]")).to_have_count(1)
    expect(page.locator("[data-chips] .chip > span")).to_have_text(["Page is /pricing"])
    expect(page.locator('[data-metrics] [data-metric="pageviews"]')).to_have_attribute(
        "data-value", "1"
    )
    expect(pages.locator("tr")).to_have_count(0)
    expect(pages.get_by_role("link", name="Download CSV")).to_have_count(0)  # no href
    expect(page.locator("[data-chart-table] tr")).to_have_count(0)
    expect(page.locator("[data-chart] svg")).to_have_count(0)

    # Answered again: the same view, whole.
    page.unroute(refused)
    page.reload()
    shown = shown_view(page)
    assert [row["value"] for row in shown["panels"]["pages"]["rows"]] == ["/pricing"]
    assert shown["chart"] and shown["metrics"]["pageviews"] == 1
    assert tabs.errors["dashboard"] and all(
        "status of 429" in error for error in tabs.errors["dashboard"]
    ), tabs.errors
