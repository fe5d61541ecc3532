"""Scenario 3: the Realtime API (`GET /api/v1/realtime`) against the no-op GET.

Two stages on one data folder, each on its own site (token from `footfall tokens create`):

1. "empty": a fresh event store. The site's active visitors are raised to 10, 10,000 and
   100,000 (`POST /api/v1/events`, batches of 1,000 pageviews with distinct `visitorId`s);
   at each level the no-op GET and the realtime GET run back to back (`repeat` times, medians),
   and the answer's `currentVisitors` is checked before and after.
2. "stored": the server is stopped with SIGTERM, `stored_events` old events (2 to 60 days ago,
   in time order) are bulk-inserted into the DuckDB file with DuckDB SQL, the server is
   restarted (start-up time and idle RSS measured), and the same levels run again.

At the top level of each stage a run paced at half the best realtime rate gives the latency
under a sustainable load. All visitors are touched within the 180 s window of the contract.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import httpx

from bench import payloads, profile, server, wrk
from bench.app import NOOP_PATH
from bench.config import BenchConfig
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import COLUMNS

BATCH = 1000
# The columns `bulk_insert` fills, in its SELECT's order: the schema's first 22 (up to props).
_BULK_COLUMNS = COLUMNS[: COLUMNS.index("props") + 1]
WARMUP_SECONDS = 2.0


def _count(bench: server.BenchServer, site: server.SiteCredentials) -> int:
    response = httpx.get(
        f"{bench.url}/api/v1/realtime",
        params={"websiteId": site.website_id},
        headers={"Authorization": f"Bearer {site.token}"},
        timeout=10.0,
    )
    response.raise_for_status()
    count: int = response.json()["currentVisitors"]
    return count


def fill(bench: server.BenchServer, site: server.SiteCredentials, visitors: int) -> float:
    """Give the site exactly `visitors` active visitors (a pageview now for each); events/s."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {site.token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=bench.url, headers=headers, timeout=60.0) as http:
        for start in range(0, visitors, BATCH):
            ids = range(start, min(start + BATCH, visitors))
            response = http.post("/api/v1/events", content=payloads.server_batch(ids))
            if response.status_code != 202 or response.json()["accepted"] != len(ids):
                raise RuntimeError(f"fill failed: {response.status_code} {response.text}")
    return visitors / (time.monotonic() - started)


def bulk_insert(events_path: Path, site_id: str, count: int) -> float:
    """Append `count` old events (2 to 60 days ago, in time order) with DuckDB SQL; seconds."""
    # Opening the store once creates the schema (as any server start does).
    asyncio.run(DuckDBEventStore(events_path).close())
    now_ms = int(time.time() * 1000)
    start_ms = now_ms - 60 * 86_400_000
    span_ms = 58 * 86_400_000

    def pick(values: list[str], modulo: str = "i") -> str:
        items = ", ".join(f"'{v}'" for v in values)
        return f"list_element([{items}], ({modulo} % {len(values)} + 1)::INTEGER)"

    # Name the columns supplied: the columns appended by later schema versions (region, city,
    # event_id) stay NULL, as they are for events stored before those versions.
    sql = f"""
        INSERT INTO events ({", ".join(_BULK_COLUMNS)})
        SELECT
            epoch_ms({start_ms} + i * {span_ms} // {count}),
            '{site_id}',
            (hash(i // 4) >> 1)::BIGINT,
            (hash(i // 3 + 1000000000) >> 1)::BIGINT,
            CASE WHEN i % 20 = 0 THEN 'signup' ELSE 'pageview' END,
            {pick(["example.com", "blog.example.com", "www.example.com"])},
            {pick(["/", "/pricing", "/features", "/about", "/posts/launch", "/guide/api"])},
            CASE WHEN i % 5 = 0 THEN 'https://www.google.com/'
                 WHEN i % 7 = 0 THEN 'https://news.ycombinator.com/item' END,
            CASE WHEN i % 5 = 0 THEN 'Google' WHEN i % 7 = 0 THEN 'Hacker News' END,
            CASE WHEN i % 11 = 0 THEN 'newsletter' END,
            CASE WHEN i % 11 = 0 THEN 'email' END,
            CASE WHEN i % 11 = 0 THEN 'spring' END,
            NULL,
            NULL,
            {pick(["US", "DE", "FR", "GB", "IN", "BR"])},
            {pick(["Chrome", "Firefox", "Safari", "Edge", "Chrome Mobile", "Mobile Safari"])},
            {pick(["131.0", "133.0", "18.1", "130.0", "131.0", "18.0"])},
            {pick(["Windows", "Mac OS X", "Linux", "Windows", "Android", "iOS"])},
            {pick(["10", "10.15", "", "10", "14", "18.1"])},
            {pick(["desktop", "desktop", "desktop", "desktop", "mobile", "mobile"])},
            {pick(["desktop", "laptop", "desktop", "laptop", "mobile", "mobile"])},
            CASE WHEN i % 20 = 0 THEN '{{"plan":"pro"}}' END
        FROM range({count}) AS t(i)
    """
    started = time.monotonic()
    con = duckdb.connect(str(events_path))
    try:
        con.execute(sql)
    finally:
        con.close()
    return time.monotonic() - started


def _requests(config: BenchConfig, site: server.SiteCredentials) -> tuple[Path, Path]:
    headers = {"Authorization": f"Bearer {site.token}", "Accept": "application/json"}
    query = f"?websiteId={site.website_id}"
    realtime = wrk.write_requests(
        config.workdir / f"realtime-{site.website_id}.requests",
        [wrk.RawRequest("GET", "/api/v1/realtime" + query, headers)],
    )
    noop = wrk.write_requests(
        config.workdir / f"noop-get-{site.website_id}.requests",
        [wrk.RawRequest("GET", NOOP_PATH + query, headers)],
    )
    return realtime, noop


def _median(runs: list[wrk.RunResult]) -> wrk.RunResult:
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[(len(ordered) - 1) // 2]


def stage(
    config: BenchConfig,
    bench: server.BenchServer,
    site: server.SiteCredentials,
    stored: int,
    log: Any,
    *,
    visitor_levels: tuple[int, ...] | None = None,
    name: str = "realtime",
) -> dict[str, Any]:
    """One stage on a running server: at each of `visitor_levels` (default: the config's),
    fill the site's active visitors, then the no-op GET and the realtime GET back to back;
    a paced run; a profile. `name` labels the log lines and the profile."""
    levels_asked = config.visitor_levels if visitor_levels is None else visitor_levels
    realtime_file, noop_file = _requests(config, site)
    c = config.realtime_connections
    for file in (noop_file, realtime_file):
        wrk.run(
            "warmup", bench.url, file, connections=c, duration=WARMUP_SECONDS, server_pid=bench.pid
        )
    rss_before = bench.rss_mib()
    levels: list[dict[str, Any]] = []
    for visitors in levels_asked:
        fill_rate = fill(bench, site, visitors)
        before = _count(bench, site)
        baselines, realtimes = [], []
        for _ in range(config.repeat):
            baselines.append(
                wrk.run(
                    "noop GET",
                    bench.url,
                    noop_file,
                    connections=c,
                    duration=config.duration,
                    server_pid=bench.pid,
                    marker="ok",
                )
            )
            realtimes.append(
                wrk.run(
                    "GET /api/v1/realtime",
                    bench.url,
                    realtime_file,
                    connections=c,
                    duration=config.duration,
                    server_pid=bench.pid,
                    marker="currentVisitors",
                )
            )
        after = _count(bench, site)
        base, real = _median(baselines), _median(realtimes)
        level: dict[str, Any] = {
            "visitors": visitors,
            "stored_events": stored,
            "count_before": before,
            "count_after": after,
            "fill_events_per_s": fill_rate,
            "baseline": asdict(base),
            "realtime": asdict(real),
            "ratio": real.rps / base.rps,
            "realtime_rps_all": [round(r.rps) for r in realtimes],
            "baseline_rps_all": [round(r.rps) for r in baselines],
            "all_ok": all(r.marked == r.requests and r.error_count == 0 for r in realtimes),
            "rss_mib": bench.rss_mib(),
        }
        levels.append(level)
        log(
            f"{name} {visitors:,} visitors, {stored:,} stored: {real.rps:,.0f} req/s "
            f"(noop {base.rps:,.0f}, ratio {level['ratio']:.2f}), p50 {real.p50_ms:.2f} "
            f"p99 {real.p99_ms:.2f} ms; count {before} -> {after}"
        )
    top = max(levels, key=lambda x: x["realtime"]["rps"])
    half = top["realtime"]["rps"] / 2
    paced = wrk.run(
        "GET /api/v1/realtime paced",
        bench.url,
        realtime_file,
        connections=config.paced_connections,
        duration=config.duration * 2,
        server_pid=bench.pid,
        rate=half,
        marker="currentVisitors",
    )
    log(
        f"{name} paced at {half:,.0f}/s: got {paced.rps:,.0f}/s, p50 {paced.p50_ms:.2f} "
        f"p99 {paced.p99_ms:.2f} ms"
    )
    stage: dict[str, Any] = {
        "website_id": site.website_id,
        "stored_events": stored,
        "levels": levels,
        "paced": asdict(paced),
        "paced_visitors": levels_asked[-1],
        "rss_before_fill_mib": rss_before,
        "rss_after_fill_mib": levels[-1]["rss_mib"],
    }
    if config.profile and profile.py_spy():
        raw = config.workdir / f"profile-{name.replace(' ', '-')}-{stored}.txt"

        def load() -> float:
            return wrk.run(
                "profiled",
                bench.url,
                realtime_file,
                connections=c,
                duration=config.profile_seconds,
                server_pid=bench.pid,
                wait_quiet=False,
            ).rps

        label = f"{name}, {stored:,} stored events"
        summary = profile.profiled_run(label, bench.pid, config.profile_seconds, raw, load)
        stage["profile"] = summary
    return stage


def run(config: BenchConfig, log: Any = print) -> dict[str, Any]:
    data_dir = config.workdir / "realtime"
    empty_site = server.add_site(data_dir, payloads.DOMAIN, name="realtime, empty store")
    result: dict[str, Any] = {}
    with server.BenchServer(data_dir) as bench:
        time.sleep(1.0)
        result["idle_rss_mib"] = bench.rss_mib()
        result["startup_s"] = bench.startup_seconds
        result["empty"] = stage(config, bench, empty_site, 0, log)
    stored_site = server.add_site(data_dir, payloads.DOMAIN, name="realtime, stored events")
    seconds = bulk_insert(data_dir / "events.duckdb", stored_site.website_id, config.stored_events)
    size = (data_dir / "events.duckdb").stat().st_size
    log(
        f"realtime: {config.stored_events:,} events bulk-inserted in {seconds:.1f} s "
        f"({size / 2**20:,.0f} MiB file); restarting"
    )
    result["bulk_insert"] = {
        "events": config.stored_events,
        "seconds": seconds,
        "file_mib": size / 2**20,
    }
    with server.BenchServer(data_dir) as bench:
        time.sleep(1.0)
        result["restart_s"] = bench.startup_seconds
        result["restart_idle_rss_mib"] = bench.rss_mib()
        log(
            f"realtime: restarted in {bench.startup_seconds:.2f} s, idle RSS "
            f"{result['restart_idle_rss_mib']:.1f} MiB"
        )
        result["stored"] = stage(config, bench, stored_site, config.stored_events, log)
    return result
