"""`python -m bench.inprocess`: CPU per request of the hot endpoints, without HTTP.

    python -m bench.inprocess realtime|realtime-path|noop|ingest|ingest-no-id [N] [--profile]
                              [--concurrency=C]

Builds the product app (rate limits on but out of reach, as the bench server does), runs its
lifespan in this process and calls it as ASGI directly, 64 requests at a time: no sockets, no
uvicorn, no load generator competing for the CPU. Prints the process CPU time per request
(all threads: for ingestion that includes the DuckDB commit thread) — a figure that, unlike
requests/s, hardly moves when other jobs share the machine. `--profile` adds cProfile's top
functions (main thread only; cProfile roughly doubles the times). Ingestion replays the
scenario's tracker hits, each with a fresh eventId (`ingest-no-id`: without one).

By default requests go in waves of 64 (each wave awaited), which gives the CPU per request.
`--concurrency=C` keeps C requests in flight all the time instead, as C keep-alive
connections of a load generator would: the event loop never idles, so the wall time per
request shows how the store's commit thread and the request path share the interpreter.
"""

from __future__ import annotations

import asyncio
import cProfile
import ipaddress
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench import payloads
from bench.app import NOOP_PATH, noop_get
from footfall.app import create_app
from footfall.config import Settings

BATCH = 64
_LIMITS = ("realtime", "stats", "ingest_client", "ingest_site", "live_client")
Call = tuple[str, str, bytes, list[tuple[bytes, bytes]], str]


async def _call(app: Any, call: Call, body: str) -> int:
    method, path, query, headers, _ = call
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body.encode(), "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the answer comes first
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def _waves(one: Callable[[int], Awaitable[int]], start: int, count: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    for i in range(start, start + count, BATCH):
        statuses.update(await asyncio.gather(*(one(i + j) for j in range(BATCH))))
    return statuses


async def _streams(
    one: Callable[[int], Awaitable[int]], start: int, count: int, concurrency: int
) -> Counter[int]:
    statuses: Counter[int] = Counter()
    issued = iter(range(start, start + count))

    async def stream() -> None:
        for i in issued:  # the shared iterator hands each index to one stream only
            statuses[await one(i)] += 1

    await asyncio.gather(*(stream() for _ in range(concurrency)))
    return statuses


async def measure(mode: str, count: int, profile: bool, concurrency: int | None) -> None:
    limits: dict[str, Any] = {}
    for kind in _LIMITS:
        limits[f"rate_limit_{kind}_per_second"] = 1e9
        limits[f"rate_limit_{kind}_burst"] = 10**9
    proxies = [ipaddress.ip_network("127.0.0.1/32")]
    settings = Settings(trusted_proxies=proxies, access_log=False, **limits)
    app = create_app(settings)
    app.add_hot_path("GET", NOOP_PATH, noop_get)
    async with app.router.lifespan_context(app):
        services = app.state.services
        site = await services.meta.create_site(payloads.DOMAIN, "bench", time.time())
        token, _ = await services.meta.create_token(site.id, time.time())
        calls: list[Call]
        if mode.startswith("ingest"):
            calls = [
                (
                    r.method,
                    r.path,
                    b"",
                    [(k.lower().encode(), v.encode()) for k, v in r.headers.items()],
                    r.body,
                )
                for r in payloads.tracker_requests(site.id, count=2000)
            ]
        else:
            path = NOOP_PATH if mode == "noop" else "/api/v1/realtime"
            query = f"websiteId={site.id}" + ("&path=/pricing" if mode == "realtime-path" else "")
            auth = [
                (b"authorization", f"Bearer {token}".encode()),
                (b"accept", b"application/json"),
            ]
            calls = [("GET", path, query.encode(), auth, "")]
        slot = payloads.EVENT_ID_SLOT

        async def one(i: int) -> int:
            call = calls[i % len(calls)]
            body = call[4]
            if mode == "ingest-no-id":
                body = body.replace(f',"eventId":"{slot}"', "")
            else:
                body = body.replace(slot, uuid.uuid4().hex[:16])
            return await _call(app, call, body)

        await _waves(one, 0, 2048)  # warm-up
        profiler = cProfile.Profile() if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        if concurrency is None:
            statuses = await _waves(one, 2048, count)
        else:
            statuses = await _streams(one, 2048, count, concurrency)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        done = sum(statuses.values())
        print(
            f"{mode}: {done} requests, statuses {dict(statuses)}; CPU {cpu / done * 1e6:.1f} µs "
            f"per request (all threads), wall {wall / done * 1e6:.1f} µs "
            f"({done / wall:,.0f} requests/s"
            + (f" with {concurrency} in flight)" if concurrency else " in waves of 64)")
        )
        if profiler:
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ.get("TOP", "40"))
            )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    mode = args[0] if args else "realtime"
    if mode not in ("realtime", "realtime-path", "noop", "ingest", "ingest-no-id"):
        raise SystemExit(__doc__)
    count = int(args[1]) if len(args) > 1 else 20_000
    concurrency = None
    for arg in sys.argv[1:]:
        if arg.startswith("--concurrency="):
            concurrency = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory(prefix="footfall-inprocess-") as data_dir:
        os.environ["FOOTFALL_DATA_DIR"] = data_dir
        asyncio.run(measure(mode, count, "--profile" in sys.argv, concurrency))


if __name__ == "__main__":
    main()
