"""The raw events export streams: 50,000 events leave in many chunks with memory bounded by a
batch, on the embedded tier (DuckDB) and in cluster mode (PostgreSQL + Redis).

The app is called as an ASGI application directly (httpx's test transport gathers the whole
body before returning it, which would hide streaming): the `send` callable below counts bytes
and lines as they arrive and keeps none of them, while `tracemalloc` records the peak of
Python memory during the download: it stays under 5 MB (about 3.8 MB: a batch of 1,000 events
as fetched rows, `Event`s and CSV), the same for 10,000 or 50,000 events, while the body is
over 12 MB and the 50,000 events as `Event` objects would take tens of MB.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.requests import ClientDisconnect

from footfall.api.stats_export import BATCH
from footfall.config import Settings
from footfall.services import Services
from footfall.storage.events import COLUMNS, Event
from tests.backends import REDIS_URL
from tests.conftest import FakeClock, start_app
from tests.stats.dataset import at

pytest_plugins = ["tests.backends"]

TOTAL = 50_000
PEAK_LIMIT = 5_000_000  # bytes of Python memory while streaming (measured: about 3.8 MB)


@dataclass
class Download:
    """What a client saw, chunk by chunk, without keeping the body."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    chunks: int = 0
    bytes: int = 0
    lines: int = 0
    head: bytes = b""
    last_line: bytes = b""
    lines_at_first_data_chunk: int | None = None
    complete: bool = False
    _tail: bytes = b""

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
            return
        body: bytes = message.get("body", b"")
        if body:
            self.chunks += 1
            self.bytes += len(body)
            self.lines += body.count(b"\r\n")
            if self.lines > 1 and self.lines_at_first_data_chunk is None:
                self.lines_at_first_data_chunk = self.lines
            if len(self.head) < 4096:
                self.head += body[: 4096 - len(self.head)]
            tail = (self._tail + body)[-2048:]
            self._tail = tail
            self.last_line = tail.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if not message.get("more_body", False):
            self.complete = True


async def download(app: Any, path: str, params: dict[str, str], token: str) -> Download:
    """Download as uvicorn would serve it (ASGI 2.3: the app also listens for a disconnect)."""
    seen = Download()
    requested = False
    forever = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await forever.wait()  # the client stays connected
        return {"type": "http.disconnect"}

    await app(scope_of(path, params, token, "2.3"), receive, seen.send)
    return seen


def many_events(site_id: str) -> list[Event]:
    start = at("2026-09-01T00:00:00")
    return [
        Event(
            ts=start + i * 30.0,  # 50,000 events over 17 days
            site_id=site_id,
            visitor_id=1_000_000 + i // 5,
            visit_id=i // 5,
            name="pageview" if i % 7 else "signup",
            hostname="www.example.com",
            pathname=f"/docs/section-{i % 97}/page-{i}",
            referrer="https://news.ycombinator.com/item?id=41234567",
            referrer_source="Hacker News",
            utm_source="newsletter",
            country="DE",
            browser="Firefox",
            browser_version="133.0",
            os="Linux",
            device_type="desktop",
            screen_size="laptop",
            props={"plan": "pro", "seats": i % 50} if i % 7 == 0 else {},
        )
        for i in range(TOTAL)
    ]


@pytest.fixture(params=["duckdb", "postgres"])
async def app_and_token(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, str, str]]:
    settings = Settings(data_dir=tmp_path / "data", access_log=False)
    if request.param == "postgres":
        settings = Settings(
            data_dir=tmp_path / "data",
            access_log=False,
            database_url=request.getfixturevalue("pg_url"),
            redis_url=REDIS_URL,
            redis_prefix=request.getfixturevalue("redis_prefix"),
        )
    async with start_app(settings, FakeClock()) as (app, _client):
        services: Services = app.state.services
        assert services.events.dialect == request.param
        site = await services.meta.create_site("example.com", None, services.clock.now())
        token, _ = await services.meta.create_token(site.id, services.clock.now())
        events = many_events(site.id)
        for i in range(0, TOTAL, 10_000):
            await services.events.append(events[i : i + 10_000])
        del events
        yield app, site.id, token


async def test_a_large_export_streams_in_bounded_memory(
    app_and_token: tuple[Any, str, str],
) -> None:
    app, site_id, token = app_and_token
    params = {"websiteId": site_id, "period": "custom", "date": "2026-09-01,2026-09-30"}
    tracemalloc.start()
    try:
        seen = await download(app, "/api/v1/stats/export/events", params, token)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen.status == 200
    assert seen.headers[b"content-type"] == b"text/csv; charset=utf-8"
    assert seen.complete
    assert seen.lines == TOTAL + 1  # the header and every event, once
    assert seen.head.startswith(",".join(COLUMNS).encode() + b"\r\n2026-09-01T00:00:00.000000Z,")
    assert seen.last_line.startswith(b"2026-09-18T08:39:30.000000Z,")  # the 50,000th, 30 s apart
    # Sent in pieces: the first rows left after one batch, not after the whole range.
    assert seen.chunks >= TOTAL // BATCH
    assert seen.lines_at_first_data_chunk is not None
    assert seen.lines_at_first_data_chunk <= BATCH + 1
    # Memory: bounded by a batch, far below the body's size.
    assert seen.bytes > 10_000_000
    assert peak < PEAK_LIMIT, f"peak {peak:,} bytes while sending {seen.bytes:,}"


def scope_of(path: str, params: dict[str, str], token: str, spec_version: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(params).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def disconnect_after(app: Any, scope: dict[str, Any], chunks: int) -> None:
    """A client that reads `chunks` body chunks and goes away, as a server reports it: ASGI
    2.3 (uvicorn's): `receive` answers `http.disconnect` and later sends are dropped (as
    uvicorn does); 2.4: sends raise OSError (and `receive` stays silent here, so that this
    is the only signal)."""
    sent = 0
    gone = asyncio.Event()
    never = asyncio.Event()
    requested = False
    spec_version = scope["asgi"]["spec_version"]

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] != "http.response.body":
            return
        if gone.is_set():
            if spec_version == "2.4":
                raise OSError("client gone")
            return
        sent += 1
        if sent == chunks:
            gone.set()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await (never if spec_version == "2.4" else gone).wait()
        return {"type": "http.disconnect"}

    if spec_version == "2.4":
        with pytest.raises(ClientDisconnect):
            await app(scope, receive, send)
    else:
        await app(scope, receive, send)
    assert sent == chunks


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_abandoned_downloads_release_their_cursors(
    app_and_token: tuple[Any, str, str], spec_version: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Clients that go away mid-download: each download's cursor (on PostgreSQL a pooled
    connection: more downloads than the pool's 10 connections) is released at once, and the
    store goes on answering and appending."""
    app, site_id, token = app_and_token
    services: Services = app.state.services
    params = {"websiteId": site_id, "period": "custom", "date": "2026-09-01,2026-09-30"}
    scope = scope_of("/api/v1/stats/export/events", params, token, spec_version)
    for chunks in (1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3):
        await disconnect_after(app, scope, chunks)
    await services.events.append(many_events(site_id)[:1])
    assert await services.events.count(site_id) == TOTAL + 1
    seen = await download(app, "/api/v1/stats/export/events", params, token)
    assert seen.lines == TOTAL + 2
    # Nothing was left for the garbage collector to close (it would log from asyncio).
    gc.collect()
    await asyncio.sleep(0)  # let finalizer hooks' scheduled closes run, were there any
    await asyncio.sleep(0)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
