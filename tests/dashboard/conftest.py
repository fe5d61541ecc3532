"""Dashboard tests over HTTP: an app per test and "browsers" (cookie jars) to drive it.

A `Browser` is an httpx client with its own cookies, bound to the app through the ASGI
transport; it remembers the CSRF token of the last page it loaded and sends it with forms,
as a real browser submitting that page's form would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from footfall.accounts.members import Memberships
from footfall.accounts.users import UserStore
from footfall.config import Settings
from footfall.services import Services
from tests.browser import browser, failed, playwright, pytest_runtest_makereport
from tests.conftest import FakeClock, start_app

# Re-exported: Chromium for the browser tests; the hook records test outcomes for this folder
# and `failed` reads them.
__all__ = ["browser", "failed", "playwright", "pytest_runtest_makereport"]

PASSWORD = "correct horse battery"
OWNER = "owner@example.org"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
_SITE_ID = re.compile(r"/sites/([0-9a-f-]{36})/")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class Browser:
    client: httpx.AsyncClient
    csrf: str | None = None

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Submit a form; with the CSRF token of the last page unless `csrf=False`."""
        fields = dict(data or {})
        if csrf and "csrf_token" not in fields:
            assert self.csrf, "load a page with a form first"
            fields["csrf_token"] = self.csrf
        response = await self.client.post(path, data=fields, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def form(self, page: str, action: str, data: dict[str, str]) -> httpx.Response:
        """Load `page`, then submit its form to `action`."""
        loaded = await self.get(page)
        assert loaded.status_code == 200, (page, loaded.status_code, loaded.text[:500])
        return await self.post(action, data)

    @property
    def session_cookie(self) -> str | None:
        return self.client.cookies.get("footfall_session")

    def plant_session(self, value: str) -> None:
        """Replace the session cookie by `value` (as an attacker planting one would)."""
        self.client.cookies.clear()
        self.client.cookies.set("footfall_session", value, domain="testserver.local")

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.form("/login", "/login", {"email": email, "password": password})

    async def add_site(self, domain: str, name: str = "", timezone: str = "UTC") -> str:
        response = await self.form(
            "/sites/new", "/sites/new", {"domain": domain, "name": name, "timezone": timezone}
        )
        assert response.status_code == 303, response.text[:2000]
        found = _SITE_ID.search(response.headers["location"])
        assert found
        return found.group(1)


@dataclass
class Dash:
    """A running app, its clock, and the browsers opened on it."""

    app: Starlette
    clock: FakeClock
    base_url: str
    browsers: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def browser(self, **headers: str) -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=self.base_url,
            headers=headers,
        )
        self.browsers.append(client)
        return Browser(client)

    async def owner(self) -> Browser:
        """A browser that went through first-run set-up and is signed in as the owner."""
        browser = await self.browser()
        response = await browser.form(
            "/setup",
            "/setup",
            {"email": OWNER, "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert response.status_code == 303, response.text[:2000]
        return browser

    async def user(self, email: str, *, admin: bool = False) -> Browser:
        """A browser signed in as a new (non-owner) user."""
        await self.users.create(email, PASSWORD, self.clock.now(), is_admin=admin)
        browser = await self.browser()
        response = await browser.sign_in(email)
        assert response.status_code == 303, response.text[:2000]
        return browser

    @property
    def users(self) -> UserStore:
        return UserStore(self.services.meta.engine)

    def services_members(self) -> Memberships:
        return Memberships(self.services.meta.engine)


async def _dash(settings: Settings, clock: FakeClock, base_url: str) -> AsyncIterator[Dash]:
    async with start_app(settings, clock) as (app, _client):
        dash = Dash(app, clock, base_url)
        try:
            yield dash
        finally:
            for client in dash.browsers:
                await client.aclose()


@pytest.fixture
async def dash(settings: Settings, clock: FakeClock) -> AsyncIterator[Dash]:
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


@pytest.fixture
async def https_dash(settings: Settings, clock: FakeClock) -> AsyncIterator[Dash]:
    async for value in _dash(settings, clock, "https://testserver"):
        yield value
