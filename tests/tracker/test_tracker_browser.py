"""The tracker in a real browser, on a real cross-origin page, against a real `footfall serve`.

The host page is served by a separate static HTTP server at http://localhost:<port>/ and loads
the tracker from http://127.0.0.1:<footfall port>/script.js, as a customer's site would.
Headless Chromium announces itself as "HeadlessChrome", which Footfall rightly drops as a bot,
so the browser context poses as desktop Chrome.

Every wait is on a browser event (a tracker request finishing or failing) with Playwright's
timeout as the deadline; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
)

from footfall.storage.events import Event
from tests.browser import WAIT_MS, StaticSite, evidence_stem, failed, static_site
from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_cli, footfall_server, free_port, stored_events

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Makes the page look hidden, as while it is being closed: the tracker then sends beacons.
HIDE_PAGE = (
    "Object.defineProperty(Document.prototype, 'visibilityState', "
    "{get: function () { return 'hidden'; }});"
)
# Makes the tracker take its fetch() fallback: sendBeacon refuses to queue, as it may do when
# the browser's beacon quota is exhausted.
REFUSE_BEACONS = "Navigator.prototype.sendBeacon = function () { return false; };"
# Records unhandled promise rejections, which a swallowed fetch() failure must not cause.
RECORD_REJECTIONS = """
window.__rejections = [];
window.addEventListener('unhandledrejection', function (event) {
  window.__rejections.push(String(event.reason));
});
"""
# How the tracker sends -> (init scripts that make it send so, resource type of its requests).
# A visible page sends with fetch() (keepalive), so that failed sends can be retried.
TRANSPORTS = {
    "fetch": ((), "fetch"),
    "beacon": ((HIDE_PAGE,), "ping"),
    "refused_beacon": ((HIDE_PAGE, REFUSE_BEACONS), "fetch"),
}
EVENT_ID = re.compile(r"[0-9a-z]{16}")
START_MS = 1_790_000_000_000  # the fake clock's start in the retry-limit test (2026-09-21)


# -- the Footfall server ------------------------------------------------------------------------


@dataclass
class Footfall:
    """A running `footfall serve` with a site for "localhost" and an API token."""

    server: ServerProcess
    data_dir: Path
    site_id: str
    token: str

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/event"

    def current_visitors(self) -> int:
        response = httpx.get(
            f"{self.server.url}/api/v1/realtime",
            params={"websiteId": self.site_id},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10.0,
        )
        assert response.status_code == 200, response.text
        count: int = response.json()["currentVisitors"]
        return count

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM: the writer drains), as an operator would."""
        # uvicorn re-raises the SIGTERM it handled once shut down: -SIGTERM is a clean exit,
        # -SIGKILL would mean it had to be killed.
        assert self.server.stop() in (0, -signal.SIGTERM), self.server.log()[-3000:]

    def stored_events(self) -> list[Event]:
        """The events in the DuckDB file; only once the server has stopped (it owns the file)."""
        assert self.server.process.poll() is not None, "stop the server before reading its files"
        return stored_events(self.data_dir, self.site_id)


@pytest.fixture
def footfall(tmp_path: Path) -> Iterator[Footfall]:
    data_dir = tmp_path / "data"
    added = footfall_cli("sites", "add", "localhost", "--json", data_dir=data_dir)
    site_id = json.loads(added.stdout.strip().splitlines()[-1])["websiteId"]
    created = footfall_cli("tokens", "create", site_id, data_dir=data_dir)
    token = created.stdout.strip().splitlines()[-1]
    with footfall_server(data_dir) as server:
        yield Footfall(server, data_dir, site_id, token)


# -- the customer's site: a separate static HTTP server ----------------------------------------


@pytest.fixture
def site() -> Iterator[StaticSite]:
    with static_site("static-site") as static:
        yield static


def shop_page(script_src: str, site_id: str, data_api: str | None = None) -> str:
    """A small single-page app carrying the tracker snippet, with its own script."""
    api_attr = f' data-api="{data_api}"' if data_api else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="icon" href="data:,">
<script defer src="{script_src}" data-website-id="{site_id}"{api_attr}></script>
</head><body>
<h1>Shop</h1>
<a href="/pricing" id="to-pricing">Pricing</a>
<button id="signup" type="button">Sign up</button>
<p id="status">loading</p>
<script>
  var shown = document.getElementById('status');
  document.getElementById('to-pricing').addEventListener('click', function (event) {{
    event.preventDefault();
    history.pushState({{}}, '', '/pricing');
    shown.textContent = 'at ' + location.pathname;
  }});
  document.getElementById('signup').addEventListener('click', function () {{
    footfall('signup', {{plan: 'pro'}});
    shown.textContent = 'signed up';
  }});
  window.addEventListener('load', function () {{ shown.textContent = 'ready'; }});
</script>
</body></html>
"""


# -- the browser --------------------------------------------------------------------------------


@dataclass
class Tab:
    """A page with everything it reported: console errors, uncaught errors, tracker requests."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def rejections(self) -> list[str]:
        result: list[str] = self.page.evaluate("window.__rejections")
        return result


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(user_agent=CHROME_UA)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(RECORD_REJECTIONS)
    yield context
    context.close()


@pytest.fixture
def tab(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Tab]:
    page = context.new_page()
    tab = Tab(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(f"{message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.page_errors.append(f"{error.name}: {error.message}"))
    page.on("request", lambda req: tab.requests.append(req) if "/api/event" in req.url else None)
    yield tab
    if failed(request.node):
        stem = evidence_stem(request.node)
        with contextlib.suppress(Exception):  # the evidence must not mask the failure
            page.screenshot(path=f"{stem}.png", full_page=True)
            stem.with_name(f"{stem.name}.log").write_text(
                f"console errors: {tab.console_errors}\npage errors: {tab.page_errors}\n"
                f"tracker requests: {[(r.url, r.post_data) for r in tab.requests]}\n"
            )


def is_tracker_post(api: str, name: str) -> Callable[[Request], bool]:
    """Matches the tracker's POST of event `name` to `api`."""

    def match(req: Request) -> bool:
        return req.url == api and req.method == "POST" and sent_name(req) == name

    return match


def response_to(api: str, name: str) -> Callable[[Response], bool]:
    """Matches Footfall's response to the tracker's POST of event `name`."""
    match = is_tracker_post(api, name)
    return lambda response: match(response.request)


def sent_name(req: Request) -> str | None:
    try:
        name: str = json.loads(req.post_data or "")["name"]
    except (ValueError, KeyError, TypeError):
        return None
    return name


def accepted(response: Response, transport: str) -> None:
    """The tracker's request went the expected way and Footfall accepted it."""
    assert response.status == 202
    assert response.request.resource_type == TRANSPORTS[transport][1]


def use_transport(context: BrowserContext, transport: str) -> None:
    for script in TRANSPORTS[transport][0]:
        context.add_init_script(script)


# -- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_pageviews_spa_navigation_and_custom_event_are_recorded(
    footfall: Footfall, site: StaticSite, context: BrowserContext, tab: Tab, transport: str
) -> None:
    use_transport(context, transport)
    site.pages["/"] = shop_page(f"{footfall.server.url}/script.js", footfall.site_id)
    page = tab.page

    assert footfall.current_visitors() == 0

    with page.expect_response(response_to(footfall.api, "pageview")) as first:
        page.goto(f"{site.origin}/")
    accepted(first.value, transport)
    # The server answers only after the event is committed and counted: no polling needed.
    assert footfall.current_visitors() == 1

    with page.expect_response(response_to(footfall.api, "pageview")) as second:
        page.click("#to-pricing")
    accepted(second.value, transport)
    assert page.text_content("#status") == "at /pricing"

    with page.expect_response(response_to(footfall.api, "signup")) as custom:
        page.click("#signup")
    accepted(custom.value, transport)
    assert page.text_content("#status") == "signed up"

    assert footfall.current_visitors() == 1  # still one person, not one per event
    sent = [(sent_name(r), json.loads(r.post_data or "{}").get("url")) for r in tab.requests]
    assert sent == [
        ("pageview", f"{site.origin}/"),
        ("pageview", f"{site.origin}/pricing"),
        ("signup", f"{site.origin}/pricing"),
    ]
    event_ids = [json.loads(r.post_data or "{}")["eventId"] for r in tab.requests]
    assert all(EVENT_ID.fullmatch(event_id) for event_id in event_ids)
    assert len(set(event_ids)) == 3
    assert tab.page_errors == []
    assert tab.rejections() == []
    assert tab.console_errors == []

    footfall.stop()
    events = footfall.stored_events()
    assert [e.event_id for e in events] == event_ids
    assert [(e.name, e.hostname, e.pathname, e.props) for e in events] == [
        ("pageview", "localhost", "/", {}),
        ("pageview", "localhost", "/pricing", {}),
        ("signup", "localhost", "/pricing", {"plan": "pro"}),
    ]
    assert len({e.visitor_id for e in events}) == 1
    assert len({e.visit_id for e in events}) == 1
    assert events[0].visitor_id != 0
    # In-site navigation is not a referrer; the browser is the one the context poses as.
    assert [e.referrer for e in events] == [None, None, None]
    assert {(e.browser, e.os, e.device_type) for e in events} == {("Chrome", "Windows", "desktop")}


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("outage", ["api_port_closed", "server_stopped_after_load"])
def test_unreachable_server_never_breaks_the_page(
    footfall: Footfall,
    site: StaticSite,
    context: BrowserContext,
    tab: Tab,
    transport: str,
    outage: str,
) -> None:
    use_transport(context, transport)
    script_src = f"{footfall.server.url}/script.js"
    if outage == "api_port_closed":
        api = f"http://127.0.0.1:{free_port()}/api/event"  # nothing listens there
        site.pages["/"] = shop_page(script_src, footfall.site_id, data_api=api)
    else:
        api = footfall.api
        site.pages["/"] = shop_page(script_src, footfall.site_id)
    page = tab.page

    if outage == "api_port_closed":
        with page.expect_event("requestfailed", is_tracker_post(api, "pageview")):
            page.goto(f"{site.origin}/")
    else:
        with page.expect_response(response_to(api, "pageview")) as first:
            page.goto(f"{site.origin}/")
        accepted(first.value, transport)
        footfall.stop()
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")
    assert page.evaluate("typeof window.footfall") == "function"

    with page.expect_event("requestfailed", is_tracker_post(api, "pageview")):
        page.click("#to-pricing")
    assert page.text_content("#status") == "at /pricing"
    with page.expect_event("requestfailed", is_tracker_post(api, "signup")):
        page.click("#signup")
    assert page.text_content("#status") == "signed up"
    # Odd calls are ignored without throwing either.
    assert page.evaluate("footfall(); footfall('x', 'not an object'); 'still running'") == (
        "still running"
    )

    assert tab.page_errors == []
    assert tab.rejections() == []
    assert {r.resource_type for r in tab.requests} == {TRANSPORTS[transport][1]}


def test_visitor_who_opted_out_sends_nothing(
    footfall: Footfall, site: StaticSite, tab: Tab
) -> None:
    site.pages["/opt-out"] = (
        "<!doctype html><link rel='icon' href='data:,'><p>Not counted on this browser.</p>"
        "<script>localStorage.setItem('footfall_ignore', 'true');</script>"
    )
    site.pages["/"] = shop_page(f"{footfall.server.url}/script.js", footfall.site_id)
    page = tab.page

    page.goto(f"{site.origin}/opt-out")
    assert page.evaluate("localStorage.getItem('footfall_ignore')") == "true"
    page.goto(f"{site.origin}/")
    page.wait_for_function("document.getElementById('status').textContent === 'ready'")
    page.click("#to-pricing")
    page.click("#signup")
    assert page.text_content("#status") == "signed up"

    # A control event once the visitor opts back in: a request from the earlier calls would
    # have gone out before this one, so once it is through, they are known to have sent nothing.
    page.evaluate("localStorage.removeItem('footfall_ignore')")
    with page.expect_response(response_to(footfall.api, "control")) as control:
        page.evaluate("footfall('control')")
    assert control.value.status == 202

    assert [sent_name(r) for r in tab.requests] == ["control"]
    assert footfall.current_visitors() == 0  # no pageview arrived
    assert tab.page_errors == []
    footfall.stop()
    assert [(e.name, e.pathname) for e in footfall.stored_events()] == [("control", "/pricing")]


REFUSED = json.dumps({"error": "Ingestion is over capacity; retry shortly"})


def test_a_send_refused_with_503_is_retried_after_retry_after_and_stored_once(
    footfall: Footfall, site: StaticSite, tab: Tab
) -> None:
    """The first send meets a 503 (as from a full writer queue): the tracker waits for
    Retry-After and sends the same event again, which is stored and counted once."""
    site.pages["/"] = shop_page(f"{footfall.server.url}/script.js", footfall.site_id)
    page = tab.page
    refused: list[Request] = []

    def refuse_first(route: Route) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request)
        route.fulfill(
            status=503,
            headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Retry-After",
                "Retry-After": "1",
                "Content-Type": "application/json",
            },
            body=REFUSED,
        )

    page.route(footfall.api, refuse_first)
    with page.expect_response(lambda r: r.url == footfall.api and r.status == 202) as retried:
        page.goto(f"{site.origin}/")
    assert len(refused) == 1
    # The same event, id included, went again, once Retry-After had passed.
    assert retried.value.request.post_data == refused[0].post_data
    assert retried.value.request.timing["startTime"] - refused[0].timing["startTime"] >= 1000
    assert retried.value.headers.get("x-footfall-dropped") is None
    assert footfall.current_visitors() == 1
    assert tab.page_errors == [] and tab.rejections() == []

    footfall.stop()
    (event,) = footfall.stored_events()
    assert event.event_id == json.loads(refused[0].post_data or "{}")["eventId"]


def test_an_event_whose_answer_was_lost_is_retried_and_stored_once(
    footfall: Footfall, site: StaticSite, tab: Tab
) -> None:
    """The first send reaches Footfall (stored) but its answer is lost on the way back: the
    tracker sees a network error and retries; Footfall recognises the id (a `duplicate`)."""
    site.pages["/"] = shop_page(f"{footfall.server.url}/script.js", footfall.site_id)
    page = tab.page
    delivered: list[int] = []

    def lose_first_answer(route: Route) -> None:
        if delivered:
            route.continue_()
            return
        delivered.append(route.fetch().status)  # Footfall stores the event and answers…
        route.abort("connectionreset")  # …but the page never hears of it

    page.route(footfall.api, lose_first_answer)
    with page.expect_response(lambda r: r.url == footfall.api and r.status == 202) as retried:
        page.goto(f"{site.origin}/")
    assert delivered == [202]
    assert retried.value.headers["x-footfall-dropped"] == "duplicate"
    assert footfall.current_visitors() == 1
    assert tab.page_errors == [] and tab.rejections() == []

    footfall.stop()
    (event,) = footfall.stored_events()
    assert event.event_id == json.loads(retried.value.request.post_data or "{}")["eventId"]


# Counts the tracker's fetch() calls, and the answers it has handled: the counting reaction is
# registered one microtask after the tracker's own, so it runs after the tracker's (which
# schedules the retry) — `__answered` = n means the tracker has seen n answers.
COUNT_FETCHES = """
window.__sends = 0;
window.__answered = 0;
(function (original) {
  window.fetch = function () {
    window.__sends += 1;
    var sent = original.apply(this, arguments);
    var counted = function () { window.__answered += 1; };
    Promise.resolve().then(function () { sent.then(counted, counted); });
    return sent;
  };
})(window.fetch);
"""


@dataclass
class RefusingServer:
    """An ingestion endpoint that answers every send 503 with `Retry-After`, and counts them."""

    url: str
    bodies: list[bytes]


@contextlib.contextmanager
def refusing_server(retry_after: int) -> Iterator[RefusingServer]:
    bodies: list[bytes] = []
    lock = threading.Lock()

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                bodies.append(body)
            payload = REFUSED.encode()
            self.send_response(503)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Expose-Headers", "Retry-After")
            self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `bodies`

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RefusingServer(f"http://127.0.0.1:{server.server_address[1]}/api/event", bodies)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_send_refused_every_time_is_tried_four_times_after_retry_after(
    footfall: Footfall, site: StaticSite, tab: Tab
) -> None:
    """Every send meets a 503 with `Retry-After: 3`: the tracker sends the event once and
    retries it exactly 3 times, each retry no sooner than 3 seconds after the refusal (its own
    backoff would retry after 1, 2 and 4), then gives up.

    The page's clock is Playwright's fake one, moved by the test: "no sooner" is checked by
    moving it to just before the allowed moment, "gives up" by moving it ten minutes on."""
    retry_after = 3
    page = tab.page
    page.add_init_script(COUNT_FETCHES)
    page.clock.install(time=START_MS)
    page.clock.pause_at(START_MS + 1000)
    with refusing_server(retry_after) as refusing:
        site.pages["/"] = shop_page(
            f"{footfall.server.url}/script.js", footfall.site_id, data_api=refusing.url
        )
        page.goto(f"{site.origin}/")

        def until_answered(attempts: int) -> None:
            # Deadlines on the browser and on the server (real time); the page's clock stands.
            page.wait_for_function(f"window.__answered >= {attempts}", timeout=WAIT_MS)
            assert page.evaluate("window.__sends") == attempts
            assert len(refusing.bodies) == attempts

        until_answered(1)
        for attempt in (2, 3, 4):
            page.clock.run_for(retry_after * 1000 - 1)  # not yet: Retry-After is not over
            assert page.evaluate("window.__sends") == attempt - 1
            page.clock.run_for(1001)  # past Retry-After and the tracker's jitter (under 1 s)
            until_answered(attempt)

        page.clock.run_for(10 * 60 * 1000)  # no fifth try, however long the page stays open
        assert page.evaluate("window.__sends") == 4
        assert len(refusing.bodies) == 4
        # The same event every time (its id included), so that a server could store it once.
        assert len(set(refusing.bodies)) == 1
        assert EVENT_ID.fullmatch(json.loads(refusing.bodies[0])["eventId"])
    assert tab.page_errors == [] and tab.rejections() == []
