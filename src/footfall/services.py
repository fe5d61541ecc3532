"""The running parts of one Footfall process, wired together, started and stopped in order.

Start: open the metadata store (migrating it) and the event store, rebuild visits and presence
from recent events, start the writer and the housekeeping task. Stop: drain the writer (every
accepted event is committed), then close the stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.clock import Clock
from footfall.config import Settings
from footfall.ingestion.drops import DropCounter
from footfall.ingestion.pipeline import Pipeline
from footfall.ingestion.visitor import SaltRing
from footfall.ingestion.visits import MemoryVisits
from footfall.realtime.base import Presence
from footfall.realtime.memory import MemoryPresence
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event, EventStore
from footfall.storage.meta import SqlMetaStore
from footfall.storage.writer import GroupCommitWriter

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL = 60.0


@dataclass
class Services:
    settings: Settings
    clock: Clock
    meta: SqlMetaStore
    events: EventStore
    presence: Presence
    visits: MemoryVisits
    drops: DropCounter
    pipeline: Pipeline
    writer: GroupCommitWriter
    _housekeeping: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, clock: Clock) -> Services:
        """Open the embedded tier's stores in `settings.data_dir` (blocking)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        meta = SqlMetaStore.open_sqlite(settings.meta_path)
        events = DuckDBEventStore(settings.events_path)
        presence = MemoryPresence(clock)
        visits = MemoryVisits(timeout=float(settings.visit_timeout_seconds))
        drops = DropCounter()
        pipeline = Pipeline(SaltRing(meta), visits, drops)

        async def on_commit(batch: Sequence[Event]) -> None:
            touches = [(e.site_id, e.visitor_id, e.ts) for e in batch if e.is_pageview]
            if touches:
                await presence.touch_many(touches)

        writer = GroupCommitWriter(
            events,
            on_commit=on_commit,
            max_batch=settings.writer_max_batch,
            max_delay=settings.writer_max_delay_ms / 1000.0,
            queue_size=settings.writer_queue_size,
        )
        return cls(settings, clock, meta, events, presence, visits, drops, pipeline, writer)

    async def start(self) -> None:
        await self.rebuild_live_state()
        self.writer.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="footfall-housekeeping")

    async def rebuild_live_state(self) -> None:
        """Rebuild visits and presence from the event store (after a restart)."""
        now = self.clock.now()
        since = now - max(self.settings.visit_timeout_seconds, self.presence.window)
        recent = list(self.events.recent_visits(since))
        self.visits.rebuild(recent)
        await self.presence.rebuild(
            (v.site_id, v.visitor_id, v.last_pageview_ts)
            for v in recent
            if v.last_pageview_ts is not None
        )
        log.info("live state rebuilt", extra={"visitors": len(recent)})

    async def purge_deleted_sites(self) -> None:
        """Delete the events of sites deleted (from the CLI), then the sites themselves."""
        deleted = self.meta.deleted_site_ids()
        if deleted:
            removed = await asyncio.to_thread(self.events.purge_sites, deleted)
            self.meta.forget_sites(deleted)
            log.info("purged deleted sites", extra={"sites": len(deleted), "events": removed})

    async def _housekeep(self) -> None:
        while True:
            try:
                await self.purge_deleted_sites()
                await self.presence.sweep()
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.writer.close()
        await self.presence.close()
        self.events.close()
        self.meta.close()
        log.info("stopped", extra={"committed_events": self.writer.committed_events})
