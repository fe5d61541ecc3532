"""The dashboard in cluster mode: two instances on one PostgreSQL and one Redis behave as one.

A session started on one instance works on the other and ends on both at logout; a site added
through one is listed by the other; failed sign-ins count across instances (the throttle's
buckets live in Redis).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from footfall.accounts.login_throttle import LIMIT
from footfall.config import Settings
from tests.conftest import FakeClock
from tests.dashboard.conftest import OWNER, Browser, Dash, _dash


@pytest.fixture
async def instances(
    tmp_path: Path, clock: FakeClock, pg_url: str, redis_url: str, redis_prefix: str
) -> AsyncIterator[tuple[Dash, Dash]]:
    settings = Settings(
        data_dir=tmp_path / "unused",
        database_url=pg_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        access_log=False,
        trusted_proxies=["127.0.0.1/32"],
    )
    async for a in _dash(settings, clock, "http://testserver"):
        async for b in _dash(settings, clock, "http://testserver"):
            yield a, b


async def _on(dash: Dash, cookie: str) -> Browser:
    browser = await dash.browser()
    browser.plant_session(cookie)
    return browser


async def test_sessions_sites_and_sign_out_span_instances(instances: tuple[Dash, Dash]) -> None:
    a, b = instances
    owner_a = await a.owner()
    cookie = owner_a.session_cookie
    assert cookie
    owner_b = await _on(b, cookie)
    site_id = await owner_b.add_site("shop.example", "Shop")
    assert "Shop" in (await owner_a.get("/sites")).text
    assert (await owner_a.get(f"/sites/{site_id}/install")).status_code == 200

    await owner_b.get("/sites")
    assert (await owner_b.post("/logout")).status_code == 303
    assert (await owner_a.get("/sites")).headers["location"] == "/login?next=/sites"


async def test_failed_sign_ins_count_on_every_instance(instances: tuple[Dash, Dash]) -> None:
    a, b = instances
    await a.owner()
    for attempt in range(LIMIT):
        dash = a if attempt % 2 else b
        browser = await dash.browser(**{"X-Forwarded-For": f"198.51.100.{attempt}"})
        assert (await browser.sign_in(OWNER, "wrong password")).status_code == 401
    for dash in (a, b):
        browser = await dash.browser(**{"X-Forwarded-For": "198.51.100.200"})
        assert (await browser.sign_in(OWNER)).status_code == 429
