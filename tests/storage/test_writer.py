"""The group-commit writer: batching, acknowledgement after commit, backpressure, draining."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from footfall.errors import ServiceUnavailable
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event
from footfall.storage.writer import GroupCommitWriter


def event(i: int) -> Event:
    return Event(
        ts=1000.0 + i, site_id="s", visitor_id=i, name="pageview", hostname="h", pathname="/"
    )


class GatedStore:
    """Wraps a real store; each append waits until the test opens the gate."""

    def __init__(self, inner: DuckDBEventStore) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.batches: list[int] = []
        self.fail_next = False

    async def append(self, events: Sequence[Event]) -> None:
        await asyncio.wait_for(self.gate.wait(), 10)
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        await self.inner.append(events)
        self.batches.append(len(events))


@pytest.fixture
async def store(tmp_path) -> DuckDBEventStore:
    s = DuckDBEventStore(tmp_path / "events.duckdb")
    yield s
    await s.close()


async def test_concurrent_requests_share_transactions(store: DuckDBEventStore) -> None:
    gated = GatedStore(store)
    writer = GroupCommitWriter(gated, max_batch=1000)
    writer.start()
    first = asyncio.create_task(writer.submit([event(0)]))
    await asyncio.sleep(0)  # let the writer take the first event (it blocks on the gate)
    rest = [asyncio.create_task(writer.submit([event(i)])) for i in range(1, 101)]
    await asyncio.sleep(0)
    assert not first.done()
    gated.gate.set()
    await asyncio.gather(first, *rest)
    assert await store.count() == 101
    assert gated.batches[0] == 1 and sum(gated.batches) == 101
    assert len(gated.batches) <= 3  # the 100 waiting requests went in (nearly) one commit
    await writer.close()


async def test_ack_only_after_commit_and_hook_before_ack(store: DuckDBEventStore) -> None:
    seen_by_hook: list[int] = []

    async def on_commit(events: Sequence[Event]) -> None:
        seen_by_hook.append(await store.count())

    writer = GroupCommitWriter(store, on_commit=on_commit)
    writer.start()
    await writer.submit([event(1), event(2)])
    assert await store.count() == 2
    assert seen_by_hook == [2]
    await writer.close()


async def test_store_failure_is_a_503_and_nothing_is_acknowledged(store: DuckDBEventStore) -> None:
    gated = GatedStore(store)
    gated.gate.set()
    gated.fail_next = True
    writer = GroupCommitWriter(gated)
    writer.start()
    with pytest.raises(ServiceUnavailable):
        await writer.submit([event(1)])
    await writer.submit([event(2)])  # the writer keeps working afterwards
    assert [e.visitor_id for e in await store.events("s")] == [2]
    await writer.close()


async def test_backpressure_refuses_beyond_the_queue(store: DuckDBEventStore) -> None:
    gated = GatedStore(store)
    writer = GroupCommitWriter(gated, queue_size=10)
    writer.start()
    waiting = [asyncio.create_task(writer.submit([event(i)])) for i in range(10)]
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable) as refused:
        await writer.submit([event(99)])
    assert refused.value.retry_after >= 1
    gated.gate.set()
    await asyncio.gather(*waiting)
    assert await store.count() == 10
    await writer.close()


async def test_close_drains_everything_accepted(store: DuckDBEventStore) -> None:
    gated = GatedStore(store)
    writer = GroupCommitWriter(gated, max_batch=7)
    writer.start()
    pending = [asyncio.create_task(writer.submit([event(i)])) for i in range(50)]
    await asyncio.sleep(0)
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable):
        await writer.submit([event(100)])  # no intake while shutting down
    gated.gate.set()
    await closing
    await asyncio.gather(*pending)
    assert await store.count() == 50
    assert max(gated.batches) <= 7


async def test_one_request_is_never_split(store: DuckDBEventStore) -> None:
    gated = GatedStore(store)
    gated.gate.set()
    writer = GroupCommitWriter(gated, max_batch=5)
    writer.start()
    await writer.submit([event(i) for i in range(12)])
    assert gated.batches == [12]
    await writer.close()


async def test_events_that_will_not_be_stored_go_to_the_failure_hook(
    store: DuckDBEventStore,
) -> None:
    failed: list[list[int]] = []
    committed: list[list[int]] = []

    async def on_failure(events: Sequence[Event]) -> None:
        failed.append([e.visitor_id for e in events])

    async def on_commit(events: Sequence[Event]) -> None:
        committed.append([e.visitor_id for e in events])

    gated = GatedStore(store)
    writer = GroupCommitWriter(gated, on_commit=on_commit, on_failure=on_failure, queue_size=2)
    writer.start()
    waiting = asyncio.create_task(writer.submit([event(1), event(2)]))
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable):  # refused at intake: the queue is full
        await writer.submit([event(3)])
    assert failed == [[3]]
    gated.fail_next = True
    gated.gate.set()
    with pytest.raises(ServiceUnavailable):  # the commit failed
        await waiting
    assert failed == [[3], [1, 2]]
    await writer.submit([event(4)])
    assert committed == [[4]]
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0)
    with pytest.raises(ServiceUnavailable):  # shutting down
        await writer.submit([event(5)])
    await closing
    assert failed == [[3], [1, 2], [5]]


async def test_a_request_that_went_away_still_has_its_events_committed_and_hooked(
    store: DuckDBEventStore,
) -> None:
    committed: list[int] = []

    async def on_commit(events: Sequence[Event]) -> None:
        committed.extend(e.visitor_id for e in events)

    gated = GatedStore(store)
    writer = GroupCommitWriter(gated, on_commit=on_commit)
    writer.start()
    request = asyncio.create_task(writer.submit([event(1)]))
    await asyncio.sleep(0)
    request.cancel()  # the client disconnected while its event waited for the commit
    gated.gate.set()
    await writer.close()
    assert committed == [1]
    assert await store.count() == 1
