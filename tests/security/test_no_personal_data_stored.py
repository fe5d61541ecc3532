"""No IP address or full user agent is stored, on either tier: events are sent with
distinctive addresses and user agents through both ingestion endpoints (and beyond the rate
limit), then every table of the event store and the metadata database, the database files
themselves and (cluster mode) every Redis key and value are searched for them.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import duckdb
import pytest
import redis.asyncio as aioredis

from footfall.config import Settings
from tests.backends import REDIS_URL, app_settings
from tests.conftest import FakeClock, start_app

pytestmark = pytest.mark.slow

IPV4 = "198.51.100.173"
IPV6 = "2001:db8:f00d::1234"
SERVER_IP = "192.0.2.219"
MARKER = "Zq7Marker"  # inside the user agent, where no parser makes it a field
USER_AGENT = (
    f"Mozilla/5.0 (X11; Linux x86_64; {MARKER}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SECRETS = (IPV4, IPV6, SERVER_IP, MARKER, USER_AGENT)


async def ingest(settings: Settings, clock: FakeClock) -> str:
    """Send events from the distinctive clients; returns the site id."""
    limited = settings.model_copy(
        update={"rate_limit_ingest_client_per_second": 1.0, "rate_limit_ingest_client_burst": 3}
    )
    async with start_app(limited, clock) as (app, client):
        services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        statuses = []
        for ip in (IPV4, IPV6):
            for path in ("/", "/pricing", "/a", "/b", "/c"):  # the last ones are rate-limited
                response = await client.post(
                    "/api/event",
                    json={"websiteId": site.id, "url": f"https://example.com{path}"},
                    headers={"User-Agent": USER_AGENT, "X-Forwarded-For": ip},
                )
                statuses.append(response.status_code)
        batch = await client.post(
            "/api/v1/events",
            json={
                "events": [
                    {"url": "https://example.com/x", "ip": SERVER_IP, "userAgent": USER_AGENT},
                    {"name": "signup", "url": "https://example.com/x", "visitorId": "user-9"},
                ]
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert batch.status_code == 202
        assert 202 in statuses and 429 in statuses
        stored = await services.events.events(site.id)
        assert len(stored) == 8
        assert {e.browser for e in stored} == {"Chrome", None}  # parsed fields are kept
        return site.id


def assert_absent(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}"


async def test_embedded_tier_stores_no_ip_or_user_agent(
    settings: Settings, clock: FakeClock
) -> None:
    await ingest(settings, clock)  # the app is stopped: its files can be read
    data_dir = settings.data_dir
    with duckdb.connect(str(data_dir / "events.duckdb"), read_only=True) as db:
        tables = [
            row[0]
            for row in db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        assert "events" in tables
        dumps = {table: repr(db.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables}
    assert "/pricing" in dumps["events"]  # the search sees the stored events
    for table, dump in dumps.items():
        assert_absent(dump, table)
    with sqlite3.connect(data_dir / "meta.sqlite3") as meta:
        assert_absent("\n".join(meta.iterdump()), "the metadata database")
    for path in data_dir.iterdir():
        if path.is_file():
            raw = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in raw, f"{secret!r} in {path.name}"


async def test_cluster_mode_stores_no_ip_or_user_agent(
    tmp_path: Path, clock: FakeClock, pg_url: str, redis_prefix: str
) -> None:
    settings = app_settings(tmp_path, pg_url=pg_url, redis_prefix=redis_prefix)
    await ingest(settings, clock)

    connection = await asyncpg.connect(pg_url)
    try:
        tables = await connection.fetch(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        assert any(row["tablename"].startswith("events") for row in tables)
        seen = ""
        for row in tables:
            name = f'"{row["schemaname"]}"."{row["tablename"]}"'
            dump = "\n".join(r[0] for r in await connection.fetch(f"SELECT t::text FROM {name} t"))
            assert_absent(dump, name)
            seen += dump
        assert "/pricing" in seen  # the search sees the stored events
    finally:
        await connection.close()

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000)]
        assert keys  # presence, visits, rate limits, event ids...
        for key in keys:
            kind = (await client.type(key)).decode()
            value: object = {
                "string": client.get,
                "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
                "hash": client.hgetall,
                "set": client.smembers,
                "list": lambda k: client.lrange(k, 0, -1),
            }[kind](key)
            if asyncio.iscoroutine(value):
                value = await value
            assert_absent(repr(key) + repr(value), f"Redis key {key!r}")
    finally:
        await client.aclose()
