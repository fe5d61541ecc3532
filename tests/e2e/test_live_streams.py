"""Live streams across real server processes: cluster delivery, reconnects, clean shutdown.

- Two cluster instances on one PostgreSQL and one Redis: a pageview sent to instance A reaches
  a stream open on instance B within a second (measured from A's acknowledgement).
- A browser reconnecting to the other instance (as behind a load balancer) gets the current
  count at once.
- SIGTERM with streams open: they end cleanly at once and the server stops well within its
  graceful-shutdown timeout, without cancelling anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHROME_UA
from tests.e2e.test_cluster import cli, cluster_env, two_instances
from tests.serverproc import ServerProcess, footfall_cli, footfall_server
from tests.sse import SseStream

pytestmark = pytest.mark.slow

ORIGIN = "https://shop.example.com"
DELIVERY_SECONDS = 1.0


def create_key(env: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    site_id = json.loads(cli(env, tmp_path, "sites", "add", "example.com", "--json"))["websiteId"]
    key = json.loads(cli(env, tmp_path, "keys", "create", site_id, "--origin", ORIGIN, "--json"))
    return site_id, key["key"]


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, server: ServerProcess, key: str, **headers: str
) -> AsyncIterator[SseStream]:
    request = client.build_request(
        "GET",
        f"{server.url}/api/v1/live/stream",
        params={"key": key, "path": "/pricing"},
        headers={"Origin": ORIGIN, **headers},
    )
    response = await client.send(request, stream=True)
    try:
        assert response.status_code == 200, (await response.aread()).decode()
        yield SseStream(response)
    finally:
        await response.aclose()


async def pageview(client: httpx.AsyncClient, server: ServerProcess, site_id: str, n: int) -> None:
    response = await client.post(
        f"{server.url}/api/event",
        json={"websiteId": site_id, "url": "https://example.com/pricing"},
        headers={"User-Agent": f"{CHROME_UA} visitor-{n}"},
    )
    assert response.status_code == 202 and response.json() == {"status": "accepted"}


async def test_an_event_on_one_instance_reaches_a_stream_on_another_within_a_second(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    env = cluster_env(pg_url, redis_url, redis_prefix)
    site_id, key = create_key(env, tmp_path)
    with two_instances(tmp_path, env) as (a, b):
        async with httpx.AsyncClient(timeout=10) as client, open_stream(client, b, key) as on_b:
            assert (await on_b.next_event()).json()["currentVisitors"] == 0
            for n in range(1, 4):
                await pageview(client, a, site_id, n)
                acknowledged = time.monotonic()
                event = await on_b.next_event(timeout=DELIVERY_SECONDS)
                delay = time.monotonic() - acknowledged
                assert event.json()["currentVisitors"] == n
                assert delay < DELIVERY_SECONDS, f"delivered after {delay:.3f} s"
            last_id = event.id or ""

            # The load balancer sends the reconnecting browser to the other instance.
            async with open_stream(client, a, key, **{"Last-Event-ID": last_id}) as on_a:
                again = await on_a.next_event(timeout=DELIVERY_SECONDS)
                assert again.json()["currentVisitors"] == 3
                assert again.retry == 3000
                await pageview(client, b, site_id, 4)  # and the other way round
                assert (await on_a.next_event(timeout=DELIVERY_SECONDS)).json()[
                    "currentVisitors"
                ] == 4
                assert (await on_b.next_event(timeout=DELIVERY_SECONDS)).json()[
                    "currentVisitors"
                ] == 4


async def test_sigterm_ends_open_streams_cleanly_and_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site_id = json.loads(
        footfall_cli("sites", "add", "example.com", "--json", data_dir=data_dir).stdout
    )["websiteId"]
    key = json.loads(
        footfall_cli(
            "keys", "create", site_id, "--origin", ORIGIN, "--json", data_dir=data_dir
        ).stdout
    )["key"]
    with footfall_server(data_dir) as server:
        async with httpx.AsyncClient(timeout=10) as client, contextlib.AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(open_stream(client, server, key)) for _ in range(5)
            ]
            for stream in streams:
                await stream.next_event()
            stopping = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            ended = await asyncio.gather(*(stream.ended(timeout=5) for stream in streams))
            assert all(ended)
            code = await asyncio.to_thread(server.process.wait, 10)
            took = time.monotonic() - stopping
        assert code in (0, -signal.SIGTERM)
        assert took < 5, f"stopping took {took:.1f} s"  # uvicorn's graceful timeout is 10 s
        assert "timeout graceful shutdown exceeded" not in server.log()  # nothing cancelled
