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

Headless Chromium announces itself as "HeadlessChrome", which Footfall drops as a bot, so the
context poses as desktop Chrome. Every wait is on the page (a selector, a response) with
Playwright's timeout as the deadline; nothing sleeps. On failure, every open tab is saved as a
screenshot (and its console log) under `test-artifacts/`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
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
    Page,
    expect,
)

from tests.browser import WAIT_MS, StaticSite, evidence_stem, failed, static_site
from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EMAIL = "owner@example.org"
PASSWORD = "correct horse battery"


# -- the customer's site: pages served on another origin -----------------------------------------


@pytest.fixture
def customer() -> Iterator[StaticSite]:
    with static_site("customer-site") as site:
        yield site


# -- Footfall and the browser ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with footfall_server(tmp_path / "data") as running:
        yield running


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
        stem = evidence_stem(request.node)
        with contextlib.suppress(Exception):  # the evidence must not mask the failure
            for index, page in enumerate(context.pages):
                page.screenshot(path=f"{stem}-tab{index}.png", full_page=True)
            stem.with_name(f"{stem.name}.log").write_text(
                f"console errors: {opened.errors}\n\nserver log:\n{server.log()[-5000:]}\n"
            )
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


def stats_api(
    server: ServerProcess, site_id: str, token: str, kind: str, **params: str
) -> dict[str, Any]:
    answer = httpx.get(
        f"{server.url}/api/v1/stats/{kind}",
        params={"websiteId": site_id, "timezone": "Europe/Berlin", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


TOP_METRICS = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration"


def minute_in_berlin() -> datetime:
    """This minute in the site's time zone (the realtime view's buckets)."""
    return datetime.now(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)


def shown_view(page: Page) -> dict[str, Any]:
    """What the site dashboard shows, read from the page once it has loaded the view."""
    expect(page.locator("[data-dashboard][data-loaded]")).to_have_count(1)
    shown: dict[str, Any] = page.evaluate(
        """() => {
        const all = (selector) => [...document.querySelectorAll(selector)];
        const cells = (tr) => Object.fromEntries(
            [...tr.querySelectorAll('td[data-metric]')].map(
                (td) => [td.dataset.metric, Number(td.dataset.value)]));
        return {
          metrics: Object.fromEntries(all('[data-metrics] [data-metric]').map(
              (tile) => [tile.dataset.metric, Number(tile.dataset.value)])),
          chart: all('[data-chart-table] tbody tr').map(
              (tr) => ({date: tr.dataset.bucket, ...cells(tr)})),
          pages: all('[data-panel="pages"] tbody tr').map(
              (tr) => ({value: tr.dataset.value, ...cells(tr)})),
          chips: all('[data-chips] .chip > span').map((chip) => chip.textContent),
        };
    }"""
    )
    return shown


def api_view(server: ServerProcess, site_id: str, token: str, **params: str) -> dict[str, Any]:
    """The same numbers from the Stats API (with a vt_ token)."""
    aggregate = stats_api(
        server,
        site_id,
        token,
        "aggregate",
        metrics=TOP_METRICS,
        compare="previous_period",
        **params,
    )
    timeseries = stats_api(
        server, site_id, token, "timeseries", metrics="visitors,pageviews", **params
    )
    pages = stats_api(
        server,
        site_id,
        token,
        "breakdown",
        property="event:page",
        metrics="visitors,pageviews",
        limit="10",
        **params,
    )
    return {
        "metrics": {name: found["value"] for name, found in aggregate["results"].items()},
        "chart": timeseries["results"],
        "pages": pages["results"],
    }


# -- the journey ----------------------------------------------------------------------------------


def test_from_first_visit_to_a_live_site_and_a_working_token(
    server: ServerProcess, customer: StaticSite, tabs: Tabs
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
    page.get_by_label("Name (optional)").fill("pricing card")
    page.get_by_role("button", name="Generate token").click()
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

    # The site dashboard shows the Stats API's numbers for the same range (the default,
    # last 30 days, in the site's time zone).
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page).to_have_url(f"{server.url}/sites/{site_id}")
    shown = shown_view(page)
    expected = api_view(server, site_id, token)
    assert shown == {**expected, "chips": []}
    assert shown["metrics"]["visitors"] == 1 and shown["metrics"]["pageviews"] == 2
    assert {row["value"] for row in shown["pages"]} == {"/", "/pricing"}
    expect(page.locator("[data-current-visitors]")).to_have_text("1")

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
