"""Scenario 5: the Stats API's dashboard over 30 days, on both event stores.

The dashboard's set of queries (`DASHBOARD`: the aggregate of six metrics, the daily
timeseries and six breakdowns, 30 days in Europe/Berlin) runs through the real engine
(`footfall.stats.answer`, the code path of the API) against a real store created by the
project's store classes and filled with `bench.stats_data` (N events of one site over 31 days
ending now, plus 5 % for a second site):

* DuckDB (embedded tier): events inserted with DuckDB SQL in time order; the rollup refreshed
  as housekeeping does, then the last 12 minutes of events appended after its watermark (so
  late visitors are read raw, as on a live site). Runs: the first after opening the store
  (cold), then `stats_runs` warm ones (medians); the same set through the raw SQL (the rollup
  off: what the store does without it, and a check that both give the same answers); and per
  query, the time of each statement of the rollup's script (where the time goes).
* PostgreSQL (cluster tier): a fresh database on 127.0.0.1:5432 (dropped afterwards), the
  store's schema and monthly partitions, the events loaded with COPY, then ANALYZE; the raw
  SQL (PostgreSQL has no rollup), cold and warm.
* HTTP: the same set as `GET /api/v1/stats/*` against a running server on the DuckDB data
  folder (token of the site), warm medians: what a dashboard waits for.

Baseline, measured in the same run on the same store: `SELECT count(*)` of the site's events
in the same 30 days, the cheapest query that reads the range; the dashboard's total is given
as a multiple of it, so that a slower or busier machine moves both.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import duckdb
import httpx

from bench import procfs, server, stats_data
from bench.config import BenchConfig
from footfall.stats import Kind, StatsQuery, answer, parse_query, rollup
from footfall.stats.sql import DIALECTS
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.postgres_events import PostgresEventStore

ZONE = "Europe/Berlin"
DAYS = 31
TAIL_SECONDS = 720.0  # events after the rollup's watermark: a housekeeping round 10 min ago
OTHER_SITE = "bench-other-site"
PG_SITE = "bench-pg-site"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TIME_LIMIT = 3600.0  # the raw SQL over millions of events: measured, not cut off

_COMMON = (("period", "30d"), ("timezone", ZONE))
DASHBOARD: tuple[tuple[str, Kind, tuple[tuple[str, str], ...]], ...] = (
    (
        "aggregate",
        Kind.AGGREGATE,
        (("metrics", "visitors,visits,pageviews,bounce_rate,visit_duration,views_per_visit"),),
    ),
    ("timeseries (day)", Kind.TIMESERIES, (("metrics", "visitors,pageviews"), ("interval", "day"))),
    *(
        (f"breakdown {name}", Kind.BREAKDOWN, (("property", name), ("limit", "10")))
        for name in (
            "event:page",
            "visit:source",
            "visit:country",
            "visit:browser",
            "visit:os",
            "visit:device",
        )
    ),
)
PATHS = {Kind.AGGREGATE: "aggregate", Kind.TIMESERIES: "timeseries", Kind.BREAKDOWN: "breakdown"}


def dashboard(site_id: str, now: float) -> list[tuple[str, StatsQuery]]:
    return [
        (label, parse_query(kind, site_id, [*_COMMON, *params], now))
        for label, kind, params in DASHBOARD
    ]


@dataclass
class _Busy:
    """The CPU the rest of the machine used while something ran, in % of one core."""

    wall: float = 0.0
    machine: float = 0.0
    own: float = 0.0

    def __enter__(self) -> _Busy:
        self._start = (time.monotonic(), procfs.machine_busy_seconds(), _own_cpu())
        return self

    def __exit__(self, *_: object) -> None:
        wall0, machine0, own0 = self._start
        self.wall = time.monotonic() - wall0
        self.machine = procfs.machine_busy_seconds() - machine0
        self.own = _own_cpu() - own0

    @property
    def other_pct(self) -> float:
        return 100 * max(0.0, self.machine - self.own) / self.wall if self.wall else 0.0


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _time_set(
    store: Any, queries: list[tuple[str, StatsQuery]]
) -> tuple[dict[str, float], list[Any]]:
    """One run of the set: ms per query, and the answers."""
    timings: dict[str, float] = {}
    answers = []
    for label, query in queries:
        started = time.perf_counter()
        answers.append(await answer(store, query, TIME_LIMIT))
        timings[label] = (time.perf_counter() - started) * 1000
    return timings, answers


async def _runs(store: Any, queries: list[tuple[str, StatsQuery]], count: int) -> dict[str, Any]:
    """Cold (first) run, then `count` warm runs: per query and total, medians. Each run starts
    as after an append (a call on the store in between): nothing of the previous run's
    queries is reused, as on a site receiving events between two dashboard loads."""
    cold, answers = await _time_set(store, queries)
    warm: list[dict[str, float]] = []
    with _Busy() as busy:
        for _ in range(count):
            await store.ping()
            warm.append((await _time_set(store, queries))[0])
    labels = [label for label, _ in queries]
    return {
        "cold_ms": cold,
        "cold_total_ms": sum(cold.values()),
        "warm_ms": {label: statistics.median(run[label] for run in warm) for label in labels},
        "warm_total_ms": statistics.median(sum(run.values()) for run in warm),
        "warm_totals_ms": [round(sum(run.values()), 1) for run in warm],
        "other_cpu_pct": busy.other_pct,
        "answers": answers,
    }


_BASELINE = (
    "/* bench.baseline */ SELECT count(*) FROM events WHERE site_id = $1 AND ts >= $2 AND ts < $3"
)


async def _baseline(store: Any, query: StatsQuery, count: int) -> float:
    """Median ms (warm) of `SELECT count(*)` of the site's events in the query's range."""
    dialect = DIALECTS[store.dialect]
    params = [
        query.site_id,
        dialect.timestamp(query.range.start),
        dialect.timestamp(query.range.end),
    ]
    sql = _BASELINE
    times = []
    for _ in range(count + 1):
        started = time.perf_counter()
        await store.query_stats(sql, params, time_limit=TIME_LIMIT)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[1:])


def _generate(con: duckdb.DuckDBPyConnection, site_id: str, size: int, now: float) -> None:
    stats_data.generate(
        con, "gen", [(site_id, size), (OTHER_SITE, size // 20)], int(now * 1000), DAYS
    )


_COLUMNS = ", ".join(stats_data.COLUMNS)


def _utc(unix: float) -> datetime:
    """A Unix time as the DuckDB store's `ts` (naive UTC)."""
    return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)


def _statement_label(sql: str) -> str:
    """The table a statement of the rollup's script fills (its last one), or "answer"."""
    found = re.findall(r"TEMP TABLE (?:IF NOT EXISTS )?(\w+) AS|INSERT INTO (\w+)", sql)
    if not found:
        return "answer"
    created, inserted = found[-1]
    return (created or inserted).removeprefix("rollup_")


def _profile_scripts(
    events_path: Path, queries: list[tuple[str, StatsQuery]], watermark: Any
) -> dict[str, list[tuple[str, float]]]:
    """Per query, ms per statement of the rollup's script (third run of each: warm)."""

    class _Store:
        dialect = "duckdb"
        stats_rollup_watermark = watermark

    con = duckdb.connect(str(events_path))
    out: dict[str, list[tuple[str, float]]] = {}
    try:
        cursor = con.cursor()
        for label, query in queries:
            found = rollup.script(_Store(), query, query.range)
            statements = found.statements if found else []
            timings: list[tuple[str, float]] = []
            for _ in range(3):
                timings = []
                for sql, params in statements:
                    started = time.perf_counter()
                    cursor.execute(sql, params).fetchall()
                    timings.append((_statement_label(sql), (time.perf_counter() - started) * 1000))
            out[label] = timings
    finally:
        con.close()
    return out


def _duckdb(config: BenchConfig, size: int, log: Any) -> dict[str, Any]:
    data_dir = config.workdir / f"stats-{size}"
    site = server.add_site(data_dir, "stats.example.com", name=f"stats bench {size:,}")
    events_path = data_dir / "events.duckdb"
    now = time.time()
    cut = now - TAIL_SECONDS
    asyncio.run(DuckDBEventStore(events_path).close())  # the store's schema, as a server start
    result: dict[str, Any] = {"events": size, "site_events": size, "other_site_events": size // 20}

    started = time.monotonic()
    con = duckdb.connect(str(events_path))
    _generate(con, site.website_id, size, now)
    con.execute(
        f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM gen WHERE ts < ? ORDER BY ts",
        [_utc(cut)],
    )
    result["load_s"] = time.monotonic() - started
    log(f"stats duckdb {size:,}: generated and inserted in {result['load_s']:.1f} s")

    async def build() -> tuple[float, Any]:
        store = DuckDBEventStore(events_path)
        try:
            begun = time.monotonic()
            await store.refresh_stats_rollup(cut + rollup.LAG)
            return time.monotonic() - begun, store.stats_rollup_watermark
        finally:
            await store.close()

    result["rollup_build_s"], watermark = asyncio.run(build())
    # The live tail, after the watermark (not backfills): its visitors are read raw.
    con.execute(
        f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM gen WHERE ts >= ? ORDER BY ts",
        [_utc(cut)],
    )
    con.execute("DROP TABLE gen")
    con.execute("CHECKPOINT")
    con.close()
    result["file_mib"] = events_path.stat().st_size / 2**20
    log(
        f"stats duckdb {size:,}: rollup built in {result['rollup_build_s']:.1f} s; "
        f"file {result['file_mib']:,.0f} MiB"
    )

    queries = dashboard(site.website_id, now)

    async def measure() -> dict[str, Any]:
        store = DuckDBEventStore(events_path)
        try:
            rolled = await _runs(store, queries, config.stats_runs)
            out: dict[str, Any] = {"rollup": rolled}
            out["baseline_ms"] = await _baseline(store, queries[0][1], config.stats_runs)
            store.stats_rollup_watermark = None  # the raw SQL: what the store did before
            raw = await _runs(store, queries, 1 if size > 2_000_000 else 2)
            out["raw"] = raw
            out["same_answers"] = raw["answers"] == rolled["answers"]
            # What housekeeping then does: fold the events since the watermark into the sums.
            store.stats_rollup_watermark = watermark
            begun = time.monotonic()
            await store.refresh_stats_rollup(time.time())
            out["refresh_tail_ms"] = (time.monotonic() - begun) * 1000
            return out
        finally:
            await store.close()

    result.update(asyncio.run(measure()))
    result["profile"] = _profile_scripts(events_path, queries, watermark)
    for part in ("rollup", "raw"):
        result[part].pop("answers")
    log(
        f"stats duckdb {size:,}: dashboard {result['rollup']['warm_total_ms']:.0f} ms warm, "
        f"{result['rollup']['cold_total_ms']:.0f} ms cold; raw SQL "
        f"{result['raw']['warm_total_ms']:.0f} ms; count(*) {result['baseline_ms']:.1f} ms; "
        f"same answers: {result['same_answers']}"
    )
    result["http"] = _http(data_dir, site, config.stats_runs, log)
    return result


def _http(data_dir: Path, site: server.SiteCredentials, runs: int, log: Any) -> dict[str, Any]:
    """The set through the API of a running server on the data folder: warm medians."""
    headers = {"Authorization": f"Bearer {site.token}"}
    with (
        server.BenchServer(data_dir) as bench,
        httpx.Client(base_url=bench.url, headers=headers, timeout=TIME_LIMIT) as http,
    ):
        requests = [
            (
                label,
                f"/api/v1/stats/{PATHS[kind]}",
                {"websiteId": site.website_id, **dict(_COMMON), **dict(params)},
            )
            for label, kind, params in DASHBOARD
        ]
        rounds: list[dict[str, float]] = []
        for _ in range(runs + 1):
            timings = {}
            for label, path, params in requests:
                started = time.perf_counter()
                response = http.get(path, params=params)
                timings[label] = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            rounds.append(timings)
    warm = rounds[1:]
    result = {
        "warm_ms": {label: statistics.median(r[label] for r in warm) for label, _, _ in DASHBOARD},
        "warm_total_ms": statistics.median(sum(r.values()) for r in warm),
    }
    log(f"stats http: dashboard {result['warm_total_ms']:.0f} ms warm")
    return result


async def _postgres_measure(
    url: str, csv_path: Path, size: int, now: float, runs: int, log: Any
) -> dict[str, Any]:
    result: dict[str, Any] = {"events": size}
    # Partitions for every month of the data, as a long-running installation has them.
    store = await PostgresEventStore.open(url, now=now - DAYS * 86_400, command_timeout=TIME_LIMIT)
    await store.ensure_partitions(now)
    await store.close()
    started = time.monotonic()
    con = await asyncpg.connect(url)
    try:
        await con.copy_to_table(
            "events",
            source=csv_path,
            columns=list(stats_data.COLUMNS),
            format="csv",
            null="\\N",
            timeout=TIME_LIMIT,
        )
        await con.execute("ANALYZE events", timeout=TIME_LIMIT)
    finally:
        await con.close()
    result["load_s"] = time.monotonic() - started
    log(f"stats postgres {size:,}: COPY + ANALYZE in {result['load_s']:.1f} s")
    store = await PostgresEventStore.open(url, command_timeout=TIME_LIMIT)
    try:
        queries = dashboard(PG_SITE, now)
        measured = await _runs(store, queries, runs)
        measured.pop("answers")
        result["raw"] = measured
        result["baseline_ms"] = await _baseline(store, queries[0][1], runs)
    finally:
        await store.close()
    log(
        f"stats postgres {size:,}: dashboard {result['raw']['warm_total_ms']:.0f} ms warm, "
        f"{result['raw']['cold_total_ms']:.0f} ms cold; count(*) {result['baseline_ms']:.1f} ms"
    )
    return result


def _postgres(config: BenchConfig, size: int, log: Any) -> dict[str, Any]:
    name = f"footfall_bench_{uuid.uuid4().hex[:10]}"
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    csv_path = config.workdir / f"stats-{size}.csv"
    now = time.time()
    con = duckdb.connect()
    _generate(con, PG_SITE, size, now)
    # A file of ours (COPY takes no parameter for it); timestamps with their UTC offset.
    others = _COLUMNS.removeprefix("ts, ")
    con.execute(
        f"COPY (SELECT strftime(ts, '%Y-%m-%d %H:%M:%S.%f+00') AS ts, {others} FROM gen "
        f"ORDER BY ts) TO '{csv_path}' (HEADER false, NULLSTR '\\N')"
    )
    con.close()

    async def admin(statement: str) -> None:
        admin_con = await asyncpg.connect(PG_ADMIN)
        try:
            await admin_con.execute(statement)
        finally:
            await admin_con.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        # A run of the raw SQL over 10 million events takes minutes: one warm run there.
        runs = config.stats_pg_runs if size <= 2_000_000 else 1
        return asyncio.run(_postgres_measure(url, csv_path, size, now, runs, log))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        csv_path.unlink(missing_ok=True)


def run(config: BenchConfig, log: Any = print) -> dict[str, Any]:
    results: dict[str, Any] = {
        "zone": ZONE,
        "days": DAYS,
        "queries": [label for label, _, _ in DASHBOARD],
        "tail_minutes": TAIL_SECONDS / 60,
        "sizes": [],
    }
    for size in config.stats_sizes:
        entry: dict[str, Any] = {"events": size, "duckdb": _duckdb(config, size, log)}
        if config.stats_postgres:
            entry["postgres"] = _postgres(config, size, log)
        results["sizes"].append(entry)
    return results
