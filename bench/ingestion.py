"""Scenario 2: ingestion (`POST /api/event`) against the no-op POST, and the durability check.

One bench server (FOOTFALL_TRUSTED_PROXIES=127.0.0.1/32, so the varied `X-Forwarded-For`
makes thousands of visitors) on a fresh data folder with the site example.com. For each
concurrency, the no-op POST and the tracker endpoint are run back to back with the same
requests (`repeat` times; medians reported): events/s, latency percentiles, CPU of the server
and of wrk. Then one run paced at half the best ingestion rate gives the latency under a
sustainable load.

Durability: every wrk run is matched with the server's committed-event counter (`/healthz`):
wrk abandons the requests in flight at its deadline, so the counter may exceed the accepted
answers by at most the connection count. An exact run (every answer awaited) must then match
exactly; and after SIGTERM the DuckDB file, opened with `DuckDBEventStore`, must hold every
event the server committed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import client, payloads, profile, server, wrk
from bench.app import NOOP_PATH
from bench.config import BenchConfig
from footfall.storage.duckdb_events import DuckDBEventStore

TRUSTED = {"FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32"}
WARMUP_SECONDS = 3.0


@dataclass
class RunAccount:
    """One ingestion run's answers next to what the server committed meanwhile."""

    accepted_answers: int
    committed: int
    batches: int
    dropped: int

    @property
    def in_flight_at_stop(self) -> int:
        return self.committed - self.accepted_answers


@dataclass
class Point:
    connections: int
    baseline: list[wrk.RunResult] = field(default_factory=list)
    ingest: list[wrk.RunResult] = field(default_factory=list)
    accounts: list[RunAccount] = field(default_factory=list)

    @staticmethod
    def median(runs: list[wrk.RunResult]) -> wrk.RunResult:
        """The run with the median throughput (its own latencies come with it)."""
        ordered = sorted(runs, key=lambda r: r.rps)
        return ordered[(len(ordered) - 1) // 2]

    def summary(self) -> dict[str, Any]:
        base, ingest = self.median(self.baseline), self.median(self.ingest)
        return {
            "connections": self.connections,
            "baseline": asdict(base),
            "ingest": asdict(ingest),
            "ratio": ingest.rps / base.rps,
            "ingest_rps_all": [round(r.rps) for r in self.ingest],
            "baseline_rps_all": [round(r.rps) for r in self.baseline],
            "accepted_all": all(r.marked == r.requests and r.error_count == 0 for r in self.ingest),
            "accounts": [
                {**asdict(a), "in_flight_at_stop": a.in_flight_at_stop} for a in self.accounts
            ],
            "events_per_commit": statistics.mean(
                a.committed / a.batches for a in self.accounts if a.batches
            )
            if any(a.batches for a in self.accounts)
            else 0.0,
        }


def _counters(bench: server.BenchServer) -> tuple[int, int, int]:
    health = bench.wait_idle()
    writer = health["writer"]
    return writer["committedEvents"], writer["committedBatches"], sum(health["dropped"].values())


def _accounted_run(
    bench: server.BenchServer,
    label: str,
    requests_file: Any,
    connections: int,
    duration: float,
    rate: float | None = None,
) -> tuple[wrk.RunResult, RunAccount]:
    before = _counters(bench)
    result = wrk.run(
        label,
        bench.url,
        requests_file,
        connections=connections,
        duration=duration,
        server_pid=bench.pid,
        rate=rate,
        marker="accepted",
    )
    after = _counters(bench)
    account = RunAccount(
        accepted_answers=result.marked,
        committed=after[0] - before[0],
        batches=after[1] - before[1],
        dropped=after[2] - before[2],
    )
    return result, account


async def _stored_count(data_dir: Path) -> int:
    store = DuckDBEventStore(data_dir / "events.duckdb")
    try:
        return await store.count()
    finally:
        await store.close()


@dataclass
class Tally:
    """Accepted answers of every ingestion request sent, and the connections of the wrk runs
    (each may leave one request in flight when it stops: committed, but never answered)."""

    accepted: int = 0
    wrk_connections: int = 0


@dataclass(frozen=True)
class Requests:
    """The tracker requests of a site, and the files wrk replays (product and no-op POST)."""

    tracker: list[wrk.RawRequest]
    ingest_file: Path
    noop_file: Path


def requests_for(config: BenchConfig, site: server.SiteCredentials, name: str) -> Requests:
    """Write the request files of `site` (named after the scenario `name`)."""
    tracker = payloads.tracker_requests(site.website_id)
    ingest_file = wrk.write_requests(config.workdir / f"{name}-ingest.requests", tracker)
    noop_file = wrk.write_requests(
        config.workdir / f"{name}-noop-post.requests",
        [wrk.RawRequest(r.method, NOOP_PATH, r.headers, r.body) for r in tracker],
    )
    return Requests(tracker, ingest_file, noop_file)


def run(config: BenchConfig, log: Any = print) -> dict[str, Any]:
    """The embedded tier: one server on a fresh data folder, events counted in DuckDB."""
    data_dir = config.workdir / "ingestion"
    site = server.add_site(data_dir, payloads.DOMAIN)
    requests = requests_for(config, site, "ingestion")
    result: dict[str, Any] = {"website_id": site.website_id}
    tally = Tally()
    bench = server.BenchServer(data_dir, env=TRUSTED).start()
    try:
        result.update(measure(config, bench, requests, config.concurrencies, tally, log))
    finally:
        result["exit_code"] = bench.stop()
    stored = asyncio.run(_stored_count(data_dir))
    result["durability"] = durability(result, stored, tally, log)
    return result


def measure(
    config: BenchConfig,
    bench: server.BenchServer,
    requests: Requests,
    concurrencies: tuple[int, ...],
    tally: Tally,
    log: Any = print,
    name: str = "ingestion",
) -> dict[str, Any]:
    """Every ingestion measurement on a running server (started with `TRUSTED` in its env):
    warm-up, the no-op POST and `/api/event` at each concurrency, a paced run, the exact run,
    the profiles. `tally` counts the answers; the caller stops the server, counts the stored
    events and calls `durability`. `name` labels the log lines, profiles and files."""
    tracker, ingest_file, noop_file = requests.tracker, requests.ingest_file, requests.noop_file
    result: dict[str, Any] = {"requests_pool": len(tracker)}
    time.sleep(1.0)
    result["startup_s"] = bench.startup_seconds
    result["idle_rss_mib"] = bench.rss_mib()
    log(
        f"{name}: server up in {bench.startup_seconds:.2f} s, idle RSS "
        f"{result['idle_rss_mib']:.1f} MiB; warming up"
    )
    for file in (noop_file, ingest_file):
        warm, account = _accounted_run(bench, "warmup", file, 16, WARMUP_SECONDS)
        if file is ingest_file:
            tally.accepted += warm.marked
            tally.wrk_connections += 16
    points = []
    for connections in concurrencies:
        point = Point(connections)
        for _ in range(config.repeat):
            point.baseline.append(
                wrk.run(
                    "noop POST",
                    bench.url,
                    noop_file,
                    connections=connections,
                    duration=config.duration,
                    server_pid=bench.pid,
                    marker="ok",
                )
            )
            ingest, account = _accounted_run(
                bench, "POST /api/event", ingest_file, connections, config.duration
            )
            point.ingest.append(ingest)
            point.accounts.append(account)
            tally.accepted += ingest.marked
            tally.wrk_connections += connections
        summary = point.summary()
        points.append(summary)
        log(
            f"{name} c={connections}: {summary['ingest']['rps']:,.0f} events/s "
            f"(noop {summary['baseline']['rps']:,.0f}/s, ratio {summary['ratio']:.2f}), "
            f"p99 {summary['ingest']['p99_ms']:.1f} ms"
        )
    result["points"] = points
    best = max(points, key=lambda p: p["ingest"]["rps"])
    half = best["ingest"]["rps"] / 2
    paced, account = _accounted_run(
        bench,
        "POST /api/event paced",
        ingest_file,
        config.paced_connections,
        config.duration * 2,
        rate=half,
    )
    tally.accepted += paced.marked
    tally.wrk_connections += config.paced_connections
    result["paced"] = {**asdict(paced), "account": asdict(account)}
    log(
        f"{name} paced at {half:,.0f}/s: got {paced.rps:,.0f}/s, p50 {paced.p50_ms:.2f} "
        f"p99 {paced.p99_ms:.2f} ms"
    )
    result["loaded_rss_mib"] = max(r["ingest"]["server_peak_rss_mib"] for r in points)
    # Exact accounting: every answer awaited.
    before = _counters(bench)
    exact = client.replay_exact(
        server.HOST,
        bench.port,
        tracker[: config.exact_requests],
        connections=config.exact_connections,
        marker="accepted",
    )
    after = _counters(bench)
    tally.accepted += exact.marked
    result["exact"] = {
        "requests": exact.requests,
        "statuses": {str(k): v for k, v in exact.statuses.items()},
        "accepted_answers": exact.marked,
        "committed": after[0] - before[0],
        "dropped": after[2] - before[2],
        "seconds": exact.seconds,
        "equal": exact.marked == after[0] - before[0],
    }
    log(f"{name} exact run: {exact.marked} accepted answers, {after[0] - before[0]} committed")
    if config.profile and profile.py_spy():
        result["profiles"], accepted = _profiles(config, bench, ingest_file, name)
        tally.accepted += accepted
        tally.wrk_connections += 64 * len(result["profiles"])
    final = bench.wait_idle()
    result["server_committed_total"] = final["writer"]["committedEvents"]
    result["dropped_total"] = final["dropped"]
    return result


def durability(
    result: dict[str, Any], stored: int, tally: Tally, log: Any = print
) -> dict[str, Any]:
    """Stored events (counted after the server stopped) against the server's commit counter and
    the accepted answers: every acknowledged event must be stored."""
    committed = result.get("server_committed_total")
    log(
        f"ingestion durability: {stored} stored after SIGTERM, server committed "
        f"{committed}, accepted answers {tally.accepted}"
    )
    return {
        "stored": stored,
        "server_committed": committed,
        "accepted_answers": tally.accepted,
        "wrk_connections_sum": tally.wrk_connections,
        "stored_equals_committed": stored == committed,
        "accepted_le_stored": tally.accepted <= stored <= tally.accepted + tally.wrk_connections,
    }


def _load(
    bench: server.BenchServer, ingest_file: Any, seconds: float, runs: list[wrk.RunResult]
) -> Callable[[], float]:
    """A c=64 ingestion run for the profiler; keeps the result in `runs` (for the accounting)."""

    def load() -> float:
        result = wrk.run(
            "profiled",
            bench.url,
            ingest_file,
            connections=64,
            duration=seconds,
            server_pid=bench.pid,
            marker="accepted",
            wait_quiet=False,
        )
        runs.append(result)
        return result.rps

    return load


def _profiles(
    config: BenchConfig, bench: server.BenchServer, ingest_file: Any, name: str
) -> tuple[list[dict[str, Any]], int]:
    """py-spy under the c=64 ingestion load: all threads, then only the GIL holder.

    Returns the summaries and the accepted answers of the profiled runs (for the accounting).
    """
    summaries = []
    accepted = 0
    for label, gil in ((f"{name}, all threads", False), (f"{name}, GIL holder", True)):
        raw = config.workdir / f"profile-{name.replace(' ', '-')}{'-gil' if gil else ''}.txt"
        runs: list[wrk.RunResult] = []
        load = _load(bench, ingest_file, config.profile_seconds, runs)
        summaries.append(
            profile.profiled_run(label, bench.pid, config.profile_seconds, raw, load, gil=gil)
        )
        accepted += runs[0].marked
    return summaries, accepted
