"""`EventStore.query_stats` on both stores: the time limit, and what a cancelled query leaves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from footfall.api.responses import error_response
from footfall.errors import QueryTimeout
from footfall.storage.events import Event, EventStore
from footfall.storage.postgres_events import PostgresEventStore
from tests.backends import open_event_store

pytest_plugins = ["tests.backends"]

# Runs for minutes unless cancelled.
SLOW = {
    "duckdb": "SELECT count(*) FROM range(100000000000) AS t(i) WHERE i % 7 = $1",
    "postgres": "SELECT pg_sleep(60), $1::int",
}


@pytest.fixture(params=["duckdb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    opened = await open_event_store(request.param, request, tmp_path)
    yield opened
    await opened.close()


def pageview(ts: float) -> Event:
    return Event(
        ts=ts, site_id="s", visitor_id=1, visit_id=1, name="pageview", hostname="h", pathname="/"
    )


async def test_rows_and_parameters(store: EventStore) -> None:
    await store.append([pageview(1_790_000_000.0), pageview(1_790_000_060.0)])
    rows = await store.query_stats(
        "/* stats.test */ SELECT count(*), $1 FROM events WHERE site_id = $2",
        ["x", "s"],
        time_limit=5,
    )
    assert rows == [(2, "x")]


async def test_a_query_past_its_time_limit_is_cancelled(store: EventStore) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as caught:
        await store.query_stats(SLOW[store.dialect], [3], time_limit=0.3)
    assert time.monotonic() - started < 5
    assert caught.value.status == 503
    assert caught.value.message == (
        "The query took longer than 0.3 seconds and was cancelled; "
        "try a shorter period or fewer filters"
    )
    # The store goes on: appends and queries work (DuckDB: the thread was freed).
    await store.append([pageview(1_790_000_000.0)])
    assert await store.count() == 1
    assert await store.query_stats("SELECT 1", [], time_limit=5) == [(1,)]


async def test_cancelling_never_hits_an_append(store: EventStore) -> None:
    """On DuckDB the append waits behind the query on the store thread; the interrupt that
    ends the query must not reach the append."""
    slow = asyncio.create_task(store.query_stats(SLOW[store.dialect], [3], time_limit=0.3))
    await asyncio.sleep(0)  # let the query go first
    await store.append([pageview(1_790_000_000.0 + i) for i in range(100)])
    with pytest.raises(QueryTimeout):
        await slow
    assert await store.count() == 100


async def test_timeouts_answer_503_with_retry_after() -> None:
    response = error_response(QueryTimeout(10))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.body == (
        b'{"error":"The query took longer than 10 seconds and was cancelled; '
        b'try a shorter period or fewer filters"}'
    )


async def test_postgres_stats_queries_are_read_only(pg_url: str) -> None:
    store = await PostgresEventStore.open(pg_url)
    try:
        await store.append([pageview(1_790_000_000.0)])
        with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
            await store.query_stats("DELETE FROM events", [], time_limit=5)
        assert await store.count() == 1
    finally:
        await store.close()


async def test_postgres_stats_queries_run_without_jit_under_their_limit(pg_url: str) -> None:
    store = await PostgresEventStore.open(pg_url)
    try:
        settings = "SELECT current_setting('jit'), current_setting('statement_timeout'), $1::int"
        assert await store.query_stats(settings, [1], time_limit=2.5) == [("off", "2500ms", 1)]
        # Transaction-local: the pooled connection is back to the server's settings after.
        async with store._pool.acquire() as con:
            assert await con.fetchval("SELECT current_setting('statement_timeout')") == "0"
    finally:
        await store.close()
