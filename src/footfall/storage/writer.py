"""The group-commit writer: many requests, one transaction, and no ack before the commit.

Requests hand their events to `submit` and wait. One background task takes everything queued
(up to `max_batch` events, never splitting one request's events), appends it to the event store
in a single transaction, runs the `on_commit` hook (presence, event ids), and only
then resolves the waiting requests. Events that will not be stored (refused at intake, or their
commit failed) go to the `on_failure` hook before their requests hear of it; both hooks see
every event, whatever became of its request meanwhile (a client that went away). While one
commit runs, the next batch gathers by itself, so batches grow with load without a fixed delay;
`max_delay` can add one.

The queue is bounded: past `queue_size` waiting events `submit` raises `ServiceUnavailable`
(503 + Retry-After) instead of growing memory. `close` stops intake and drains what is queued,
so a graceful shutdown loses nothing that was acknowledged — nor anything that was accepted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from footfall.errors import ServiceUnavailable
from footfall.storage.events import Event, EventStore

log = logging.getLogger(__name__)

OnCommit = Callable[[Sequence[Event]], Awaitable[None]]


class GroupCommitWriter:
    """Batches events from concurrent requests into single event-store transactions."""

    def __init__(
        self,
        store: EventStore,
        *,
        on_commit: OnCommit | None = None,
        on_failure: OnCommit | None = None,
        max_batch: int = 1000,
        max_delay: float = 0.0,
        queue_size: int = 50_000,
    ) -> None:
        self._store = store
        self._on_commit = on_commit
        self._on_failure = on_failure
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._queue_size = queue_size
        self._queue: deque[tuple[Sequence[Event], asyncio.Future[None]]] = deque()
        self._queued_events = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.committed_batches = 0
        self.committed_events = 0

    @property
    def queued_events(self) -> int:
        """Events accepted but not yet committed."""
        return self._queued_events

    @property
    def running(self) -> bool:
        """True while the writer task is alive and taking events."""
        return self._task is not None and not self._task.done() and not self._closing

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="footfall-writer")

    async def submit(self, events: Sequence[Event]) -> None:
        """Queue `events` and return once they are committed (raises if they could not be)."""
        if not events:
            return
        if self._closing or self._task is None:
            await self._refuse(events)
            raise ServiceUnavailable("Server is shutting down; retry shortly", retry_after=2)
        if self._queued_events + len(events) > self._queue_size and self._queued_events > 0:
            await self._refuse(events)
            raise ServiceUnavailable("Ingestion is over capacity; retry shortly", retry_after=1)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((events, future))
        self._queued_events += len(events)
        self._wakeup.set()
        await future

    async def _refuse(self, events: Sequence[Event]) -> None:
        if self._on_failure is not None:
            try:
                await self._on_failure(events)
            except Exception:
                log.exception("failure hook failed")

    async def close(self) -> None:
        """Stop taking events, commit everything queued, stop the task."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    def _take_batch(self) -> list[tuple[Sequence[Event], asyncio.Future[None]]]:
        batch = [self._queue.popleft()]
        size = len(batch[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self._max_batch:
            item = self._queue.popleft()
            size += len(item[0])
            batch.append(item)
        return batch

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                if self._max_delay and self._queued_events < self._max_batch and not self._closing:
                    await asyncio.sleep(self._max_delay)
                batch = self._take_batch()
                events = [event for item, _ in batch for event in item]
                try:
                    await self._store.append(events)
                except Exception:
                    log.exception("event batch could not be stored", extra={"events": len(events)})
                    error = ServiceUnavailable(
                        "Event store unavailable; retry shortly", retry_after=5
                    )
                    await self._refuse(events)
                    self._settle(batch, len(events), error)
                    continue
                self.committed_batches += 1
                self.committed_events += len(events)
                if self._on_commit is not None:
                    try:
                        await self._on_commit(events)
                    except Exception:
                        # The events are durable; only the live view lags. Never un-ack them.
                        log.exception("post-commit hook failed")
                self._settle(batch, len(events), None)
            if self._closing:
                return

    def _settle(
        self,
        batch: list[tuple[Sequence[Event], asyncio.Future[None]]],
        count: int,
        error: BaseException | None,
    ) -> None:
        self._queued_events -= count
        for _, future in batch:
            if future.done():  # the request went away (client disconnected)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
