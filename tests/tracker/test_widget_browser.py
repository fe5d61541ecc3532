"""The live-counter widget in a real browser, on a customer's pricing page, against a real server.

The pricing page is served by a separate static HTTP server at http://localhost:<port>/ (the
customer's site) and carries the tracker and the widget from http://127.0.0.1:<footfall port>,
with a publishable key allowed for that origin and for /pricing. Each browser context is one
visitor (contexts pose as different desktop browsers: HeadlessChrome is dropped as a bot, and
one IP with one user agent is one visitor). Every wait is a condition on the page with
Playwright's deadline; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from footfall.storage.meta import SqlMetaStore
from tests.browser import WAIT_MS, StaticSite
from tests.conftest import CHROME_UA, FIREFOX_UA
from tests.serverproc import footfall_cli, free_port
from tests.tracker import test_tracker_browser as tracker_pages
from tests.tracker.test_tracker_browser import RECORD_REJECTIONS, Footfall

# The tracker's browser tests' fixtures: a real server, the customer's site (Chromium comes
# from tests/browser.py through the folder's conftest).
footfall = tracker_pages.footfall
site = tracker_pages.site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDGE_UA = CHROME_UA.replace("Safari/537.36", "Safari/537.36 Edg/131.0.0.0")
NO_EVENT_SOURCE = "delete window.EventSource;"


def pricing_page(footfall: Footfall, widget: str) -> str:
    """A pricing card with the tracker, and `widget` in its live line."""
    server = footfall.server.url
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pricing</title>
<link rel="icon" href="data:,">
<script defer src="{server}/script.js" data-website-id="{footfall.site_id}"></script>
<style>.card{{width:320px;border:1px solid #ccc;padding:16px;font:16px/1.4 sans-serif}}
footfall-live{{color:#b00}} .footfall-count{{font-weight:bold}}</style>
</head><body>
<div class="card"><h2>Pro</h2><p>$29 / month</p>
<p id="live-line">{widget}</p>
<p id="after">Only 15 discounted seats left</p></div>
</body></html>
"""


def script_tag(footfall: Footfall, key: str, **data: str) -> str:
    extra = "".join(f' data-{name}="{value}"' for name, value in data.items())
    return f'<script src="{footfall.server.url}/widget.js" data-key="{key}"{extra}></script>'


def create_key(footfall: Footfall, origin: str, *paths: str) -> str:
    args = [arg for path in paths for arg in ("--path", path)]
    out = footfall_cli(
        "keys", "create", footfall.site_id, "--origin", origin, *args, "--json",
        data_dir=footfall.data_dir,
    )  # fmt: skip
    key: str = json.loads(out.stdout)["key"]
    return key


def set_site_minimum(footfall: Footfall, minimum: int) -> None:
    """The owner's minimum display threshold, set in the metadata as the dashboard would."""

    async def update() -> None:
        meta = await SqlMetaStore.open(
            database_url=None, sqlite_path=footfall.data_dir / "meta.sqlite3"
        )
        try:
            await meta.update_site(footfall.site_id, live_min_count=minimum)
        finally:
            await meta.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's loop runs
        pool.submit(asyncio.run, update()).result()


def pricing_count(footfall: Footfall) -> int:
    response = httpx.get(
        f"{footfall.server.url}/api/v1/realtime",
        params={"websiteId": footfall.site_id, "path": "/pricing"},
        headers={"Authorization": f"Bearer {footfall.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    count: int = response.json()["currentVisitors"]
    return count


@dataclass
class Visitors:
    """Browser contexts, one per visitor, each recording what went wrong on its pages."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(
        self,
        url: str,
        ua: str,
        init_script: str = "",
        streams: Callable[[Route], None] | None = None,
    ) -> Page:
        """A new visitor's page at `url`; `streams`, if given, answers its requests for the
        live stream in place of the network (as a proxy between the page and Footfall)."""
        context = self.browser.new_context(user_agent=ua)
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(RECORD_REJECTIONS + init_script)
        if streams is not None:
            context.route("**/api/v1/live/stream?*", streams)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{error.name}: {error.message}"))
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        page.goto(url)
        return page


@pytest.fixture
def visitors(browser: Browser) -> Iterator[Visitors]:
    made = Visitors(browser)
    yield made
    for context in made.contexts:
        context.close()


def widget_text(page: Page, text: str) -> None:
    """Wait until the page's widget shows `text`."""
    page.wait_for_function(
        "text => { const el = document.querySelector('footfall-live');"
        " return !!el && !el.hidden && el.textContent === text; }",
        arg=text,
    )


def rejections(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__rejections")
    return found


# -- tests --------------------------------------------------------------------------------------


def test_pricing_card_shows_the_count_and_updates_when_another_visitor_opens_it(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    key = create_key(footfall, site.origin, "/pricing")
    site.pages["/pricing"] = pricing_page(footfall, script_tag(footfall, key, path="/pricing"))
    url = f"{site.origin}/pricing"

    first = visitors.open(url, CHROME_UA)
    widget_text(first, "1 person viewing now")  # itself, once its pageview is counted
    widget = first.locator("#live-line > footfall-live")  # rendered where the tag stands
    assert widget.get_attribute("data-state") == "live"
    assert widget.locator(".footfall-count").text_content() == "1"

    second = visitors.open(url, FIREFOX_UA)
    widget_text(first, "2 people viewing now")  # pushed to the first visitor's open page
    widget_text(second, "2 people viewing now")
    assert pricing_count(footfall) == 2  # the number the Realtime API gives for the page

    third = visitors.open(url, EDGE_UA)
    widget_text(first, "3 people viewing now")
    widget_text(third, "3 people viewing now")
    assert first.locator("footfall-live .footfall-count").text_content() == "3"
    assert visitors.errors == []
    assert all(rejections(page) == [] for page in (first, second, third))


def test_templates_minimum_and_fallback(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    key = create_key(footfall, site.origin, "/pricing")
    element = (
        f'<footfall-live key="{key}" path="/pricing" api="{footfall.server.url}" min="2" '
        'one="{n} shopper here" other="{n} shoppers looking at this plan" '
        'fallback="Popular plan"></footfall-live>'
        f'<script src="{footfall.server.url}/widget.js"></script>'
    )
    site.pages["/pricing"] = pricing_page(footfall, element)
    url = f"{site.origin}/pricing"

    first = visitors.open(url, CHROME_UA)
    first.wait_for_function(
        "() => document.querySelector('footfall-live').dataset.state === 'fallback'"
    )
    assert first.text_content("footfall-live") == "Popular plan"  # 1 is below min=2
    visitors.open(url, FIREFOX_UA)
    widget_text(first, "2 shoppers looking at this plan")

    # The owner's threshold (server side) applies too: 2 is now below it.
    set_site_minimum(footfall, 3)
    visitors.open(url, EDGE_UA)
    widget_text(first, "3 shoppers looking at this plan")
    assert visitors.errors == []


def test_the_owners_minimum_hides_the_count_without_a_fallback(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    set_site_minimum(footfall, 2)
    key = create_key(footfall, site.origin)
    site.pages["/pricing"] = pricing_page(footfall, script_tag(footfall, key))
    first = visitors.open(f"{site.origin}/pricing", CHROME_UA)
    first.wait_for_function(
        "() => { const el = document.querySelector('footfall-live');"
        " return el && el.dataset.state === 'hidden' && el.hidden; }"
    )
    assert first.text_content("footfall-live") == ""  # the count below it never reaches the page
    visitors.open(f"{site.origin}/pricing", FIREFOX_UA)
    widget_text(first, "2 people viewing now")


def test_falls_back_to_polling_without_event_source(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    key = create_key(footfall, site.origin, "/pricing")
    site.pages["/pricing"] = pricing_page(
        footfall, script_tag(footfall, key, path="/pricing", interval="2")
    )
    url = f"{site.origin}/pricing"
    polled: list[str] = []
    first = visitors.open(url, CHROME_UA, NO_EVENT_SOURCE)
    first.on("request", lambda r: polled.append(r.url) if "/api/v1/live" in r.url else None)
    widget_text(first, "1 person viewing now")
    visitors.open(url, FIREFOX_UA, NO_EVENT_SOURCE)
    widget_text(first, "2 people viewing now")  # at the next poll
    assert polled and all("/api/v1/live?" in u and "/stream" not in u for u in polled)
    assert visitors.errors == []


def test_an_unreachable_server_leaves_the_page_as_it_was(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    key = create_key(footfall, site.origin, "/pricing")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    site.pages["/plain"] = pricing_page(footfall, "")
    site.pages["/pricing"] = pricing_page(
        footfall, script_tag(footfall, key, api=nowhere, interval="2")
    )
    plain = visitors.open(f"{site.origin}/plain", CHROME_UA)
    expected = plain.locator("#after").bounding_box()

    page = visitors.open(f"{site.origin}/pricing", FIREFOX_UA)
    # The stream fails, the widget gives up on it and polls, which fails too: quietly.
    page.wait_for_event("requestfailed", lambda r: "/api/v1/live?" in r.url)
    widget = page.locator("footfall-live")
    assert widget.get_attribute("data-state") == "loading"
    assert widget.is_hidden()
    assert page.locator("#after").bounding_box() == expected  # no layout shift
    assert rejections(page) == []
    assert [e for e in visitors.errors if "net::ERR_" not in e] == []  # only network noise


def test_a_key_refused_by_the_server_turns_the_widget_off(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    key = create_key(footfall, "https://somewhere-else.example", "/pricing")  # not this site
    site.pages["/pricing"] = pricing_page(footfall, script_tag(footfall, key, path="/pricing"))
    page = visitors.open(f"{site.origin}/pricing", CHROME_UA)
    page.wait_for_function("() => document.querySelector('footfall-live').dataset.state === 'off'")
    assert page.locator("footfall-live").is_hidden()
    assert rejections(page) == []


def test_after_a_refused_stream_the_widget_streams_again(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    """A rolling deploy: the stream is answered 503 once, then the server is back. The widget
    polls meanwhile and returns to the stream on its own (a poll every hour could not show
    the second visitor in time: only the stream can)."""
    key = create_key(footfall, site.origin, "/pricing")
    site.pages["/pricing"] = pricing_page(
        footfall, script_tag(footfall, key, path="/pricing", interval="3600")
    )
    url = f"{site.origin}/pricing"
    streams: list[str] = []
    polls: list[str] = []

    def restarting(route: Route) -> None:
        streams.append(route.request.url)
        if len(streams) == 1:
            route.fulfill(
                status=503,
                headers={"Access-Control-Allow-Origin": "*", "Retry-After": "5"},
                content_type="application/json",
                body='{"error": "The server is shutting down; retry shortly"}',
            )
        else:
            route.continue_()

    first = visitors.open(url, CHROME_UA, streams=restarting)
    first.on("request", lambda r: polls.append(r.url) if "/api/v1/live?" in r.url else None)
    visitors.open(url, FIREFOX_UA)
    # The stream is tried again within 10 s of the refusal (first pause: 5 to 10 s).
    first.wait_for_function(
        "() => { const el = document.querySelector('footfall-live');"
        " return !!el && el.textContent === '2 people viewing now'; }",
        timeout=WAIT_MS + 10_000,
    )
    assert len(streams) == 2  # refused once, then open: no further reconnects
    assert len(polls) <= 1  # the one poll when the stream failed (the next is an hour away)
    visitors.open(url, EDGE_UA)
    widget_text(first, "3 people viewing now")  # pushed on the stream
    # The browser logs the 503 itself; the widget adds nothing.
    assert [e for e in visitors.errors if "status of 503" not in e] == []
    assert rejections(first) == []


GARBAGE = (
    "retry: 50\n"
    "data: {not json\n\n"
    "data: null\n\n"
    'data: {"currentVisitors": "9 <b>people</b>"}\n\n'
    "data: [1, 2]\n\n"
)


def test_garbage_on_the_stream_never_reaches_the_page(
    footfall: Footfall, site: StaticSite, visitors: Visitors
) -> None:
    """A proxy that mangles the stream: every event is nonsense. Nothing throws into the
    page, nothing of it is shown, and the widget falls back to polling the real count."""
    key = create_key(footfall, site.origin, "/pricing")
    site.pages["/pricing"] = pricing_page(
        footfall, script_tag(footfall, key, path="/pricing", interval="2")
    )
    mangled: list[str] = []

    def meddling(route: Route) -> None:
        mangled.append(route.request.url)
        route.fulfill(
            status=200,
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
            content_type="text/event-stream",
            body=GARBAGE,
        )

    page = visitors.open(f"{site.origin}/pricing", CHROME_UA, streams=meddling)
    widget_text(page, "1 person viewing now")  # polled, after the stream kept failing
    assert len(mangled) >= 4  # every event of several streams was garbage
    assert page.locator("footfall-live").get_attribute("data-count") == "1"
    assert page.locator("footfall-live").get_attribute("data-state") == "live"
    assert visitors.errors == []
    assert rejections(page) == []
