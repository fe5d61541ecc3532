"""Cluster mode with Redis unreachable: the API's rate limits fail open, as documented; the
login throttle fails closed (no password guessing at full speed during an outage); the rest of
the dashboard and the Stats API (PostgreSQL only) keep working.

Redis is reached through a TCP proxy the test cuts, so the shared Redis server stays up.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from footfall.accounts.login_throttle import OUTAGE_RETRY_AFTER
from footfall.config import Settings
from footfall.ratelimit.redis import OUTAGE_BACKOFF, RedisRateLimiter
from tests.backends import REDIS_URL
from tests.conftest import FakeClock
from tests.dashboard.conftest import OWNER, PASSWORD, Dash, _dash
from tests.tcpproxy import TcpProxy


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(urlsplit(REDIS_URL).port or 6379)
    yield proxy
    proxy.close()


@pytest.fixture
async def dash(
    tmp_path: Path, pg_url: str, redis_prefix: str, proxy: TcpProxy, clock: FakeClock
) -> AsyncIterator[Dash]:
    settings = Settings(
        data_dir=tmp_path / "data",
        access_log=False,
        trusted_proxies=["127.0.0.1/32"],
        database_url=pg_url,
        redis_url=proxy.url(REDIS_URL),
        redis_prefix=redis_prefix,
        rate_limit_stats_per_second=0.5,
        rate_limit_stats_burst=2,
    )
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


async def stats(api: httpx.AsyncClient, site: str, token: str) -> httpx.Response:
    return await api.get(
        "/api/v1/stats/aggregate",
        params={"websiteId": site, "metrics": "visitors"},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_redis_outage_limits_fail_open_and_sign_in_fails_closed(
    dash: Dash, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(dash.services.limits.limiter, RedisRateLimiter)
    owner = await dash.owner()
    site = await owner.add_site("shop.example")
    token, _ = await dash.services.meta.create_token(site, dash.clock.now())
    api = (await dash.browser()).client

    # Redis up: the Stats API's limit (burst 2) holds.
    assert [(await stats(api, site, token)).status_code for _ in range(3)] == [200, 200, 429]
    dash.clock.advance(60)  # the bucket refills, and no refusal is remembered any more
    signed_out = await dash.browser()
    assert (await signed_out.get("/login")).status_code == 200

    proxy.cut()
    caplog.set_level(logging.WARNING)
    # The API's limits let requests through (documented: an outage of the cache is not an
    # outage of the API), and say so once in the log.
    assert [(await stats(api, site, token)).status_code for _ in range(5)] == [200] * 5
    warnings = [r for r in caplog.records if "Redis unavailable; allowing" in r.getMessage()]
    assert len(warnings) == 1

    # The login throttle cannot count failures: sign-in is refused, right password or wrong.
    for password in ("wrong guess 1", PASSWORD, "wrong guess 2"):
        refused = await signed_out.post("/login", {"email": OWNER, "password": password})
        assert refused.status_code == 503, refused.text[:500]
        assert refused.headers["retry-after"] == str(OUTAGE_RETRY_AFTER)
        assert "sign-in throttle backend is unavailable" in refused.text
        assert "footfall_session" not in refused.headers.get("set-cookie", "")
    # So is a password change (the same throttle guards the current password).
    await owner.get("/account")
    change = await owner.post(
        "/account/password",
        {"current_password": PASSWORD, "password": "y" * 12, "password_confirm": "y" * 12},
    )
    assert change.status_code == 503
    assert await dash.users.authenticate(OWNER, PASSWORD) is not None  # unchanged

    # Signed-in users keep working: sessions and sites live in PostgreSQL.
    assert (await owner.get("/sites")).status_code == 200
    assert (await owner.get(f"/sites/{site}/settings")).status_code == 200

    # Redis back: once the limiter asks it again, sign-in works.
    proxy.restore()
    dash.clock.advance(OUTAGE_BACKOFF + 1)
    signed_in = await signed_out.form("/login", "/login", {"email": OWNER, "password": PASSWORD})
    assert signed_in.status_code == 303
    assert (await signed_out.get("/sites")).status_code == 200
    assert [(await stats(api, site, token)).status_code for _ in range(3)] == [200, 200, 429]
