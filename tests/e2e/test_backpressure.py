"""Backpressure with a real server and a real slow store: a bounded queue, 503s, nothing lost.

A cluster-mode `footfall serve` writes events to PostgreSQL. The test holds an ACCESS
EXCLUSIVE lock on the events table from a connection of its own, so every append waits (the
store is slower than the traffic, as during a long vacuum or a disk stall) while the metadata
tables stay readable. Concurrent clients keep sending events. Then:

- the writer's queue never holds more than `FOOTFALL_WRITER_QUEUE_SIZE` events (`/healthz`);
- beyond it, ingestion answers 503 with `Retry-After` at once, instead of making requests wait
  (or memory grow) without limit; the server's resident memory stays bounded;
- once the lock goes, the queued events are committed and answered 202;
- every 202 event is stored, no refused event is, and clients retrying the refused ones (same
  `eventId`, honouring `Retry-After`) get every event stored exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from footfall.storage.postgres_events import PostgresEventStore
from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server

pytestmark = pytest.mark.slow

QUEUE_SIZE = 32
CLIENTS = 64  # more than the queue holds: the rest must be refused
HOLD_SECONDS = 4.0  # well within the store's 10 s command timeout: the appends only wait


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _cli(env: dict[str, str], tmp_path: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "footfall", *args],
        env={**os.environ, **env, "FOOTFALL_DATA_DIR": str(tmp_path / "unused")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def _body(site_id: str, n: int) -> dict[str, object]:
    return {
        "websiteId": site_id,
        "url": f"https://example.com/e{n}",
        "eventId": f"event-{n}",
        "props": {"padding": "x" * 500},  # weight, so that unbounded buffering would show
    }


async def _send(client: httpx.AsyncClient, site_id: str, n: int) -> httpx.Response:
    return await client.post(
        "/api/event",
        json=_body(site_id, n),
        headers={"User-Agent": f"{CHROME_UA} c{n % 500}", "Content-Type": "text/plain"},
    )


async def _flood(server: ServerProcess, site_id: str, held: asyncio.Event) -> dict[str, object]:
    """Send events while the table is held; returns what happened, by event number."""
    accepted: set[int] = set()
    refused: dict[int, float] = {}  # event -> when its 503 arrived (time.monotonic)
    queued_max = 0
    rss_max = 0
    counter = iter(range(1_000_000))
    limits = httpx.Limits(max_connections=CLIENTS + 2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:

        async def sender() -> None:
            while held.is_set():
                n = next(counter)
                response = await _send(client, site_id, n)
                if response.status_code == 202:
                    accepted.add(n)
                else:
                    assert response.status_code == 503, response.text
                    assert response.headers["retry-after"] == "1"
                    assert response.json() == {"error": "Ingestion is over capacity; retry shortly"}
                    refused[n] = time.monotonic()

        async def watch() -> None:
            nonlocal queued_max, rss_max
            while held.is_set():
                health = (await client.get("/healthz")).json()
                queued_max = max(queued_max, health["writer"]["queuedEvents"])
                rss_max = max(rss_max, _rss_kib(server.process.pid))
                await asyncio.sleep(0.05)

        await asyncio.gather(watch(), *(sender() for _ in range(CLIENTS)))
    return {"accepted": accepted, "refused": refused, "queued_max": queued_max, "rss": rss_max}


async def _retry(server: ServerProcess, site_id: str, events: list[int]) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        pending = list(events)
        while pending:
            results = await asyncio.gather(*(_send(client, site_id, n) for n in pending))
            pending = [n for n, r in zip(pending, results, strict=True) if r.status_code != 202]
            assert all(r.status_code in (202, 503) for r in results)
            if pending:
                await asyncio.sleep(1)  # the Retry-After of the 503s


def _stored(pg_url: str, site_id: str) -> list[str]:
    async def read() -> list[str]:
        store = await PostgresEventStore.open(pg_url)
        try:
            return [e.event_id or "" for e in await store.events(site_id, limit=1_000_000)]
        finally:
            await store.close()

    return asyncio.run(read())


def test_a_slow_store_fills_a_bounded_queue_and_the_rest_is_refused_with_503(
    tmp_path: Path, pg_url: str, redis_url: str, redis_prefix: str
) -> None:
    env = {
        "FOOTFALL_DATABASE_URL": pg_url,
        "FOOTFALL_REDIS_URL": redis_url,
        "FOOTFALL_REDIS_PREFIX": redis_prefix,
        "FOOTFALL_WRITER_QUEUE_SIZE": str(QUEUE_SIZE),
        "FOOTFALL_RATE_LIMIT_INGEST_CLIENT_PER_SECOND": "0",
        "FOOTFALL_RATE_LIMIT_INGEST_SITE_PER_SECOND": "0",
        "FOOTFALL_ACCESS_LOG": "false",
    }
    site_id = json.loads(_cli(env, tmp_path, "sites", "add", "example.com", "--json"))["websiteId"]
    with footfall_server(tmp_path / "data", env=env) as server:
        # Warm up (connections, caches) so that the baseline memory is the steady state.
        warm = [f"warm-{n}" for n in range(200)]
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for event_id in warm:
                response = client.post(
                    "/api/event",
                    json={"websiteId": site_id, "url": "https://example.com/", "eventId": event_id},
                    headers={"User-Agent": CHROME_UA},
                )
                assert response.status_code == 202
        baseline = _rss_kib(server.process.pid)

        held = asyncio.Event()
        released: list[float] = []

        async def scenario() -> dict[str, object]:
            with psycopg.connect(pg_url) as lock:
                lock.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
                held.set()
                flood = asyncio.create_task(_flood(server, site_id, held))
                await asyncio.sleep(HOLD_SECONDS)  # the length of the stall we inflict
                held.clear()
                released.append(time.monotonic())
                lock.rollback()  # the store is fast again: the queue drains
            return await flood

        outcome = asyncio.run(scenario())
        accepted: set[int] = outcome["accepted"]  # type: ignore[assignment]
        refused: dict[int, float] = outcome["refused"]  # type: ignore[assignment]

        assert outcome["queued_max"] == QUEUE_SIZE  # full, never beyond
        # The flood was refused during the stall, not kept waiting for the store...
        during_stall = [n for n, at in refused.items() if at < released[0]]
        assert len(during_stall) > 3 * QUEUE_SIZE
        # ...only what the queue held waited, and went in once the store was back.
        assert 0 < len(accepted) <= QUEUE_SIZE + CLIENTS
        growth_mib = (outcome["rss"] - baseline) / 1024  # type: ignore[operator]
        assert growth_mib < 64, f"resident memory grew by {growth_mib:.0f} MiB"

        stored = set(_stored(pg_url, site_id)) - set(warm)
        assert stored == {f"event-{n}" for n in accepted}

        asyncio.run(_retry(server, site_id, sorted(refused)))
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["writer"]["queuedEvents"] == 0

    stored_ids = _stored(pg_url, site_id)
    assert len(stored_ids) == len(set(stored_ids)), "an event was stored twice"
    assert set(stored_ids) == set(warm) | {f"event-{n}" for n in accepted | set(refused)}
