"""Stats queries and CSV downloads cannot starve ingestion: real `footfall serve` processes.

In cluster mode one pool of 10 PostgreSQL connections serves the writer, stats queries and
downloads. Here downloads whose clients stop reading (a socket with a 4 KiB receive buffer
that is never read) hold their cursors, as many as the instance admits
(`FOOTFALL_STATS_MAX_CONCURRENT`, 4): ten such downloads and a few queries more are answered
503 with `Retry-After` instead of taking the remaining connections, a third download of one
token is answered 429, and ingestion — both endpoints — still commits at once. A place frees
when a client goes away. And a download whose client stops reading is cut off after the send
timeout (its transfer truncated, its place and cursor released), on both tiers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event, EventStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.postgres_events import PostgresEventStore
from tests.backends import REDIS_URL
from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server
from tests.stats.dataset import at

pytest_plugins = ["tests.backends"]
pytestmark = pytest.mark.slow

EVENTS = 40_000  # a CSV of about 10 MB: far more than socket buffers hold
RANGE = {"period": "custom", "date": "2026-09-01,2026-09-30"}


def _events(site_id: str) -> list[Event]:
    start = at("2026-09-01T00:00:00")
    return [
        Event(
            ts=start + i * 30.0,
            site_id=site_id,
            visitor_id=1_000_000 + i // 5,
            visit_id=i // 5,
            name="pageview",
            hostname="www.example.com",
            pathname=f"/docs/section-{i % 97}/page-{i}",
            referrer="https://news.ycombinator.com/item?id=41234567",
            referrer_source="Hacker News",
            country="DE",
            browser="Firefox",
            os="Linux",
            device_type="desktop",
        )
        for i in range(EVENTS)
    ]


async def _seed(data_dir: Path, database_url: str | None, tokens: int) -> tuple[str, list[str]]:
    """A site with `tokens` API tokens and `EVENTS` events, written before the server starts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    meta = await SqlMetaStore.open(database_url=database_url, sqlite_path=data_dir / "meta.sqlite3")
    store: EventStore
    if database_url is None:
        store = DuckDBEventStore(data_dir / "events.duckdb")
    else:
        store = await PostgresEventStore.open(database_url)
    try:
        now = time.time()
        site = await meta.create_site("example.com", None, now)
        made = [(await meta.create_token(site.id, now))[0] for _ in range(tokens)]
        events = _events(site.id)
        for i in range(0, EVENTS, 10_000):
            await store.append(events[i : i + 10_000])
        return site.id, made
    finally:
        await store.close()
        await meta.close()


async def _count(database_url: str | None, data_dir: Path, site_id: str) -> int:
    store: EventStore
    if database_url is None:
        store = DuckDBEventStore(data_dir / "events.duckdb")
    else:
        store = await PostgresEventStore.open(database_url)
    try:
        return await store.count(site_id)
    finally:
        await store.close()


def _export_target(site_id: str) -> str:
    return "/api/v1/stats/export/events?" + urlencode({"websiteId": site_id, **RANGE})


def stalled_download(server: ServerProcess, target: str, token: str) -> socket.socket:
    """Start a download and stop reading after its head: a 200 whose body is never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few KiB
    sock.settimeout(15)
    sock.connect(("127.0.0.1", server.port))
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    sock.sendall(request.encode() + b"\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(512)
        assert chunk, f"connection closed before the head: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"content-type: text/csv" in head.lower()
    return sock


def _get(server: ServerProcess, path: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _aggregate(server: ServerProcess, site_id: str, token: str) -> httpx.Response:
    return _get(
        server, "/api/v1/stats/aggregate", token, websiteId=site_id, metrics="visitors", **RANGE
    )


def _until_ok(server: ServerProcess, site_id: str, token: str, seconds: float) -> float:
    """Poll the aggregate until it answers 200 (a place was freed); the seconds it took."""
    started = time.monotonic()
    while True:
        response = _aggregate(server, site_id, token)
        if response.status_code == 200:
            return time.monotonic() - started
        assert response.status_code == 503, response.text
        assert time.monotonic() - started < seconds, "no place was freed"
        time.sleep(0.1)


def test_saturated_stats_leave_ingestion_working_in_cluster_mode(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    data_dir = tmp_path / "data"
    site_id, tokens = asyncio.run(_seed(data_dir, pg_url, tokens=5))
    env = {
        "FOOTFALL_DATABASE_URL": pg_url,
        "FOOTFALL_REDIS_URL": REDIS_URL,
        "FOOTFALL_REDIS_PREFIX": redis_prefix,
        "FOOTFALL_STATS_EXPORT_SEND_TIMEOUT_SECONDS": "600",  # held for the whole test
    }
    target = _export_target(site_id)
    held: list[socket.socket] = []
    with footfall_server(data_dir, env=env) as server:
        try:
            # One token: two downloads at once, a third is refused (429), taking no place.
            held += [stalled_download(server, target, tokens[0]) for _ in range(2)]
            third = _get(
                server, "/api/v1/stats/export/events", tokens[0], websiteId=site_id, **RANGE
            )
            assert third.status_code == 429, third.text
            assert third.headers["Retry-After"] == "5"
            assert "downloads at once" in third.json()["error"]
            # Another token fills the instance's 4 places.
            held += [stalled_download(server, target, tokens[1]) for _ in range(2)]

            # What the audit saw: ten more stalled downloads and heavy queries from other
            # tokens. Each waits its second for a place, then is answered 503, holding nothing.
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                exports = [
                    pool.submit(
                        _get,
                        server,
                        "/api/v1/stats/export/events",
                        token,
                        websiteId=site_id,
                        **RANGE,
                    )
                    for token in tokens[2:]
                    for _ in range(2)
                ]
                queries = [pool.submit(_aggregate, server, site_id, tokens[4]) for _ in range(4)]
                refused = [future.result() for future in exports + queries]
            for response in refused:
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "5"
                assert "Too many stats queries" in response.json()["error"]

            # Ingestion of the cluster: both endpoints answer after the writer committed.
            started = time.monotonic()
            batch = httpx.post(
                f"{server.url}/api/v1/events",
                json={
                    "events": [
                        {"name": "pageview", "url": "https://example.com/b", "visitorId": "v-1"}
                    ]
                },
                headers={"Authorization": f"Bearer {tokens[3]}"},
                timeout=30,
            )
            assert batch.status_code == 202, batch.text
            assert batch.json()["accepted"] == 1
            tracker = httpx.post(
                f"{server.url}/api/event",
                json={"websiteId": site_id, "url": "https://example.com/live"},
                headers={"User-Agent": CHROME_UA},
                timeout=30,
            )
            assert tracker.status_code == 202, tracker.text
            assert tracker.json() == {"status": "accepted"}
            assert time.monotonic() - started < 5  # no wait for a pooled connection
            assert asyncio.run(_count(pg_url, data_dir, site_id)) == EVENTS + 2

            # A client that goes away frees its place at once: queries are admitted again.
            held.pop().close()
            assert _until_ok(server, site_id, tokens[4], seconds=15) < 15
        finally:
            for sock in held:
                sock.close()
        assert "Traceback" not in server.log()


@pytest.fixture(params=["embedded", "cluster"])
def tier_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "embedded":
        return {}
    return {
        "FOOTFALL_DATABASE_URL": request.getfixturevalue("pg_url"),
        "FOOTFALL_REDIS_URL": REDIS_URL,
        "FOOTFALL_REDIS_PREFIX": request.getfixturevalue("redis_prefix"),
    }


def test_a_download_whose_client_stops_reading_is_cut_off(
    tmp_path: Path, tier_env: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    database_url = tier_env.get("FOOTFALL_DATABASE_URL")
    site_id, (token,) = asyncio.run(_seed(data_dir, database_url, tokens=1))
    env = {
        **tier_env,
        "FOOTFALL_STATS_MAX_CONCURRENT": "1",
        "FOOTFALL_STATS_ADMISSION_WAIT_SECONDS": "0",
        "FOOTFALL_STATS_EXPORT_SEND_TIMEOUT_SECONDS": "2",
    }
    with footfall_server(data_dir, env=env) as server:
        sock = stalled_download(server, _export_target(site_id), token)
        try:
            # The stalled download holds the only place...
            busy = _aggregate(server, site_id, token)
            assert busy.status_code == 503, busy.text
            assert busy.headers["Retry-After"] == "5"
            # ...until the send timeout cuts it off: its place (and cursor) come back.
            _until_ok(server, site_id, token, seconds=30)
            assert "download cut off" in server.log()
            # The client sees a truncated transfer: the connection ends without the final
            # chunk of the chunked body, so no client mistakes it for a whole file.
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert len(received) < 10_000_000
            assert not received.endswith(b"\r\n0\r\n\r\n")
        finally:
            sock.close()
        # The instance goes on exporting whole files.
        whole = _get(server, "/api/v1/stats/export/events", token, websiteId=site_id, **RANGE)
        assert whole.status_code == 200
        assert whole.text.count("\r\n") == EVENTS + 1
