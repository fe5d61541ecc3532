"""Shared fixtures: an injected clock, a fresh data folder and app per test, a site + token.

HTTP goes through `httpx.AsyncClient(transport=ASGITransport(app))`, with the app's lifespan
run for real (stores opened, live state rebuilt, writer started and drained).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from footfall.app import create_app
from footfall.config import Settings
from footfall.services import Services
from footfall.storage.models import Site

pytest_plugins = ["tests.backends"]

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
START = 1_790_000_000.0  # 2026-09-21T14:13:20Z: a fixed, arbitrary "now"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = START) -> None:
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass
class Running:
    """A started app with its client, services, clock, and a site with one token."""

    app: Starlette
    client: httpx.AsyncClient
    clock: FakeClock
    site: Site
    token: str

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def pageview(
        self,
        *,
        ua: str = CHROME_UA,
        ip: str = "203.0.113.7",
        path: str = "/",
        name: str = "pageview",
        site_id: str | None = None,
    ) -> httpx.Response:
        """Send a tracker hit as a browser at `ip` with user agent `ua` would."""
        body = {
            "websiteId": site_id or self.site.id,
            "name": name,
            "url": f"https://{self.site.domain}{path}",
        }
        return await self.client.post(
            "/api/event",
            json=body,
            headers={"User-Agent": ua, "X-Forwarded-For": ip},
        )

    async def realtime(
        self, token: str | None = None, site_id: str | None = None
    ) -> httpx.Response:
        return await self.client.get(
            "/api/v1/realtime",
            params={"websiteId": site_id or self.site.id},
            headers={"Authorization": f"Bearer {token or self.token}"},
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The ASGI test transport's peer is 127.0.0.1; trusting it lets tests choose client IPs.
    return Settings(data_dir=tmp_path / "data", access_log=False, trusted_proxies=["127.0.0.1/32"])


@contextlib.asynccontextmanager
async def start_app(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """Run an app's lifespan and yield it with a client bound to it."""
    app = create_app(settings, clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@pytest.fixture
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[Running]:
    async with start_app(settings, clock) as (app, client):
        services: Services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        yield Running(app, client, clock, site, token)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test is a failed run here: every test must run, real services included."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(
                f"FAILED: {skipped} test(s) skipped; skipping is not allowed.", red=True
            )
