"""The demo page under its Content-Security-Policy in real Chromium: the tracker loads, its
pageview and a custom event are accepted, the page's own inline code runs, and the browser
reports no policy violation; while a script injected into the page is refused.

Headless Chromium announces itself as "HeadlessChrome" (dropped as a bot), so the context
poses as desktop Chrome. Every wait is on a browser event with Playwright's deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Response, sync_playwright

from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 15_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with footfall_server(tmp_path / "data", args=("--demo",)) as running:
        yield running


def test_demo_page_works_under_its_policy(server: ServerProcess) -> None:
    messages: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(user_agent=CHROME_UA)
            page = context.new_page()

            def on_console(message: ConsoleMessage) -> None:
                messages.append(message.text)

            page.on("console", on_console)
            api = f"http://localhost:{server.port}/api/event"

            def answer_to(name: str) -> Callable[[Response], bool]:
                def match(response: Response) -> bool:
                    request = response.request
                    return request.url == api and f'"name":"{name}"' in (request.post_data or "")

                return match

            with page.expect_response(answer_to("pageview"), timeout=WAIT_MS) as pageview:
                page.goto(f"http://localhost:{server.port}/demo")
            # 202 and no drop reason: stored (bodies of keepalive requests are not readable).
            assert pageview.value.status == 202
            assert "x-footfall-dropped" not in pageview.value.headers

            # The page's inline script (allowed by its hash) wires the buttons.
            with page.expect_response(answer_to("demo-click"), timeout=WAIT_MS) as custom:
                page.click("#custom-event")
            assert custom.value.status == 202
            assert "x-footfall-dropped" not in custom.value.headers
            page.click("#spa-nav")
            assert page.text_content("#where", timeout=WAIT_MS).startswith("Now at /demo/page-")

            # What an attacker would inject is refused by the policy.
            page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.injected = true'; document.body.append(s); }"
            )
            assert page.evaluate("() => window.injected === undefined")
            context.close()
        finally:
            browser.close()
    violations = [m for m in messages if "Content Security Policy" in m]
    assert len(violations) == 1 and "inline script" in violations[0], messages
