"""Live streams at scale: N open `GET /api/v1/live/stream` on one instance, memory and CPU.

    python -m bench.live_streams                    # 5,000 streams (the issue's figure)
    python -m bench.live_streams --streams 1000 --updates 10

One real `footfall serve` process (embedded tier, access log off) with a site and a
publishable key for `/pricing`; this process is the crowd of browsers: N raw asyncio TCP
connections, each a pricing page's `EventSource` (same request, same `Origin`), opened in
batches (the listen backlog is finite). Phases, each measured on the server process from
/proc (RSS, user+system CPU time) and on this process (its own CPU, reported apart):

1. idle server, no stream;
2. opening N streams (each must receive its first event: the current count);
3. N streams held open with nothing happening, across a heartbeat (the steady cost);
4. `updates` pageviews on /pricing, one every `spacing` seconds, each a new visitor: every
   stream must receive every new count. Delivery delay per stream and update is measured
   from the moment the pageview was sent (so it includes ingestion's commit), and the hub's
   computations are read from `/healthz` (one per change, not one per stream);
5. SIGTERM with N streams open: how long the server takes to stop (all streams end first).

Writes bench/results/live-streams.{json,md} and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import procfs, server

RESULTS = Path(__file__).resolve().parent / "results"
ORIGIN = "https://shop.example.com"
COUNT = re.compile(rb'"currentVisitors":(\d+|null)')
CONNECT_BATCH = 250


def _log(message: str) -> None:
    print(f"[live-streams {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Browser:
    """One open stream: when each count was first seen, and the heartbeats."""

    seen: dict[int, float] = field(default_factory=dict)
    heartbeats: int = 0
    ended: bool = False
    first: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None


async def _follow(host: str, port: int, request: bytes, browser: Browser) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    browser.writer = writer
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"stream refused: {head[:200]!r}")
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            browser.ended = True
            return
        now = time.monotonic()
        browser.heartbeats += chunk.count(b": keep-alive")
        for match in COUNT.finditer(chunk):
            if match.group(1) != b"null":
                browser.seen.setdefault(int(match.group(1)), now)
        browser.first.set()


async def _pageview(http: httpx.AsyncClient, site_id: str, path: str, ip: str) -> None:
    response = await http.post(
        "/api/event",
        json={"websiteId": site_id, "url": f"https://example.com{path}"},
        headers={
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36",
            "X-Forwarded-For": ip,
        },
    )
    if response.status_code != 202 or response.json() != {"status": "accepted"}:
        raise RuntimeError(f"pageview refused: {response.status_code} {response.text}")


def _stream_request(port: int, key: str) -> bytes:
    return (
        f"GET /api/v1/live/stream?key={key}&path=/pricing HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nOrigin: {ORIGIN}\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (bench) Chrome/131.0\r\n\r\n"
    ).encode()


@dataclass
class Sample:
    """Server RSS (MiB) and CPU seconds, this process's CPU seconds, wall time."""

    rss_mib: float
    server_cpu: float
    client_cpu: float
    wall: float

    @classmethod
    def take(cls, pid: int) -> Sample:
        return cls(
            procfs.rss_mib(pid), procfs.cpu_seconds(pid), time.process_time(), time.monotonic()
        )

    def since(self, before: Sample) -> dict[str, float]:
        wall = self.wall - before.wall
        return {
            "seconds": wall,
            "server_cpu_s": self.server_cpu - before.server_cpu,
            "server_cpu_pct": 100 * (self.server_cpu - before.server_cpu) / wall if wall else 0.0,
            "client_cpu_s": self.client_cpu - before.client_cpu,
            "rss_mib": self.rss_mib,
            "rss_delta_mib": self.rss_mib - before.rss_mib,
        }


def _health(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/healthz", timeout=10).json()
    return body


async def run(
    streams: int, updates: int, spacing: float, hold: float, workdir: Path
) -> dict[str, Any]:
    data_dir = workdir / "live"
    site = server.add_site(data_dir, "example.com", name="live streams")
    key = json.loads(
        server.footfall_cli(
            data_dir,
            "keys",
            "create",
            site.website_id,
            "--origin",
            ORIGIN,
            "--path",
            "/pricing",
            "--json",
        )
    )["key"]
    env = {
        "FOOTFALL_MAX_CONCURRENCY": str(streams * 2 + 1000),
        "FOOTFALL_LIVE_MAX_STREAMS": str(streams + 100),
        "FOOTFALL_LIVE_MAX_STREAMS_PER_CLIENT": str(streams + 100),  # all from one address
        "FOOTFALL_TRUSTED_PROXIES": "127.0.0.1",
        "FOOTFALL_RATE_LIMIT_INGEST_CLIENT_PER_SECOND": "0",
    }
    result: dict[str, Any] = {"streams": streams, "updates": updates, "spacing_s": spacing}
    bench = server.BenchServer(data_dir, env=env, module_args=("footfall", "serve")).start()
    try:
        pid, port = bench.pid, bench.port
        # Warm ingestion up first (its first pageview loads the user-agent parser and opens
        # the store's write path: ~30 MiB), so stream memory is not confused with it.
        async with httpx.AsyncClient(base_url=bench.url, timeout=30) as http:
            await _pageview(http, site.website_id, "/", "203.0.113.1")
        await asyncio.sleep(1.0)
        idle = Sample.take(pid)
        result["idle_rss_mib"] = idle.rss_mib
        _log(f"idle server: RSS {idle.rss_mib:.1f} MiB")

        # 2. open the streams, in batches, each until its first event
        request = _stream_request(port, key)
        browsers = [Browser() for _ in range(streams)]
        tasks: list[asyncio.Task[None]] = []
        for start in range(0, streams, CONNECT_BATCH):
            batch = browsers[start : start + CONNECT_BATCH]
            tasks += [asyncio.create_task(_follow("127.0.0.1", port, request, b)) for b in batch]
            await asyncio.wait_for(asyncio.gather(*(b.first.wait() for b in batch)), 60)
        opened = Sample.take(pid)
        result["opening"] = opened.since(idle)
        result["rss_per_stream_kib"] = (opened.rss_mib - idle.rss_mib) * 1024 / streams
        health = _health(bench.url)
        result["after_open"] = health["live"]
        _log(
            f"{streams:,} streams open in {result['opening']['seconds']:.1f} s: RSS "
            f"{opened.rss_mib:.1f} MiB (+{result['rss_per_stream_kib']:.1f} KiB/stream), "
            f"server CPU {result['opening']['server_cpu_s']:.1f} s; hub {health['live']}"
        )

        # 3. held open, nothing happening (across a heartbeat)
        beats = sum(b.heartbeats for b in browsers)
        await asyncio.sleep(hold)
        held = Sample.take(pid)
        result["holding"] = held.since(opened)
        result["holding"]["heartbeats"] = sum(b.heartbeats for b in browsers) - beats
        _log(
            f"held {hold:.0f} s: server CPU {result['holding']['server_cpu_pct']:.1f} % of a core, "
            f"RSS {held.rss_mib:.1f} MiB, {result['holding']['heartbeats']:,} heartbeats"
        )

        # 4. updates: one new visitor on /pricing every `spacing` seconds
        computations = _health(bench.url)["live"]["computations"]
        before_updates = Sample.take(pid)
        delays: list[float] = []
        slowest: list[float] = []
        acks: list[float] = []  # the pageview's own round trip (ingestion, commit)
        rss: list[float] = []  # the server's RSS after each update (a leak would climb)
        async with httpx.AsyncClient(base_url=bench.url, timeout=30) as http:
            for n in range(1, updates + 1):
                sent = time.monotonic()
                await _pageview(
                    http, site.website_id, "/pricing", f"198.51.{n // 250}.{n % 250 + 1}"
                )
                acks.append(time.monotonic() - sent)
                deadline = time.monotonic() + 30
                while any(n not in b.seen for b in browsers):
                    if time.monotonic() > deadline:
                        missing = sum(n not in b.seen for b in browsers)
                        raise RuntimeError(f"update {n}: {missing} streams never got it")
                    await asyncio.sleep(0.005)
                update = [b.seen[n] - sent for b in browsers]
                rss.append(round(procfs.rss_mib(pid), 1))
                delays += update
                slowest.append(max(update))
                await asyncio.sleep(max(0.0, spacing - (time.monotonic() - sent)))
        after_updates = Sample.take(pid)
        result["updates_phase"] = after_updates.since(before_updates)
        result["computations"] = _health(bench.url)["live"]["computations"] - computations
        result["rss_mib_per_update"] = rss
        delays.sort()
        result["delivery_ms"] = {
            "p50": 1000 * statistics.median(delays),
            "p99": 1000 * delays[int(len(delays) * 0.99) - 1],
            "max": 1000 * delays[-1],
            "slowest_per_update_median": 1000 * statistics.median(slowest),
            "slowest_per_update": [round(1000 * x) for x in slowest],
            "pageview_ack": [round(1000 * x) for x in acks],
        }
        result["server_cpu_ms_per_update"] = (
            1000 * (after_updates.server_cpu - before_updates.server_cpu) / updates
        )
        _log(
            f"{updates} updates x {streams:,} streams: delivery p50 "
            f"{result['delivery_ms']['p50']:.0f} ms, p99 {result['delivery_ms']['p99']:.0f} ms, "
            f"max {result['delivery_ms']['max']:.0f} ms (pageview acks max "
            f"{max(result['delivery_ms']['pageview_ack'])} ms); {result['computations']} "
            "computations; "
            f"server CPU {result['server_cpu_ms_per_update']:.0f} ms per update"
        )

        # 5. SIGTERM with every stream open
        stopping = time.monotonic()
        bench.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        code = await asyncio.to_thread(bench.process.wait, 60)  # type: ignore[union-attr]
        result["stop_s"] = time.monotonic() - stopping
        await asyncio.wait(tasks, timeout=10)
        result["stop_exit_code"] = code
        result["streams_ended_cleanly"] = sum(b.ended for b in browsers)
        _log(
            f"SIGTERM with {streams:,} streams open: stopped in {result['stop_s']:.2f} s "
            f"(exit {code}), {result['streams_ended_cleanly']:,} streams ended cleanly"
        )
        for task in tasks:
            task.cancel()
        for browser in browsers:
            if browser.writer is not None:
                browser.writer.close()
    finally:
        bench.stop()
    return result


def markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    r, d = result, result["delivery_ms"]
    rows = [
        ("idle server RSS", f"{r['idle_rss_mib']:.1f} MiB"),
        (
            f"opening {r['streams']:,} streams",
            f"{r['opening']['seconds']:.1f} s; server CPU {r['opening']['server_cpu_s']:.1f} s "
            f"(the client's {r['opening']['client_cpu_s']:.1f} s)",
        ),
        (
            f"RSS with {r['streams']:,} streams open",
            f"{r['opening']['rss_mib']:.1f} MiB: +{r['opening']['rss_delta_mib']:.1f} MiB, "
            f"{r['rss_per_stream_kib']:.1f} KiB per stream",
        ),
        ("hub after opening", f"{r['after_open']}"),
        (
            f"held open {r['holding']['seconds']:.0f} s, nothing happening",
            f"server CPU {r['holding']['server_cpu_pct']:.1f} % of a core; "
            f"{r['holding']['heartbeats']:,} heartbeats sent; "
            f"RSS {r['holding']['rss_mib']:.1f} MiB",
        ),
        (
            f"{r['updates']} count changes (a pageview every {r['spacing_s']:g} s)",
            f"{r['computations']} computations for {r['updates'] * r['streams']:,} deliveries",
        ),
        (
            "delivery, pageview sent → stream received",
            f"p50 {d['p50']:.0f} ms, p99 {d['p99']:.0f} ms, max {d['max']:.0f} ms "
            f"(last of {r['streams']:,} streams per update, median: "
            f"{d['slowest_per_update_median']:.0f} ms)",
        ),
        (
            "of which the pageview's own round trip (ingestion and commit)",
            f"median {statistics.median(d['pageview_ack']):.0f} ms, "
            f"max {max(d['pageview_ack']):.0f} ms",
        ),
        (
            "server CPU per change, fanned out to every stream",
            f"{r['server_cpu_ms_per_update']:.0f} ms "
            f"({r['updates_phase']['server_cpu_pct']:.0f} % of a core over the phase)",
        ),
        (
            "SIGTERM with every stream open",
            f"stopped in {r['stop_s']:.2f} s (exit {r['stop_exit_code']}); "
            f"{r['streams_ended_cleanly']:,} of {r['streams']:,} streams ended cleanly",
        ),
    ]
    lines = [
        f"Run {meta['when']} on {meta['cpu']} ({meta['cores']} cores); command "
        f"`{meta['command']}`; load average at the start {meta['load']}.",
        "",
        "| what | measured |",
        "|---|---|",
        *(f"| {what} | {value} |" for what, value in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_streams", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--streams", type=int, default=5_000)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--spacing", type=float, default=1.0, help="seconds between pageviews")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds held open idle")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": procfs.cpu_model(),
        "cores": os.cpu_count(),
        "load": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "command": "python -m bench.live_streams " + " ".join(argv or sys.argv[1:]),
    }
    with tempfile.TemporaryDirectory(prefix="footfall-live-bench-") as tmp:
        result = asyncio.run(run(args.streams, args.updates, args.spacing, args.hold, Path(tmp)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live-streams.json").write_text(
        json.dumps({"meta": meta, "result": result}, indent=2)
    )
    text = markdown(result, meta)
    (args.out / "live-streams.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
