"""`GET /api/v1/live/stream`: server-sent events of a live count, served by a real uvicorn.

httpx's ASGI transport buffers whole responses, so these tests run the app in a real uvicorn
server inside the test's event loop (the app, its hub and the injected clock stay inspectable)
and read the streams over real sockets. Fan-out is proven by counting computations: the hub's
own counter, and the presence's count calls watched directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from footfall.app import create_app
from footfall.config import Settings
from footfall.services import Services
from footfall.storage.meta import SqlMetaStore
from footfall.storage.publishable_keys import PublishableKey, PublishableKeyStore
from tests.conftest import CHROME_UA, FakeClock
from tests.serverproc import free_port
from tests.sse import SseStream

ORIGIN = "https://shop.example.com"


@dataclass
class LiveServer:
    url: str
    services: Services
    clock: FakeClock
    site_id: str
    key: PublishableKey
    client: httpx.AsyncClient

    async def pageview(self, n: int, path: str = "/pricing") -> None:
        response = await self.client.post(
            f"{self.url}/api/event",
            json={"websiteId": self.site_id, "url": f"https://example.com{path}"},
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert response.status_code == 202 and response.json() == {"status": "accepted"}

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str | None = None, key: str | None = None, **headers: str
    ) -> AsyncIterator[SseStream]:
        params = {"key": key or self.key.key, **({"path": path} if path else {})}
        request = self.client.build_request(
            "GET",
            f"{self.url}/api/v1/live/stream",
            params=params,
            headers={"Origin": ORIGIN, **{k.replace("_", "-"): v for k, v in headers.items()}},
        )
        response = await self.client.send(request, stream=True)
        try:
            assert response.status_code == 200, (await response.aread()).decode()
            yield SseStream(response)
        finally:
            await response.aclose()


def live_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "access_log": False,
        "trusted_proxies": ["127.0.0.1/32"],
        "live_coalesce_ms": 50.0,
        "live_refresh_seconds": 3600.0,  # only changes recompute, unless a test says otherwise
        # Every stream here comes from the test's one address: the per-client cap is tested
        # on its own (tests/api/test_abuse_caps.py).
        "live_max_streams_per_client": 1000,
        **overrides,
    }
    return Settings(**values)


@contextlib.asynccontextmanager
async def live_server(settings: Settings, clock: FakeClock) -> AsyncIterator[LiveServer]:
    """The app in a real uvicorn server in this event loop, with a site and a key."""
    app = create_app(settings, clock)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:  # readiness: uvicorn sets it once listening
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.01)
    services: Services = app.state.services
    site = await services.meta.create_site("example.com", None, clock.now())
    key = await services.keys.create(site.id, clock.now(), origins=[ORIGIN])
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        try:
            yield LiveServer(f"http://127.0.0.1:{port}", services, clock, site.id, key, client)
        finally:
            services.live.close_streams()
            server.should_exit = True
            await asyncio.wait_for(task, 20)


@pytest.fixture
async def live(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LiveServer]:
    async with live_server(live_settings(tmp_path), clock) as server:
        yield server


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition about the server (streams registering, closing) with a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


class CountCalls:
    """Watches the real presence: how many counts it was asked for (nothing is replaced)."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        presence = services.presence
        for name in ("count", "count_path"):
            original = getattr(presence, name)

            async def counted(*args: Any, _original: Any = original) -> int:
                self.calls += 1
                result: int = await _original(*args)
                return result

            monkeypatch.setattr(presence, name, counted)


# -- the stream -----------------------------------------------------------------------------


async def test_current_count_at_once_with_retry_and_headers(live: LiveServer) -> None:
    for n in (1, 2):
        await live.pageview(n)
    async with live.stream() as stream:
        headers = stream.response.headers
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["cache-control"] == "no-store"
        assert headers["access-control-allow-origin"] == ORIGIN
        assert headers["vary"] == "Origin"
        first = await stream.next_event()
        assert first.retry == 3000
        assert first.id == str(int(live.clock.now() * 1000))
        assert first.json() == {
            "currentVisitors": 2,
            "belowMinimum": False,
            "minimum": 0,
            "path": None,
            "timestamp": first.json()["timestamp"],
        }


async def test_fan_out_one_computation_for_many_listeners(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = CountCalls(live.services, monkeypatch)
    hub = live.services.live
    async with contextlib.AsyncExitStack() as stack:
        site = [await stack.enter_async_context(live.stream()) for _ in range(50)]
        page = [await stack.enter_async_context(live.stream("/pricing")) for _ in range(20)]
        for stream in site + page:
            assert (await stream.next_event()).json()["currentVisitors"] == 0
        assert (hub.streams, hub.topics) == (70, 2)
        assert hub.computations == calls.calls == 2  # one per topic, for 70 listeners

        await live.pageview(1)  # one change: one computation per topic, 70 pushes
        for stream in site + page:
            assert (await stream.next_event()).json()["currentVisitors"] == 1
        assert hub.computations == calls.calls == 4

        started = time.monotonic()
        await asyncio.gather(*(live.pageview(n) for n in range(2, 32)))  # a burst of 30
        for stream in site + page:
            while (await stream.next_event()).json()["currentVisitors"] != 31:
                pass
        rounds = (time.monotonic() - started) / (hub.coalesce or 0.001) + 2
        burst = hub.computations - 4
        assert burst == calls.calls - 4
        assert burst <= 2 * rounds  # coalesced: per round, not per pageview or listener
        assert burst < 60


async def test_a_changed_page_wakes_only_its_topics(live: LiveServer) -> None:
    hub = live.services.live
    async with live.stream("/pricing") as pricing, live.stream("/blog/*") as blog:
        await pricing.next_event()
        await blog.next_event()
        await live.pageview(1, "/blog/post")
        assert (await blog.next_event()).json()["currentVisitors"] == 1
        versions = {topic.key: topic.version for topic in hub._topics.values()}
        assert versions[(live.site_id, "/pricing")] == 1  # recomputed, unchanged: not pushed


async def test_unchanged_counts_are_not_pushed_heartbeats_are(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = live_settings(tmp_path, live_heartbeat_seconds=0.2)
    async with live_server(settings, clock) as live, live.stream() as stream:
        await live.pageview(1)
        assert (await stream.next_event()).json()["currentVisitors"] == 0
        assert (await stream.next_event()).json()["currentVisitors"] == 1
        computed = live.services.live.computations
        await live.pageview(1)  # the same visitor again: recomputed, still 1
        await until(lambda: live.services.live.computations > computed)
        block = await stream.next_block()
        assert block.data is None and block.comments == ["keep-alive"]


async def test_counts_fall_as_visitors_leave_the_window(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, live_refresh_seconds=0.1)
    async with live_server(settings, clock) as live, live.stream("/pricing") as stream:
        await live.pageview(1)
        while (await stream.next_event()).json()["currentVisitors"] != 1:
            pass
        clock.advance(180)  # no event: only time passes
        assert (await stream.next_event()).json()["currentVisitors"] == 0


async def test_reconnect_with_last_event_id_gets_the_current_count_at_once(
    live: LiveServer,
) -> None:
    async with live.stream() as stream:
        first = await stream.next_event()
    await live.pageview(1)
    live.clock.advance(1)
    await live.pageview(2)
    async with live.stream(Last_Event_ID=first.id or "") as stream:
        again = await stream.next_event(timeout=1.0)
        assert again.json()["currentVisitors"] == 2
        assert again.retry == 3000
        assert again.id is not None and first.id is not None and int(again.id) > int(first.id)
    async with live.stream(Last_Event_ID="not-an-id") as stream:  # whatever the id
        assert (await stream.next_event(timeout=1.0)).json()["currentVisitors"] == 2


async def test_streams_follow_the_minimum(live: LiveServer) -> None:
    await live.services.meta.update_site(live.site_id, live_min_count=2)
    async with live.stream() as stream:
        first = (await stream.next_event()).json()
        assert (first["currentVisitors"], first["belowMinimum"], first["minimum"]) == (
            None,
            True,
            2,
        )
        await live.pageview(1)
        assert (await stream.next_event()).json()["currentVisitors"] is None  # 1: withheld
        await live.pageview(2)
        shown = (await stream.next_event()).json()
        assert (shown["currentVisitors"], shown["belowMinimum"]) == (2, False)


async def test_a_revoked_key_ends_its_streams(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, live_heartbeat_seconds=0.2)
    async with live_server(settings, clock) as live, live.stream() as stream:
        await stream.next_event()
        cli = await SqlMetaStore.open(database_url=None, sqlite_path=settings.meta_path)
        try:
            await PublishableKeyStore(cli).revoke(live.key.key, clock.now())
        finally:
            await cli.close()
        assert await stream.ended(timeout=5)
        await until(lambda: live.services.live.streams == 0)
        response = await live.client.get(
            f"{live.url}/api/v1/live/stream",
            params={"key": live.key.key},
            headers={"Origin": ORIGIN},
        )
        assert (response.status_code, response.json()) == (
            401,
            {"error": "Invalid publishable key"},
        )


async def test_leaving_clients_are_forgotten(live: LiveServer) -> None:
    hub = live.services.live
    async with live.stream() as one, live.stream("/pricing") as two:
        await one.next_event()
        await two.next_event()
        assert (hub.streams, hub.topics) == (2, 2)
    await until(lambda: (hub.streams, hub.topics) == (0, 0))


async def test_refusals_are_json_not_streams(live: LiveServer) -> None:
    url = f"{live.url}/api/v1/live/stream"
    refused = await live.client.get(
        url, params={"key": live.key.key}, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert refused.json() == {"error": "Origin not allowed for this key"}
    assert refused.headers["access-control-allow-origin"] == "*"  # the refusal, not a count
    bad_path = await live.client.get(
        url, params={"key": live.key.key, "path": "x"}, headers={"Origin": ORIGIN}
    )
    assert bad_path.status_code == 400
    assert bad_path.json()["error"].startswith("path: ")


async def test_streams_beyond_the_limit_are_refused(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, live_max_streams=2)
    async with live_server(settings, clock) as live, live.stream() as one, live.stream() as two:
        await one.next_event()
        await two.next_event()
        response = await live.client.get(
            f"{live.url}/api/v1/live/stream",
            params={"key": live.key.key},
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 503
        assert response.json() == {"error": "Too many live streams on this server; retry shortly"}
        assert response.headers["retry-after"] == "5"


async def test_stopping_ends_streams_cleanly(live: LiveServer) -> None:
    async with live.stream() as one, live.stream("/pricing") as two:
        await one.next_event()
        await two.next_event()
        live.services.live.close_streams()  # what the stop-signal hook calls
        assert await one.ended() and await two.ended()
        response = await live.client.get(
            f"{live.url}/api/v1/live/stream",
            params={"key": live.key.key},
            headers={"Origin": ORIGIN},
        )
        assert response.status_code == 503
        assert response.json() == {"error": "The server is shutting down; reconnect shortly"}
