"""Per-client caps against one client starving the others, on real components:

- live streams per client (a salted hash of the address, never the address): 429 beyond
  `live_max_streams_per_client`, other clients unaffected, a closed stream frees its place;
- made-up Bearer tokens on `POST /api/v1/events` are charged to the client's ingestion bucket
  (as made-up website ids are), malformed ones cost nothing and real tokens still import;
- the dashboard's stats endpoints: a per-user rate limit (429 with `Retry-After` and
  `RateLimit-*`, as the API) and a per-user cap on CSV downloads in progress (429).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.auth.tokens import generate_token
from footfall.config import Settings
from footfall.services import Services
from tests.api.test_live_stream import ORIGIN, LiveServer, live_server, live_settings, until
from tests.conftest import FakeClock, Running, start_app
from tests.dashboard.conftest import OWNER, Dash, _dash


def assert_retry_later(response: httpx.Response, words: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == "5"
    assert words in response.json()["error"]


# -- live streams per client ------------------------------------------------------------------


@pytest.fixture
async def capped(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LiveServer]:
    settings = live_settings(tmp_path, live_max_streams_per_client=2)
    async with live_server(settings, clock) as server:
        yield server


async def test_one_client_cannot_take_every_live_stream(capped: LiveServer) -> None:
    live, hub = capped, capped.services.live
    caps = live.services.live_stream_caps
    mine, other = "203.0.113.7", "198.51.100.20"

    async def open_more(ip: str) -> httpx.Response:
        return await live.client.get(
            f"{live.url}/api/v1/live/stream",
            params={"key": live.key.key},
            headers={"Origin": ORIGIN, "X-Forwarded-For": ip},
        )

    async with live.stream(X_Forwarded_For=mine) as first, live.stream(X_Forwarded_For=mine):
        await first.next_event()
        refused = await open_more(mine)
        assert_retry_later(refused, "At most 2 live streams")
        assert refused.headers["Access-Control-Allow-Origin"] == "*"  # a widget can read why
        # Another address is not affected.
        async with live.stream(X_Forwarded_For=other) as theirs:
            assert (await theirs.next_event()).json()["currentVisitors"] == 0
            assert hub.streams == 3
        # Counted under the live rate limit's salted hash: the address is nowhere.
        key = await live.services.limits.client_key(mine, live.clock.now())
        assert mine not in key and caps.open_for(key) == 2
        assert caps.open_for(mine) == 0
    # Closed streams give their places back: the client may open streams again.
    await until(lambda: hub.streams == 0 and caps.open_for(key) == 0)
    async with live.stream(X_Forwarded_For=mine) as again:
        assert (await again.next_event()).json()["currentVisitors"] == 0


# -- made-up tokens on the import endpoint ------------------------------------------------------

LIMITED_CLIENT = {"rate_limit_ingest_client_per_second": 0.01, "rate_limit_ingest_client_burst": 3}


@pytest.fixture
async def importer(settings: Settings, clock: FakeClock) -> AsyncIterator[Running]:
    async with start_app(settings.model_copy(update=LIMITED_CLIENT), clock) as (app, client):
        services: Services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        yield Running(app, client, clock, site, token)


async def _import(running: Running, token: str, ip: str) -> httpx.Response:
    return await running.client.post(
        "/api/v1/events",
        json={"events": [{"name": "pageview", "url": "https://example.com/", "visitorId": "v1"}]},
        headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": ip},
    )


async def test_made_up_tokens_are_charged_to_the_client(importer: Running) -> None:
    """Each well-formed token that is no site's costs a metadata lookup: past the client's
    ingestion bucket (burst 3 here) the client gets 429s instead of more lookups."""
    ip = "203.0.113.9"
    answers = [await _import(importer, generate_token(), ip) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[3].headers["Retry-After"] == "100"  # a bucket refilling at 0.01/s
    assert answers[3].headers["RateLimit-Remaining"] == "0"
    # A malformed token costs no lookup: its 401 comes first and is never charged.
    assert (await _import(importer, "vt_not-a-token", ip)).status_code == 401
    # Another client is not affected; the site's real token still imports from anywhere.
    assert (await _import(importer, generate_token(), "198.51.100.5")).status_code == 401
    accepted = await _import(importer, importer.token, ip)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["accepted"] == 1


# -- the dashboard's stats endpoints ------------------------------------------------------------


@pytest.fixture
async def dash(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Dash]:
    settings = Settings(
        data_dir=tmp_path / "data",
        access_log=False,
        trusted_proxies=["127.0.0.1/32"],
        rate_limit_dashboard_stats_per_second=0.01,
        rate_limit_dashboard_stats_burst=3,
    )
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


async def test_dashboard_stats_are_rate_limited_per_user(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example", "Shop")
    other = await dash.user("admin@example.com", admin=True)  # sees every site

    async def ask(browser: Any, kind: str = "aggregate") -> httpx.Response:
        response: httpx.Response = await browser.get(
            f"/sites/{site_id}/stats/{kind}", params={"period": "7d"}
        )
        return response

    answers = [await ask(owner), await ask(owner, "timeseries"), await ask(owner)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    refused = await ask(owner, "breakdown")
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "100"
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Policy"] == "3;w=300"
    assert refused.json() == {"error": "Too many requests; retry in 100 seconds"}
    # Per user: another user's bucket is their own.
    assert (await ask(other)).status_code == 200
    # Signed out: 401, not a bucket of anyone's.
    signed_out = await dash.browser()
    assert (await ask(signed_out)).status_code == 401
    dash.clock.advance(100)  # the bucket refills (the limiter reads the app's clock)
    assert (await ask(owner)).status_code == 200


async def test_a_dashboard_user_has_at_most_two_downloads_in_progress(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example", "Shop")
    other = await dash.user("admin@example.com", admin=True)
    path = f"/sites/{site_id}/stats/breakdown.csv"
    cookie = owner.session_cookie
    assert cookie is not None
    admission = dash.services.stats_admission
    user = await dash.users.by_email(OWNER)
    assert user is not None

    # Two downloads whose client does not read: each send of the body waits.
    reading = asyncio.Event()
    started = 0

    async def slow_reader() -> None:
        nonlocal started
        sent_start = False

        async def send(message: dict[str, Any]) -> None:
            nonlocal sent_start, started
            if message["type"] == "http.response.start":
                assert message["status"] == 200
                sent_start = True
                started += 1
                return
            await reading.wait()

        async def receive() -> dict[str, Any]:
            await asyncio.Event().wait()  # connected until the download ends
            raise AssertionError

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"period=7d&property=event:page",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"cookie", f"footfall_session={cookie}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await dash.app(scope, receive, send)
        assert sent_start

    first = asyncio.create_task(slow_reader())
    second = asyncio.create_task(slow_reader())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while started < 2 or admission.exports_of("user:" + user.id) < 2:
            assert asyncio.get_running_loop().time() < deadline, "downloads did not start"
            await asyncio.sleep(0.01)
        third = await owner.get(path, params={"period": "7d", "property": "event:page"})
        assert_retry_later(third, "At most 2 downloads at once")
        # Another user downloads: the whole breakdown, streamed.
        theirs = await other.get(path, params={"period": "7d", "property": "event:page"})
        assert theirs.status_code == 200, theirs.text
        assert theirs.text.startswith("event:page,visitors\r\n")
    finally:
        reading.set()
        await asyncio.wait_for(asyncio.gather(first, second), 10)
    # Both finished: their places are back, and the owner may download again.
    assert admission.in_progress == 0
    dash.clock.advance(100)  # (this app's dashboard rate limit: burst 3, refilled by now)
    again = await owner.get(path, params={"period": "7d", "property": "event:page"})
    assert again.status_code == 200
