"""The bench's knobs (full run and `--quick`), and the targets the results are judged by."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BenchConfig:
    """What one `python -m bench` run does; every load run is bounded by `duration`."""

    workdir: Path
    duration: float = 5.0
    repeat: int = 3
    concurrencies: tuple[int, ...] = (1, 16, 64, 256)
    realtime_connections: int = 64
    paced_connections: int = 64
    visitor_levels: tuple[int, ...] = (10, 10_000, 100_000)
    stored_events: int = 10_000_000
    exact_requests: int = 20_000
    exact_connections: int = 64
    memory_visitors: int = 100_000
    profile_seconds: float = 10.0
    profile: bool = True
    scenarios: tuple[str, ...] = ("memory", "ingestion", "realtime", "cluster", "stats")
    stats_sizes: tuple[int, ...] = (1_000_000, 10_000_000)  # events of the dashboard's site
    stats_runs: int = 5  # warm runs of the dashboard (medians)
    stats_pg_runs: int = 3  # on PostgreSQL, where a run at 10M takes a while
    stats_postgres: bool = True
    # The cluster tier (bench/cluster.py): a fresh database made from the admin URL's server
    # (dropped afterwards) and a fresh key prefix on the Redis (its keys deleted afterwards).
    cluster_concurrencies: tuple[int, ...] = (64, 256)
    cluster_visitor_levels: tuple[int, ...] = (10, 10_000)
    pg_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url: str = "redis://127.0.0.1:6379/0"

    @classmethod
    def quick(cls, workdir: Path) -> BenchConfig:
        return cls(
            workdir=workdir,
            duration=2.0,
            repeat=1,
            stored_events=1_000_000,
            exact_requests=5_000,
            profile_seconds=4.0,
            stats_sizes=(1_000_000,),
            stats_runs=3,
            stats_pg_runs=2,
        )


@dataclass(frozen=True)
class Targets:
    """The performance targets (BENCHMARKS.md marks each met or missed)."""

    ingest_ratio_min: float = 0.50  # of the no-op POST, same concurrency
    ingest_events_per_s_min: float = 5_000  # durable (acknowledged after commit)
    ingest_p99_ms_max: float = 20.0  # at half the max rate
    realtime_rps_min: float = 10_000
    realtime_ratio_min: float = 0.70  # of the no-op GET, same concurrency
    realtime_p99_ms_max: float = 5.0
    realtime_growth_max: float = 0.10  # "no growth": rps within 10 % across visitors/events
    bytes_per_visitor_max: float = 200
    idle_rss_mib_max: float = 100
    # The stats dashboard (30 days, warm) on DuckDB: ms at most, by events of the site.
    stats_dashboard_ms_max: tuple[tuple[int, float], ...] = (
        (1_000_000, 100.0),
        (10_000_000, 300.0),
    )
