"""Publishable-key live endpoints: the page's origin when a browser sends no `Origin`, the
stream's path scope, and bots left out of live counts.

Browsers send no `Origin` on same-origin GET requests (a site serving Footfall through its
own domain); the origin of `Referer` then stands in, and a request naming neither origin is
refused as before (unless the key allows `*`). Counts come from real tracker hits.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from footfall.storage.meta import SqlMetaStore
from footfall.storage.publishable_keys import PublishableKey, PublishableKeyStore
from tests.api.test_live_stream import live_server, live_settings
from tests.conftest import CHROME_UA, FakeClock, Running

ORIGIN = "https://shop.example.com"
NOT_ALLOWED = {"error": "Origin not allowed for this key"}


async def make_key(running: Running, *paths: str) -> PublishableKey:
    return await running.services.keys.create(
        running.site.id, running.clock.now(), origins=(ORIGIN,), paths=paths
    )


async def count(running: Running, key: str, **headers: str) -> httpx.Response:
    return await running.client.get(
        "/api/v1/live", params={"key": key, "path": "/pricing"}, headers=headers
    )


# -- no Origin header: the Referer's origin -----------------------------------------------------


@pytest.mark.parametrize(
    "referer",
    [
        f"{ORIGIN}/pricing?plan=pro#card",  # same-origin default policy: the full URL
        f"{ORIGIN}/",  # strict-origin: the origin alone
        "https://SHOP.example.com:443/pricing",  # the same origin, written differently
    ],
)
async def test_without_origin_the_referers_origin_is_checked(
    running: Running, referer: str
) -> None:
    key = await make_key(running, "/pricing")
    await running.pageview(ip="198.51.100.1", path="/pricing")
    response = await count(running, key.key, Referer=referer)
    assert response.status_code == 200, response.text
    assert response.json()["currentVisitors"] == 1
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither header (curl, a page with Referrer-Policy: no-referrer)
        {"Referer": "https://evil.example/pricing"},
        {"Referer": "https://shop.example.com.evil.example/"},
        {"Referer": "http://shop.example.com/pricing"},  # another scheme: another origin
        {"Referer": "https://shop.example.com:8443/pricing"},  # another port
        {"Referer": "https://user@shop.example.com/pricing"},  # browsers never send this
        {"Referer": "/pricing"},
        {"Referer": "not a url ["},
        {"Referer": "android-app://shop.example.com/"},
        # An Origin, even an opaque one (a sandboxed frame), wins over any Referer.
        {"Origin": "null", "Referer": f"{ORIGIN}/pricing"},
        {"Origin": "https://evil.example", "Referer": f"{ORIGIN}/pricing"},
    ],
)
async def test_refused_when_neither_header_names_an_allowed_origin(
    running: Running, headers: dict[str, str]
) -> None:
    key = await make_key(running, "/pricing")
    response = await count(running, key.key, **headers)
    assert (response.status_code, response.json()) == (403, NOT_ALLOWED)
    assert response.headers["access-control-allow-origin"] == "*"  # the refusal, no count


async def test_an_origin_header_of_an_allowed_page_still_works_with_any_referer(
    running: Running,
) -> None:
    key = await make_key(running, "/pricing")
    response = await count(running, key.key, Origin=ORIGIN, Referer="https://evil.example/")
    assert response.status_code == 200


async def test_the_stream_takes_the_referers_origin_too(tmp_path: Path, clock: FakeClock) -> None:
    async with live_server(live_settings(tmp_path), clock) as live:
        url = f"{live.url}/api/v1/live/stream"
        params = {"key": live.key.key}
        refused = await live.client.get(url, params=params)  # no Origin, no Referer
        assert (refused.status_code, refused.json()) == (403, NOT_ALLOWED)
        request = live.client.build_request(
            "GET", url, params=params, headers={"Referer": f"{ORIGIN}/pricing"}
        )
        response = await live.client.send(request, stream=True)
        try:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["access-control-allow-origin"] == ORIGIN
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    assert '"currentVisitors":0' in line
                    break
        finally:
            await response.aclose()


# -- the stream's path scope ------------------------------------------------------------------


async def test_the_stream_refuses_a_path_the_key_does_not_cover(running: Running) -> None:
    key = await make_key(running, "/pricing")
    for path in ("/blog", "/pricing/team", "/*", None):  # None: the whole site
        params = {"key": key.key} | ({"path": path} if path else {})
        response = await running.client.get(
            "/api/v1/live/stream", params=params, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 403, (path, response.text)
        assert response.json() == {"error": "Path not allowed for this key"}
        assert response.headers["content-type"] == "application/json"  # not a stream
        assert response.headers["access-control-allow-origin"] == "*"
    assert running.services.live.streams == 0


# -- revocation ---------------------------------------------------------------------------------


async def test_a_revoked_keys_stream_ends_within_two_heartbeats(
    tmp_path: Path, clock: FakeClock
) -> None:
    """What the docs promise (two heartbeats: 30 s by default): the key is re-checked at each
    heartbeat against a cache at most one heartbeat old. Revoked by another process (the CLI)."""
    heartbeat = 1.0
    settings = live_settings(tmp_path, live_heartbeat_seconds=heartbeat)
    async with live_server(settings, clock) as live, live.stream() as stream:
        await stream.next_event()
        cli = await SqlMetaStore.open(database_url=None, sqlite_path=settings.meta_path)
        try:
            await PublishableKeyStore(cli).revoke(live.key.key, clock.now())
            revoked_at = time.monotonic()
        finally:
            await cli.close()
        assert await stream.ended(timeout=3 * heartbeat)
        elapsed = time.monotonic() - revoked_at
        assert elapsed < 2 * heartbeat + 1.0, elapsed  # a margin for a busy machine


# -- bots ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bot",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
    ],
)
async def test_bots_are_not_counted_by_the_live_counter(running: Running, bot: str) -> None:
    key = await make_key(running, "/pricing")

    async def shown() -> int:
        response = await count(running, key.key, Origin=ORIGIN)
        assert response.status_code == 200, response.text
        visitors: int = response.json()["currentVisitors"]
        return visitors

    assert await shown() == 0
    dropped = await running.pageview(ip="198.51.100.1", ua=bot, path="/pricing")
    assert dropped.headers["x-footfall-dropped"] == "bot"
    assert await shown() == 0
    counted = await running.pageview(ip="198.51.100.2", ua=CHROME_UA, path="/pricing")
    assert counted.json() == {"status": "accepted"}
    assert await shown() == 1
