"""Chromium for the browser tests: launch, deadlines, evidence kept when a test fails, and a
customer's site (static pages on another origin) for the browser to load.

Test modules import the `playwright` and `browser` fixtures from here; a folder's conftest
imports `pytest_runtest_makereport`, so that `failed` can tell a fixture's teardown whether the
test failed (and it saves screenshots under `test-artifacts/`).
"""

from __future__ import annotations

import contextlib
import http.server
import re
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # the deadline of every wait on the browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's outcome, so browser fixtures can keep evidence of a failure."""
    report: pytest.TestReport = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    """True when the test's setup or body failed (checked from a fixture's teardown)."""
    return any(report.failed for report in item.stash.get(PHASE_REPORTS, {}).values())


def evidence_stem(item: pytest.Item) -> Path:
    """Where a failed test's evidence goes: `test-artifacts/<test name>` plus a suffix."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])


def save_evidence(
    stem: Path, context: BrowserContext, console: dict[str, list[str]], server_log: str
) -> list[Path]:
    """Keep what a failed test saw: `<stem>.log` (each tab's console errors, then the end of
    the server's log) and `<stem>-tab<N>.png`, a full-page screenshot of each open tab.
    Returns the files written. The log is written first and a tab that cannot be captured
    (crashed, closed meanwhile) is skipped, so one broken tab does not cost the rest."""
    written = [stem.with_name(f"{stem.name}.log")]
    written[0].write_text(f"console errors: {console}\n\nserver log:\n{server_log[-5000:]}\n")
    for index, page in enumerate(context.pages):
        shot = stem.with_name(f"{stem.name}-tab{index}.png")
        with contextlib.suppress(PlaywrightError):
            page.screenshot(path=shot, full_page=True)
            written.append(shot)
    return written


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@dataclass
class StaticSite:
    """Pages served at http://localhost:<port><path>, set by the test before it opens them."""

    port: int = 0
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"


@contextlib.contextmanager
def static_site(name: str) -> Iterator[StaticSite]:
    """A `StaticSite` served by a thread of this process (404 for a path with no page; nothing
    cached) until the block ends."""
    site = StaticSite()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(self.path)
            body = (page if page is not None else "not found").encode()
            self.send_response(200 if page is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
