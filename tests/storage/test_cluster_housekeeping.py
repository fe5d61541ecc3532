"""Retention and purges in cluster mode: every instance runs them, one at a time.

Instances share one PostgreSQL; each runs `apply_retention` and `purge_deleted_sites` from its
housekeeping task. An advisory lock lets one instance do a pass while the others skip it (or,
called directly, wait for it), and a partition dropped under an instance's feet is no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import psycopg
import pytest

from footfall.config import Settings
from footfall.services import HOUSEKEEPING_LOCK, Services
from footfall.storage.postgres_events import PostgresEventStore
from tests.api.test_retention_and_deletion import old_event
from tests.backends import REDIS_URL
from tests.conftest import FakeClock

DAY = 86_400.0
JUNE = "events_p2026_06"  # the fake clock says 2026-09-21: June ended more than 60 days ago


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str, redis_prefix: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        access_log=False,
        database_url=pg_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
    )


@contextlib.asynccontextmanager
async def instances(settings: Settings, clock: FakeClock, n: int) -> AsyncIterator[list[Services]]:
    """`n` instances of one installation (stores open; housekeeping not started)."""
    opened: list[Services] = []
    try:
        for _ in range(n):
            opened.append(await Services.open(settings, clock))
        yield opened
    finally:
        for services in opened:
            await services.stop()


async def partitions(pg_url: str) -> set[str]:
    con = await asyncpg.connect(pg_url)
    try:
        rows = await con.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass"
        )
        return {row["relname"] for row in rows}
    finally:
        await con.close()


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def fill(services: Services, now: float) -> tuple[str, str, str]:
    """Three sites: 30 and 60 days of retention, and one deleted; each with an event from
    95 days ago (June) and one from now. Returns their ids (short, long, deleted)."""
    store = services.events
    assert isinstance(store, PostgresEventStore)
    await store.ensure_partitions(now - 100 * DAY)
    short = await services.meta.create_site("short.example", None, now, retention_days=30)
    long = await services.meta.create_site("long.example", None, now, retention_days=60)
    gone = await services.meta.create_site("gone.example", None, now, retention_days=60)
    n = 0
    for site in (short, long, gone):
        await store.append([old_event(site.id, now - 95 * DAY, n), old_event(site.id, now, n + 1)])
        n += 2
    await store.append([old_event(long.id, now - 45 * DAY, 100)])  # kept by 60 days only
    await services.meta.delete_site(gone.id, now)
    return short.id, long.id, gone.id


async def test_instances_started_at_once_apply_retention_once(
    cluster: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Three instances start together; each one's housekeeping runs a pass at once. The result
    is the one pass's: June's partition dropped, rows past retention deleted, the deleted
    site purged — and no instance's housekeeping fails."""
    clock = FakeClock()
    now = clock.now()
    caplog.set_level(logging.INFO)
    async with instances(cluster, clock, 3) as group:
        short, long, gone = await fill(group[0], now)
        assert JUNE in await partitions(cluster.database_url or "")
        await asyncio.gather(*(services.start() for services in group))

        async def done() -> bool:
            store = group[0].events
            return (
                JUNE not in await partitions(cluster.database_url or "")
                and await store.count(long) == 2
                and await store.count(gone) == 0
                and not await group[0].meta.deleted_site_ids()
                # Each instance's first pass is over when its next is scheduled.
                and all(services._retention_due > 0 for services in group)
            )

        await wait_until(done)
        assert await group[1].events.count(short) == 1
        assert await group[2].events.count(long) == 2  # now and 45 days ago
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not failures, [r.getMessage() for r in failures]


async def test_passes_called_at_once_do_the_work_once(cluster: Settings) -> None:
    clock = FakeClock()
    now = clock.now()
    async with instances(cluster, clock, 2) as (a, b):
        short, long, gone = await fill(a, now)
        await a.events.append([old_event(short, now - 40 * DAY, 200)])
        passes = await asyncio.gather(a.apply_retention(), b.apply_retention())
        await asyncio.gather(a.purge_deleted_sites(), b.purge_deleted_sites())
        # The one row past retention outside June (whose partition went whole) was deleted by
        # one instance; the other waited for that pass to end and found nothing left to do.
        assert sorted(passes) == [0, 1]
        assert await a.events.count(short) == 1
        assert await a.events.count(long) == 2
        assert await a.events.count(gone) == 0
        assert await a.meta.deleted_site_ids() == []
        assert JUNE not in await partitions(cluster.database_url or "")
        # Later passes find nothing to do, on either instance.
        assert await a.apply_retention() == 0 and await b.apply_retention() == 0


async def test_a_pass_is_skipped_or_waits_while_another_instance_holds_the_lock(
    cluster: Settings,
) -> None:
    """Housekeeping's passes (`wait=False`) are skipped while another instance runs one; an
    explicit call (the default) waits for that pass to end, then runs."""
    clock = FakeClock()
    now = clock.now()
    url = cluster.database_url or ""
    async with instances(cluster, clock, 1) as (services,):
        short, _long, gone = await fill(services, now)
        await services.events.append([old_event(short, now - 40 * DAY, 200)])
        with psycopg.connect(url, autocommit=True) as other:
            assert other.execute("SELECT pg_try_advisory_lock(%s)", (HOUSEKEEPING_LOCK,)).fetchone()
            assert await services.apply_retention(wait=False) == 0
            await services.purge_deleted_sites(wait=False)
            # Nothing happened: that other instance is doing it.
            assert JUNE in await partitions(url)
            assert await services.events.count(short) == 3
            assert await services.meta.deleted_site_ids() == [gone]

            waiting = asyncio.ensure_future(services.apply_retention())

            async def blocked_on_the_lock() -> bool:
                row = other.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
                return row == (1,)

            await wait_until(blocked_on_the_lock)
            assert not waiting.done()
            other.execute("SELECT pg_advisory_unlock(%s)", (HOUSEKEEPING_LOCK,))
            assert await waiting == 1  # the 40-day-old row; June's partition went whole
        await services.purge_deleted_sites()
        assert await services.events.count(short) == 1
        assert await services.meta.deleted_site_ids() == []
        assert JUNE not in await partitions(url)
        # Every pass let go of the lock: a session of its own takes it at once.
        with psycopg.connect(url, autocommit=True) as other:
            row = other.execute("SELECT pg_try_advisory_lock(%s)", (HOUSEKEEPING_LOCK,)).fetchone()
            assert row == (True,)


async def test_a_partition_dropped_meanwhile_is_no_error(pg_url: str) -> None:
    """Two stores list June's partition, then wait on a session that drops it: both carry on
    (`DROP TABLE IF EXISTS`), rather than one failing with "relation does not exist" and
    skipping the rest of its pass."""
    now = FakeClock().now()
    stores = [await PostgresEventStore.open(pg_url, lock_timeout=30.0) for _ in range(2)]
    admin = await asyncpg.connect(pg_url)
    try:
        await stores[0].ensure_partitions(now - 100 * DAY)
        await stores[0].append([old_event("site", now - 95 * DAY, 0), old_event("site", now, 1)])
        transaction = admin.transaction()
        await transaction.start()
        await admin.execute(f"DROP TABLE {JUNE}")  # holds the parent's lock until commit
        drops = [
            asyncio.ensure_future(store.drop_partitions_before(now - 60 * DAY)) for store in stores
        ]

        async def both_waiting() -> bool:
            waiting = await asyncpg.connect(pg_url)
            try:
                count = await waiting.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%drop_partitions_before%DROP TABLE%'"
                )
                return bool(count == 2)
            finally:
                await waiting.close()

        await wait_until(both_waiting)
        await transaction.commit()
        results = await asyncio.gather(*drops)
        assert all(set(result) <= {JUNE} for result in results)
        assert JUNE not in await partitions(pg_url)
        assert await stores[1].count() == 1
    finally:
        await admin.close()
        for store in stores:
            await store.close()
