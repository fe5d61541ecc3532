"""The live header's stream (`GET /live/stream`), served by a real uvicorn.

One stream follows every site of the signed-in user through the app's `LiveHub`: the counts
at once, then each change within a second; the same topics as the public widgets (one
computation per site for every listener); other users' sites never appear; the stream ends
when the session ends or the user's sites change; in cluster mode a pageview on one instance
reaches a header stream open on another.

httpx's ASGI transport buffers whole responses, so the app runs in uvicorn inside the test's
event loop (`tests.api.test_live_stream.live_server`) and streams are read over sockets.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from footfall.accounts.members import Memberships
from footfall.accounts.models import Role
from footfall.accounts.sessions import SessionStore
from footfall.accounts.users import UserStore
from tests.api.test_live_stream import ORIGIN, LiveServer, live_server, live_settings, until
from tests.conftest import CHROME_UA, FakeClock
from tests.sse import SseStream

DELIVERY_SECONDS = 1.0


@dataclass
class Member:
    """A dashboard user with a session cookie."""

    user_id: str
    cookie: str


async def member(live: LiveServer, email: str, *site_ids: str) -> Member:
    engine = live.services.meta.engine
    now = live.clock.now()
    user = await UserStore(engine).create(email, "correct horse battery", now)
    for site_id in site_ids:
        await Memberships(engine).set_role(site_id, user.id, Role.OWNER, now)
    secret, _ = await SessionStore(engine).create(user.id, now)
    return Member(user.id, secret)


@contextlib.asynccontextmanager
async def header_stream(live: LiveServer, who: Member) -> AsyncIterator[SseStream]:
    request = live.client.build_request(
        "GET", f"{live.url}/live/stream", headers={"Cookie": f"footfall_session={who.cookie}"}
    )
    response = await live.client.send(request, stream=True)
    try:
        assert response.status_code == 200, (await response.aread()).decode()
        yield SseStream(response)
    finally:
        await response.aclose()


async def pageview(live: LiveServer, site_id: str, n: int, domain: str = "example.com") -> None:
    response = await live.client.post(
        f"{live.url}/api/event",
        json={"websiteId": site_id, "url": f"https://{domain}/pricing"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"198.51.100.{n}"},
    )
    assert response.status_code == 202, response.text


async def next_count(stream: SseStream) -> tuple[str, int]:
    started = time.monotonic()
    event = await stream.next_event(timeout=DELIVERY_SECONDS)
    assert time.monotonic() - started < DELIVERY_SECONDS
    body = event.json()
    assert set(body) == {"websiteId", "currentVisitors", "timestamp"}
    return body["websiteId"], body["currentVisitors"]


@pytest.fixture
async def live(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LiveServer]:
    async with live_server(live_settings(tmp_path), clock) as server:
        yield server


async def test_the_users_sites_at_once_then_each_change_within_a_second(
    live: LiveServer,
) -> None:
    meta = live.services.meta
    shop = live.site_id
    blog = (await meta.create_site("blog.example", "Blog", live.clock.now())).id
    other = (await meta.create_site("other.example", "Other", live.clock.now())).id
    await pageview(live, shop, 1)
    alice = await member(live, "alice@example.org", shop, blog)
    async with header_stream(live, alice) as stream:
        headers = stream.response.headers
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in headers
        first = await stream.next_event()
        assert first.retry == 3000
        initial = {first.json()["websiteId"]: first.json()["currentVisitors"]}
        initial.update([await next_count(stream)])
        assert initial == {shop: 1, blog: 0}

        await pageview(live, blog, 2, "blog.example")
        assert await next_count(stream) == (blog, 1)
        await pageview(live, other, 3, "other.example")  # not Alice's: never sent
        await pageview(live, shop, 4)
        assert await next_count(stream) == (shop, 2)


async def test_one_computation_per_site_for_every_listener(live: LiveServer) -> None:
    hub = live.services.live
    shop = live.site_id
    alice = await member(live, "alice@example.org", shop)
    bob = await member(live, "bob@example.org", shop)
    widget = live.client.build_request(
        "GET", f"{live.url}/api/v1/live/stream", params={"key": live.key.key}
    )
    widget.headers["Origin"] = ORIGIN
    async with contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(header_stream(live, who)) for who in (alice, alice, bob)
        ]
        public = await live.client.send(widget, stream=True)
        stack.push_async_callback(public.aclose)
        public_stream = SseStream(public)
        for stream in streams:
            assert await next_count(stream) == (shop, 0)
        assert (await public_stream.next_event()).json()["currentVisitors"] == 0
        assert (hub.topics, hub.streams) == (1, 4)  # one topic: the site's count
        computed = hub.computations

        await pageview(live, shop, 1)
        for stream in streams:
            assert await next_count(stream) == (shop, 1)
        assert (await public_stream.next_event()).json()["currentVisitors"] == 1
        assert hub.computations == computed + 1  # one computation for four listeners
    await until(lambda: hub.streams == 0 and hub.topics == 0)  # leaving clients are forgotten


async def test_the_stream_ends_with_the_session(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, live_heartbeat_seconds=0.2)
    async with live_server(settings, clock) as live:
        alice = await member(live, "alice@example.org", live.site_id)
        async with header_stream(live, alice) as stream:
            assert await next_count(stream) == (live.site_id, 0)
            block = await stream.next_block()  # heartbeats while the session lives
            assert block.comments == ["keep-alive"]
            await SessionStore(live.services.meta.engine).end(alice.cookie)  # signed out
            assert await stream.ended(timeout=2.0)
        await until(lambda: live.services.live.streams == 0)
        refused = await live.client.get(
            f"{live.url}/live/stream", headers={"Cookie": f"footfall_session={alice.cookie}"}
        )
        assert (refused.status_code, refused.json()) == (401, {"error": "Sign in first"})


async def test_the_stream_ends_when_the_users_sites_change(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = live_settings(tmp_path, live_heartbeat_seconds=0.2)
    async with live_server(settings, clock) as live:
        alice = await member(live, "alice@example.org", live.site_id)
        blog = await live.services.meta.create_site("blog.example", "Blog", clock.now())
        async with header_stream(live, alice) as stream:
            assert await next_count(stream) == (live.site_id, 0)
            await Memberships(live.services.meta.engine).set_role(
                blog.id, alice.user_id, Role.VIEWER, clock.now()
            )
            assert await stream.ended(timeout=2.0)  # the browser reconnects for the new list
        async with header_stream(live, alice) as stream:
            found = dict([await next_count(stream), await next_count(stream)])
            assert found == {live.site_id: 0, blog.id: 0}


async def test_an_instance_pushes_a_pageview_taken_by_another(
    tmp_path: Path, clock: FakeClock, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    cluster = {"database_url": pg_url, "redis_url": redis_url, "redis_prefix": redis_prefix}
    settings_a = live_settings(tmp_path / "a", **cluster)
    settings_b = live_settings(tmp_path / "b", **cluster)
    async with live_server(settings_a, clock) as a, live_server(settings_b, clock) as b:
        alice = await member(a, "alice@example.org", a.site_id)
        async with header_stream(b, alice) as on_b:  # the session works on either instance
            assert await next_count(on_b) == (a.site_id, 0)
            await pageview(a, a.site_id, 1)
            assert await next_count(on_b) == (a.site_id, 1)


async def test_stopping_the_server_ends_header_streams(live: LiveServer) -> None:
    blog = await live.services.meta.create_site("blog.example", "Blog", live.clock.now())
    alice = await member(live, "alice@example.org", live.site_id, blog.id)
    async with header_stream(live, alice) as stream:
        await next_count(stream)
        await next_count(stream)
        live.services.live.close_streams()  # what a stop signal does
        assert await stream.ended(timeout=2.0)
    await until(lambda: live.services.live.streams == 0)


async def test_one_heartbeat_per_beat_however_many_sites(tmp_path: Path, clock: FakeClock) -> None:
    settings = live_settings(tmp_path, live_heartbeat_seconds=0.2)
    async with live_server(settings, clock) as live:
        meta = live.services.meta
        extra = [(await meta.create_site(f"s{n}.example", None, clock.now())).id for n in range(3)]
        alice = await member(live, "alice@example.org", live.site_id, *extra)
        async with header_stream(live, alice) as stream:
            for _ in range(4):
                await next_count(stream)
            beats = []
            for _ in range(4):
                block = await stream.next_block()
                assert block.comments == ["keep-alive"] and block.data is None
                beats.append(time.monotonic())
            # Four subscriptions each get the hub's beat; the stream writes one line per beat.
            gaps = [later - earlier for earlier, later in itertools.pairwise(beats)]
            assert min(gaps) >= 0.1, gaps
