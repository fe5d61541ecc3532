"""Privacy on both tiers: per-site retention deletes old events, deleting a site leaves nothing.

Each test runs on the embedded tier (SQLite + DuckDB) and in cluster mode (PostgreSQL + Redis),
through the app's real lifespan, and then scans the stores themselves: every table of the
metadata database, every event, every Redis key of the installation.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from footfall.config import Settings
from footfall.services import Services
from footfall.storage.events import Event
from footfall.storage.schema import metadata
from tests.backends import REDIS_URL, tier_settings_for
from tests.conftest import CHROME_UA, FakeClock, start_app

DAY = 86_400.0
TOKEN_SCOPES = ("api_tokens", "goals", "publishable_keys", "site_members")


@pytest.fixture(params=["embedded", "cluster"])
def tier_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return tier_settings_for(request, tmp_path)


def old_event(site_id: str, ts: float, n: int) -> Event:
    return Event(
        ts=ts,
        site_id=site_id,
        visitor_id=n,
        visit_id=n,
        name="pageview",
        hostname="example.com",
        pathname=f"/{n}",
        event_id=f"e{n}",
    )


async def wait_until(predicate: object, timeout: float = 20.0) -> None:
    """Poll an async condition about a background task (housekeeping) with a deadline."""
    deadline = time.monotonic() + timeout
    while not await predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_retention_deletes_each_sites_old_events(tier_settings: Settings) -> None:
    clock = FakeClock()
    now = clock.now()
    stamps = [now - 400 * DAY, now - 31 * DAY, now - 29 * DAY, now - DAY, now]
    async with start_app(tier_settings, clock) as (app, _client):
        services: Services = app.state.services
        month = await services.meta.create_site("month.example", None, now, retention_days=30)
        forever = await services.meta.create_site("forever.example", None, now)
        day = await services.meta.create_site("day.example", None, now)
        for site in (month, forever, day):
            await services.events.append([old_event(site.id, ts, n) for n, ts in enumerate(stamps)])
        # (Housekeeping may run a pass of its own meanwhile: check the outcome, not the count.)
        await services.apply_retention()
        assert [e.pathname for e in await services.events.events(month.id)] == ["/2", "/3", "/4"]
        assert await services.events.count(forever.id) == 5
        await services.meta.update_site(day.id, retention_days=1)

    # Housekeeping applies retention by itself (at start, then hourly).
    async with start_app(tier_settings, clock) as (app, _client):
        services = app.state.services

        async def day_site_trimmed() -> bool:
            return await services.events.count(day.id) == 2  # now - DAY (the cutoff) and now

        await wait_until(day_site_trimmed)
        assert await services.events.count(month.id) == 3
        assert await services.events.count(forever.id) == 5


async def test_deleting_a_site_removes_all_its_data(tier_settings: Settings) -> None:
    clock = FakeClock()
    async with start_app(tier_settings, clock) as (app, client):
        services: Services = app.state.services
        meta = services.meta
        gone = await meta.create_site("gone.example", None, clock.now(), honor_gpc=True)
        kept = await meta.create_site("kept.example", None, clock.now())
        for site in (gone, kept):
            await meta.create_token(site.id, clock.now())
            for n in range(3):
                response = await client.post(
                    "/api/event",
                    json={
                        "websiteId": site.id,
                        "url": f"https://{site.domain}/p{n}",
                        "eventId": f"{site.domain.split('.')[0]}-{n}",
                    },
                    headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"198.51.100.{n}"},
                )
                assert response.status_code == 202
            await services.events.append(
                [old_event(site.id, clock.now() - 90 * DAY, n) for n in range(5)]
            )
        assert await rows_naming(services, gone.id) > 0
        assert await redis_keys_naming(tier_settings, gone.id) > 0 or not tier_settings.cluster

        await meta.delete_site(gone.id, clock.now())
        await services.purge_deleted_sites()

        assert await services.events.count(gone.id) == 0
        assert not [
            e
            for batch in [b async for b in services.events.export_batches()]
            for e in batch
            if e.site_id == gone.id
        ]
        assert await rows_naming(services, gone.id) == 0
        assert await redis_keys_naming(tier_settings, gone.id) == 0
        # The other site is untouched.
        assert await services.events.count(kept.id) == 8
        assert await rows_naming(services, kept.id) >= 2  # its row and its token
        if tier_settings.cluster:
            assert await redis_keys_naming(tier_settings, kept.id) > 0


async def rows_naming(services: Services, site_id: str) -> int:
    """Rows of every metadata table with a text column equal to `site_id`."""
    found = 0
    async with services.meta.engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
            if columns:
                condition = sa.or_(*(c == site_id for c in columns))
                found += (
                    await conn.scalar(
                        sa.select(sa.func.count()).where(condition).select_from(table)
                    )
                    or 0
                )
    return found


async def redis_keys_naming(settings: Settings, site_id: str) -> int:
    if not settings.cluster:
        return 0
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{settings.redis_prefix}:*")]
        return sum(1 for key in keys if site_id.encode() in key)
    finally:
        await client.aclose()


@pytest.fixture
def cluster_settings(tmp_path: Path, pg_url: str, redis_prefix: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        access_log=False,
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
    )


async def test_cluster_retention_drops_whole_partitions_once_every_site_allows_it(
    cluster_settings: Settings,
) -> None:
    clock = FakeClock()
    now = clock.now()
    async with start_app(cluster_settings, clock) as (app, _client):
        services: Services = app.state.services
        store = services.events
        await store.ensure_partitions(now - 100 * DAY)  # type: ignore[attr-defined]
        short = await services.meta.create_site("short.example", None, now, retention_days=30)
        keep = await services.meta.create_site("keep.example", None, now)
        for site in (short, keep):
            await store.append([old_event(site.id, now - 95 * DAY, 0), old_event(site.id, now, 1)])

        async def partitions() -> set[str]:
            async with services.meta.engine.connect() as conn:
                rows = await conn.execute(
                    sa.text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                        "ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
                    )
                )
                return {row[0] for row in rows}

        # The fake clock says 2026-09-21: June's partition ended before 60 days ago, July's not.
        june, july = "events_p2026_06", "events_p2026_07"
        assert {june, july} <= await partitions()
        await services.apply_retention()  # one site keeps everything: rows go, partitions stay
        assert {june, july} <= await partitions()
        assert await store.count(short.id) == 1
        assert await store.count(keep.id) == 2

        await services.meta.update_site(keep.id, retention_days=60)
        await services.apply_retention()  # every site's retention is past June
        remaining = await partitions()
        assert june not in remaining
        assert july in remaining
        assert await store.count(keep.id) == 1
        assert await store.count(short.id) == 1
