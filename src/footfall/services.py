"""The running parts of one Footfall process, wired together, started and stopped in order.

Embedded tier: SQLite metadata, DuckDB events, presence and visits in memory. Cluster mode
(`database_url` + `redis_url`): PostgreSQL metadata and events, presence and visits in Redis
shared by every instance.

Start: open the stores (migrating metadata), rebuild visits and presence from recent events,
start the writer and the housekeeping task. Stop: drain the writer (every accepted event is
committed), then close the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from footfall.clock import Clock
from footfall.config import Settings
from footfall.errors import FootfallError
from footfall.ingestion.dedup import Deduplicator, MemorySeenIds, SeenIds
from footfall.ingestion.drops import DropCounter
from footfall.ingestion.geo import open_geo
from footfall.ingestion.pipeline import Pipeline
from footfall.ingestion.visitor import SaltRing
from footfall.ingestion.visits import MemoryVisits
from footfall.ingestion.visits_base import Visits
from footfall.ratelimit.base import RateLimiter
from footfall.ratelimit.concurrency import StatsAdmission, StreamCaps
from footfall.ratelimit.memory import MemoryRateLimiter
from footfall.ratelimit.policies import ApiRateLimits
from footfall.realtime.base import Presence, Touch
from footfall.realtime.live import LiveHub, redis_bus
from footfall.realtime.memory import MemoryPresence
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event, EventStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.publishable_keys import PublishableKeyStore
from footfall.storage.writer import GroupCommitWriter

if TYPE_CHECKING:
    import redis.asyncio as aioredis

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL = 60.0
RETENTION_INTERVAL = 3600.0
"""Seconds between two passes deleting events past their site's retention."""

HOUSEKEEPING_LOCK = 0x666F_6F74_6661_6C6C  # "footfall"
"""The PostgreSQL advisory lock (per database) that one instance of a cluster holds while it
deletes events past their retention or purges deleted sites."""


class ConfigurationError(FootfallError):
    """The settings cannot describe a working installation."""


@dataclass
class Services:
    settings: Settings
    clock: Clock
    meta: SqlMetaStore
    events: EventStore
    presence: Presence
    visits: Visits
    drops: DropCounter
    pipeline: Pipeline
    writer: GroupCommitWriter
    limits: ApiRateLimits
    dedup: Deduplicator
    live: LiveHub
    redis: aioredis.Redis | None = field(default=None, repr=False)  # cluster mode's client
    _housekeeping: asyncio.Task[None] | None = field(default=None, repr=False)
    keys: PublishableKeyStore = field(init=False, repr=False)
    # Work in progress (ratelimit.concurrency): stats queries and downloads on this instance,
    # fewer than the event store's pooled connections so the writer always gets one.
    stats_admission: StatsAdmission = field(init=False, repr=False)
    live_stream_caps: StreamCaps = field(init=False, repr=False)
    _retention_due: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.keys = PublishableKeyStore(self.meta)
        self.stats_admission = StatsAdmission(
            self.settings.stats_max_concurrent,
            self.settings.stats_admission_wait_seconds,
            self.settings.stats_max_exports_per_client,
        )
        self.live_stream_caps = StreamCaps(self.settings.live_max_streams_per_client)

    @classmethod
    async def open(cls, settings: Settings, clock: Clock) -> Services:
        """Open the stores the settings name: cluster backends, else the data folder."""
        # First: a geolocation database that cannot be used stops the start with nothing open.
        geo = open_geo(settings.geoip_database)
        meta = await SqlMetaStore.open(
            database_url=settings.database_url,
            sqlite_path=settings.meta_path,
            recheck_seconds=settings.meta_recheck_ms / 1000,
        )
        events: EventStore
        presence: Presence
        visits: Visits
        limiter: RateLimiter
        seen: SeenIds
        shared_redis: aioredis.Redis | None = None
        timeout = float(settings.visit_timeout_seconds)
        id_window = float(settings.event_id_window_seconds)
        if settings.cluster:
            if not settings.redis_url or not settings.database_url:
                await meta.close()
                geo.close()
                raise ConfigurationError(
                    "Cluster mode needs both FOOTFALL_DATABASE_URL and FOOTFALL_REDIS_URL: "
                    "instances share live presence through Redis."
                )
            from footfall.ingestion.redis_visits import RedisVisits
            from footfall.realtime.redis import RedisPresence, redis_client
            from footfall.storage.postgres_events import PostgresEventStore

            events = await PostgresEventStore.open(settings.database_url)
            client = shared_redis = redis_client(settings.redis_url)
            store = events

            async def load_touches() -> list[Touch]:
                since = clock.now() - presence.window
                return [
                    (v.site_id, v.visitor_id, v.last_pageview_ts, v.last_pageview_path or "/")
                    for v in await store.recent_visits(since)
                    if v.last_pageview_ts is not None
                ]

            # Presence owns the shared client and closes it; visits borrow it.
            presence = RedisPresence(
                client, settings.redis_prefix, clock, loader=load_touches, owns_client=True
            )
            visits = RedisVisits(client, settings.redis_prefix, timeout=timeout)
            from footfall.ingestion.redis_dedup import RedisSeenIds

            seen = RedisSeenIds(client, settings.redis_prefix, window=id_window)
            from footfall.ratelimit.redis import RedisRateLimiter

            limiter = RedisRateLimiter(client, settings.redis_prefix)
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            events = DuckDBEventStore(settings.events_path)
            presence = MemoryPresence(clock)
            visits = MemoryVisits(timeout=timeout)
            limiter = MemoryRateLimiter()
            seen = MemorySeenIds(window=id_window)
        drops = DropCounter()
        pipeline = Pipeline(SaltRing(meta), visits, drops, geo=geo)
        dedup = Deduplicator(seen, clock, drops)
        live = LiveHub(
            presence,
            clock,
            coalesce=settings.live_coalesce_ms / 1000.0,
            refresh=settings.live_refresh_seconds,
            heartbeat=settings.live_heartbeat_seconds,
            max_streams=settings.live_max_streams or max(1, settings.max_concurrency // 2),
            # Cluster mode: instances tell each other which sites' counts moved.
            bus=redis_bus(settings.redis_url if settings.cluster else None, settings.redis_prefix),
        )

        async def on_commit(batch: Sequence[Event]) -> None:
            try:
                await dedup.committed(batch)
            finally:  # presence is touched even if the ids could not be recorded
                touches = [
                    (e.site_id, e.visitor_id, e.ts, e.pathname) for e in batch if e.is_pageview
                ]
                if touches:
                    await presence.touch_many(touches)
                    live.touched({touch[0] for touch in touches})

        writer = GroupCommitWriter(
            events,
            on_commit=on_commit,
            on_failure=dedup.abandoned,
            max_batch=settings.writer_max_batch,
            max_delay=settings.writer_max_delay_ms / 1000.0,
            queue_size=settings.writer_queue_size,
        )
        limits = ApiRateLimits(limiter, settings, SaltRing(meta))
        return cls(
            settings,
            clock,
            meta,
            events,
            presence,
            visits,
            drops,
            pipeline,
            writer,
            limits=limits,
            dedup=dedup,
            live=live,
            redis=shared_redis,
        )

    async def start(self) -> None:
        await self.rebuild_live_state()
        self.writer.start()
        await self.live.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="footfall-housekeeping")

    async def rebuild_live_state(self) -> None:
        """Rebuild visits and presence from the event store (after a restart)."""
        now = self.clock.now()
        since = now - max(self.settings.visit_timeout_seconds, self.presence.window)
        recent = await self.events.recent_visits(since)
        await self.visits.rebuild(recent)
        await self.presence.rebuild(
            (v.site_id, v.visitor_id, v.last_pageview_ts, v.last_pageview_path or "/")
            for v in recent
            if v.last_pageview_ts is not None
        )
        ids = await self.events.recent_event_ids(now - self.dedup.seen.window)
        await self.dedup.seen.rebuild(ids, now)
        log.info("live state rebuilt", extra={"visitors": len(recent), "event_ids": len(ids)})

    @contextlib.asynccontextmanager
    async def _one_instance_at_a_time(self, wait: bool) -> AsyncIterator[bool]:
        """Yield whether this instance may do installation-wide housekeeping now.

        In cluster mode every instance runs the same housekeeping; passes over the same rows
        and partitions at once would repeat each other's work and trip over each other's
        drops. So a pass holds `HOUSEKEEPING_LOCK`, a session-level advisory lock of the
        metadata database. Without `wait` it is tried (`pg_try_advisory_lock`): while another
        instance holds it this yields False and the pass is skipped — that instance is doing
        it. With `wait` this waits for the other pass to end, then yields True. The lock is
        held on a connection outside any transaction (no old snapshot is kept open during a
        long pass) and ends with that connection if the instance dies. Always True on the
        embedded tier (one process owns the data folder)."""
        if self.meta.engine.dialect.name != "postgresql":
            yield True
            return
        async with self.meta.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            key = {"key": HOUSEKEEPING_LOCK}
            if wait:
                await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), key)
                taken = True
            else:
                taken = await conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), key)
            if not taken:
                log.debug("housekeeping: another instance holds the lock; skipped")
                yield False
                return
            try:
                yield True
            finally:
                try:
                    await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)
                except Exception:
                    # A session lock lives as long as its connection: close this one for good
                    # rather than hand a locked session back to the pool.
                    await conn.invalidate()
                    raise

    async def purge_deleted_sites(self, *, wait: bool = True) -> None:
        """Delete the events of sites deleted (from the CLI), then the sites themselves. In
        cluster mode one instance at a time: after another instance's pass (`wait`), or not at
        all while another is at it (housekeeping: that instance is doing it)."""
        async with self._one_instance_at_a_time(wait) as mine:
            if mine:
                await self._purge_deleted_sites()

    async def _purge_deleted_sites(self) -> None:
        deleted = await self.meta.deleted_site_ids()
        if deleted:
            removed = await self.events.purge_sites(deleted)
            if self.redis is not None:
                # Imported here: the Redis client costs ~6 MiB an embedded server never uses.
                from footfall.storage.redis_purge import forget_sites

                await forget_sites(self.redis, self.settings.redis_prefix, deleted)
            await self.meta.forget_sites(deleted)
            log.info("purged deleted sites", extra={"sites": len(deleted), "events": removed})

    async def apply_retention(self, *, wait: bool = True) -> int:
        """Delete the events older than their site's `retention_days`; returns how many. In
        cluster mode one instance at a time: after another instance's pass (`wait`), or not at
        all (0) while another is at it (housekeeping: that instance is doing it)."""
        async with self._one_instance_at_a_time(wait) as mine:
            return await self._apply_retention() if mine else 0

    async def _apply_retention(self) -> int:
        now = self.clock.now()
        deleted = 0
        sites = await self.meta.list_sites()
        drop_partitions = getattr(self.events, "drop_partitions_before", None)
        if drop_partitions is not None and sites:
            # Whole monthly partitions can go once every site's retention is past them.
            longest = max((site.retention_days or 0) for site in sites)
            if all(site.retention_days is not None for site in sites):
                await drop_partitions(now - longest * 86_400)
        for site in sites:
            if site.retention_days is not None:
                cutoff = now - site.retention_days * 86_400
                deleted += await self.events.delete_before(site.id, cutoff)
        if deleted:
            log.info("deleted events past their retention", extra={"events": deleted})
        return deleted

    async def _housekeep(self) -> None:
        while True:
            try:
                # Instances skip the passes another instance is running (no wait).
                await self.purge_deleted_sites(wait=False)
                await self.presence.sweep()
                await self.dedup.seen.sweep(self.clock.now())
                if self.clock.now() >= self._retention_due:
                    await self.apply_retention(wait=False)
                    self._retention_due = self.clock.now() + RETENTION_INTERVAL
                maintain = getattr(self.events, "ensure_partitions", None)
                if maintain is not None:
                    await maintain(self.clock.now())
                # The embedded store's stats rollup (a first build continues next rounds).
                refresh = getattr(self.events, "refresh_stats_rollup", None)
                if refresh is not None:
                    await refresh(self.clock.now(), HOUSEKEEPING_INTERVAL / 2)
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)

    async def stop(self) -> None:
        await self.live.close()  # open streams end first: nothing to wait for
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.writer.close()
        await self.limits.close()
        await self.presence.close()
        await self.visits.close()
        await self.dedup.seen.close()
        await self.events.close()
        await self.meta.close()
        if self.pipeline.geo is not None:
            self.pipeline.geo.close()
        log.info("stopped", extra={"committed_events": self.writer.committed_events})
