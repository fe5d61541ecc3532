"""Scenario: the cluster tier (PostgreSQL events + metadata, Redis), ingestion and realtime.

One bench server process (`python -m bench.app`, the same app and no-op routes as the embedded
scenarios) in cluster mode: a fresh PostgreSQL database (created from `pg_admin_url`'s server,
dropped afterwards, also on failure) and a fresh Redis key prefix (its keys deleted afterwards).
The sites and tokens are made with the `footfall` CLI under the same environment.

On that server, in turn (the embedded scenarios' own code, bench/ingestion.py and
bench/realtime.py):

1. ingestion at `cluster_concurrencies`: `/api/event` against the no-op POST, a paced run, the
   exact run, the profiles;
2. realtime at `cluster_visitor_levels` on a second site: the realtime GET against the no-op
   GET, `currentVisitors` exact before and after, a paced run, a profile.

Then SIGTERM, and the durability check: the ingestion site's rows in PostgreSQL's `events`
table, counted with SQL, against the server's commit counter and the accepted answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import redis

from bench import ingestion, payloads, realtime, server
from bench.config import BenchConfig


async def _admin(admin_url: str, statement: str) -> str:
    """Run one statement on the admin database; returns the server's version."""
    con = await asyncpg.connect(admin_url)
    try:
        await con.execute(statement)
        version: str = await con.fetchval("SHOW server_version")
        return version
    finally:
        await con.close()


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """A new, empty database on `admin_url`'s server: yields its URL and the server version;
    dropped (connections closed by force) however the block ends."""
    name = f"footfall_bench_{uuid.uuid4().hex[:12]}"
    version = asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}", version
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def fresh_prefix(redis_url: str) -> Iterator[tuple[str, str]]:
    """A new Redis key prefix: yields it and the server version; its keys deleted at the end."""
    prefix = f"footfall-bench-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(redis_url)
    try:
        version = str(client.info("server")["redis_version"])
        yield prefix, version
    finally:
        try:
            for batch in _batched(client.scan_iter(match=f"{prefix}:*", count=1000), 1000):
                client.delete(*batch)
        finally:
            client.close()


def _batched(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _stored_count(database_url: str, site_id: str) -> int:
    """The site's rows in the events table, counted with plain SQL (not through Footfall)."""
    con = await asyncpg.connect(database_url)
    try:
        count: int = await con.fetchval("SELECT count(*) FROM events WHERE site_id = $1", site_id)
        return count
    finally:
        await con.close()


def cluster_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    """The settings that put a server (or the CLI) in cluster mode on these backends."""
    return {
        "FOOTFALL_DATABASE_URL": database_url,
        "FOOTFALL_REDIS_URL": redis_url,
        "FOOTFALL_REDIS_PREFIX": prefix,
    }


def run(config: BenchConfig, log: Any = print) -> dict[str, Any]:
    data_dir = config.workdir / "cluster"  # unused by the server in cluster mode but its log
    data_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {}
    with (
        fresh_database(config.pg_admin_url) as (database_url, pg_version),
        fresh_prefix(config.redis_url) as (prefix, redis_version),
    ):
        env = cluster_env(database_url, config.redis_url, prefix)
        result["versions"] = {"postgresql": pg_version, "redis": redis_version}
        ingest_site = server.add_site(data_dir, payloads.DOMAIN, "cluster ingestion", env=env)
        realtime_site = server.add_site(data_dir, payloads.DOMAIN, "cluster realtime", env=env)
        requests = ingestion.requests_for(config, ingest_site, "cluster")
        tally = ingestion.Tally()
        log(f"cluster: PostgreSQL {pg_version}, Redis {redis_version}, key prefix {prefix}")
        bench = server.BenchServer(data_dir, env={**ingestion.TRUSTED, **env}).start()
        try:
            result["ingestion"] = {"website_id": ingest_site.website_id}
            result["ingestion"].update(
                ingestion.measure(
                    config,
                    bench,
                    requests,
                    config.cluster_concurrencies,
                    tally,
                    log,
                    name="cluster ingestion",
                )
            )
            time.sleep(1.0)
            result["realtime"] = realtime.stage(
                config,
                bench,
                realtime_site,
                0,
                log,
                visitor_levels=config.cluster_visitor_levels,
                name="cluster realtime",
            )
        finally:
            result["exit_code"] = bench.stop()
        result["ingestion"]["exit_code"] = result["exit_code"]
        stored = asyncio.run(_stored_count(database_url, ingest_site.website_id))
        result["ingestion"]["durability"] = ingestion.durability(
            result["ingestion"], stored, tally, log
        )
    return result
