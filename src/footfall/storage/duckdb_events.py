"""`DuckDBEventStore`: the embedded tier's event store, a DuckDB file in the data folder.

DuckDB is columnar, so the dashboard's aggregations over millions of rows stay fast. Batches
go in through DuckDB's Appender: one `flush` is one committed transaction, and appending rows
beats `executemany` by two orders of magnitude (see docs/architecture.md). One process owns the
file; the CLI never opens it while the server runs.

DuckDB's Python API blocks, so every call runs on one dedicated thread: the event loop never
waits on it, and calls on the connection are serialised without further locking. Stats queries
run on that thread too, on a cursor of their own, so that interrupting one past its time limit
can never hit an append.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from footfall.errors import QueryTimeout, StoreInUse
from footfall.stats import rollup
from footfall.storage.events import COLUMNS, PAGEVIEW, PROPS_INDEX, Event, RecentVisit

_EPOCH = datetime(1970, 1, 1)

# Ordered migrations of the events database; the index + 1 is the schema version.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        ts TIMESTAMP NOT NULL,            -- UTC
        site_id VARCHAR NOT NULL,
        visitor_id BIGINT NOT NULL,       -- keyed hash, daily salt; never an IP
        visit_id BIGINT NOT NULL,
        name VARCHAR NOT NULL,            -- 'pageview' or a custom event name
        hostname VARCHAR NOT NULL,
        pathname VARCHAR NOT NULL,
        referrer VARCHAR,
        referrer_source VARCHAR,
        utm_source VARCHAR,
        utm_medium VARCHAR,
        utm_campaign VARCHAR,
        utm_term VARCHAR,
        utm_content VARCHAR,
        country VARCHAR,                  -- ISO 3166-1 alpha-2
        browser VARCHAR,
        browser_version VARCHAR,
        os VARCHAR,
        os_version VARCHAR,
        device_type VARCHAR,              -- desktop | mobile | tablet
        screen_size VARCHAR,              -- mobile | tablet | laptop | desktop (by width)
        props JSON
    )
    """,
    """
    ALTER TABLE events ADD COLUMN region VARCHAR;  -- ISO 3166-2 code (user city database)
    ALTER TABLE events ADD COLUMN city VARCHAR;
    ALTER TABLE events ADD COLUMN event_id VARCHAR;  -- client event id (deduplication)
    """,
)


def _to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def _to_unix(value: datetime) -> float:
    return (value - _EPOCH).total_seconds()


def _event(row: tuple[Any, ...]) -> Event:
    values = dict(zip(COLUMNS, row, strict=True))
    values["ts"] = _to_unix(values["ts"])
    values["props"] = json.loads(values["props"]) if values["props"] else {}
    return Event(**values)


def _row(event: Event) -> tuple[Any, ...]:
    values = list(event.values())
    values[0] = _to_datetime(values[0])
    props = values[PROPS_INDEX]
    values[PROPS_INDEX] = json.dumps(props, separators=(",", ":")) if props else None
    return tuple(values)


T = TypeVar("T")

# Rows per statement of `delete_before`.
_DELETE_CHUNK = 50_000

# Seconds between interrupts of a stats query past its time limit, until it has stopped.
_INTERRUPT_POLL = 0.005


class _StatsCall:
    """One stats query's progress on the store thread, guarded by the store's stats lock."""

    __slots__ = ("cancelled", "state")

    def __init__(self) -> None:
        self.state = "queued"  # -> "running" -> "done"
        self.cancelled = False


class DuckDBEventStore:
    """Events in a DuckDB database file (or `:memory:`)."""

    name = "events"
    dialect = "duckdb"

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            raise StoreInUse(
                f"The events database {path} is in use by another process: is another "
                "`footfall serve` running on this data folder? The embedded tier allows one "
                "server per data folder; run several instances in cluster mode."
            ) from None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-duckdb")
        self._closed = False
        self._migrate()
        # The stats rollup's watermark (`footfall.stats.rollup`), read and written on the store
        # thread only (by appends and refreshes); None until the first refresh.
        self.stats_rollup_watermark = rollup.prepare(self._con)
        # Stats queries: their own cursor (a connection to the same database), so that an
        # interrupt can only ever reach a stats query; the lock orders interrupts with the
        # start and end of each query (`_StatsCall.state`).
        self._stats_cursor = self._con.cursor()
        self._stats_lock = threading.Lock()
        # The key of the last stats script whose shared statements' results (temporary tables
        # of the stats cursor) are still valid: nothing else ran on the store since.
        self._stats_reusable: Hashable | None = None

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._on_thread, fn, args)

    def _on_thread(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if fn != self._query_stats:
            self._stats_reusable = None  # anything else may have changed the data
        return fn(*args)

    def _run(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Execute and fetch every row. DuckDB refuses other work on a connection (such as an
        appender flush) while a result is not fully fetched, so no result is left open."""
        rows: list[tuple[Any, ...]] = self._con.execute(sql, params).fetchall()
        return rows

    def _migrate(self) -> None:
        self._run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self._run("SELECT max(version) FROM schema_version")[0][0] or 0
        for version, statement in enumerate(_MIGRATIONS, start=1):
            if version > current:
                self._run("BEGIN")
                self._run(statement)
                self._run("INSERT INTO schema_version VALUES (?)", [version])
                self._run("COMMIT")

    async def append(self, events: Sequence[Event]) -> None:
        if events:
            await self._call(self._append, [_row(e) for e in events])

    def _append(self, rows: list[tuple[Any, ...]]) -> None:
        watermark = self.stats_rollup_watermark
        if watermark is not None:
            # A backfill before the rollup's watermark: its visitors are read raw until the
            # next refresh (marked first: a crash in between only costs a recomputation).
            late = {(row[1], row[2]) for row in rows if row[0] < watermark}
            if late:
                rollup.mark_pending(self._con, late)
        appender = self._con.appender("events")
        appender.append_rows(rows)
        appender.flush()

    async def recent_visits(self, since: float) -> list[RecentVisit]:
        query = """
            /* duckdb_events.recent_visits */
            SELECT site_id, visitor_id, arg_max(visit_id, ts) AS visit_id, max(ts) AS last_ts,
                   max(ts) FILTER (WHERE name = ?) AS last_pageview_ts,
                   arg_max(pathname, ts) FILTER (WHERE name = ?) AS last_pageview_path
            FROM events WHERE ts >= ?
            GROUP BY site_id, visitor_id
        """
        rows = await self._call(self._run, query, [PAGEVIEW, PAGEVIEW, _to_datetime(since)])
        return [
            RecentVisit(
                site_id=site_id,
                visitor_id=visitor_id,
                visit_id=visit_id,
                last_ts=_to_unix(last_ts),
                last_pageview_ts=_to_unix(last_pv) if last_pv is not None else None,
                last_pageview_path=last_path,
            )
            for site_id, visitor_id, visit_id, last_ts, last_pv, last_path in rows
        ]

    async def count(self, site_id: str | None = None) -> int:
        if site_id is None:
            rows = await self._call(self._run, "SELECT count(*) FROM events")
        else:
            rows = await self._call(
                self._run, "SELECT count(*) FROM events WHERE site_id = ?", [site_id]
            )
        return int(rows[0][0])

    async def events(self, site_id: str, limit: int = 1000) -> list[Event]:
        columns = ", ".join(COLUMNS)
        rows = await self._call(
            self._run,
            f"SELECT {columns} FROM events WHERE site_id = ? ORDER BY ts LIMIT ?",  # noqa: S608
            [site_id, limit],
        )
        return [_event(row) for row in rows]

    async def export_batches(self, batch_size: int = 10_000) -> AsyncIterator[list[Event]]:
        # A cursor of its own, so the half-read result never blocks the main connection.
        cursor = await self._call(self._con.cursor)
        columns = ", ".join(COLUMNS)
        try:
            await self._call(
                cursor.execute,
                f"/* duckdb_events.export_batches */ SELECT {columns} FROM events ORDER BY ts",  # noqa: S608
            )
            while rows := await self._call(cursor.fetchmany, batch_size):
                yield [_event(row) for row in rows]
        finally:
            await self._call(cursor.close)

    async def export_range(
        self, site_id: str, start: float, end: float, batch_size: int = 10_000
    ) -> AsyncGenerator[list[Event], None]:
        # As export_batches: a cursor of its own, each fetch a call on the store thread, so
        # appends go on between batches (the cursor reads the snapshot it started with).
        cursor = await self._call(self._con.cursor)
        columns = ", ".join(COLUMNS)
        try:
            await self._call(
                cursor.execute,
                f"/* duckdb_events.export_range */ SELECT {columns} FROM events "  # noqa: S608
                "WHERE site_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
                [site_id, _to_datetime(start), _to_datetime(end)],
            )
            while rows := await self._call(cursor.fetchmany, batch_size):
                batch = [_event(row) for row in rows]
                # Hold neither the rows nor the batch while the next one is fetched: memory
                # stays at one batch.
                del rows
                yield batch
                del batch
        finally:
            # Shielded: a download cancelled mid-fetch still closes its cursor.
            await asyncio.shield(self._call(cursor.close))

    async def purge_sites(self, site_ids: Sequence[str]) -> int:
        if not site_ids:
            return 0
        rows = await self._call(
            self._run, "DELETE FROM events WHERE site_id IN (SELECT unnest(?))", [list(site_ids)]
        )
        await self._call(rollup.purge, self._con, list(site_ids))
        return int(rows[0][0])

    async def delete_before(self, site_id: str, ts: float) -> int:
        # In chunks of rows, each its own call on the store thread: appends queued meanwhile
        # go in between, so a first run over years of history never stalls ingestion.
        statement = """
            /* duckdb_events.delete_before */
            DELETE FROM events WHERE rowid IN (
                SELECT rowid FROM events WHERE site_id = ? AND ts < ? LIMIT ?
            )
        """
        params = [site_id, _to_datetime(ts), _DELETE_CHUNK]
        # The rollup reads the visitors with deleted events raw until recomputed (marked again
        # at the end: a refresh between chunks recomputes from what was left then).
        await self._call(rollup.forget_before, self._con, site_id, _to_datetime(ts))
        total = 0
        while True:
            deleted = int((await self._call(self._run, statement, params))[0][0])
            total += deleted
            if deleted < _DELETE_CHUNK:
                await self._call(rollup.forget_before, self._con, site_id, _to_datetime(ts))
                return total

    async def recent_event_ids(self, since: float) -> list[tuple[str, str, float]]:
        rows = await self._call(
            self._run,
            "/* duckdb_events.recent_event_ids */ SELECT site_id, event_id, ts FROM events "
            "WHERE ts >= ? AND event_id IS NOT NULL",
            [_to_datetime(since)],
        )
        return [(site_id, event_id, _to_unix(ts)) for site_id, event_id, ts in rows]

    async def query_stats(
        self, sql: str, params: Sequence[Any], *, time_limit: float
    ) -> list[tuple[Any, ...]]:
        return await self.query_stats_script([(sql, params)], time_limit=time_limit)

    async def query_stats_script(
        self,
        statements: Sequence[tuple[str, Sequence[Any]]],
        *,
        time_limit: float,
        reuse: tuple[Hashable, int] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run `statements` in order as one stats query (one call on the store thread: nothing
        else runs in between) and return the rows of the last; the time limit is the whole's.

        `reuse=(key, n)`: the first n statements only leave results in temporary tables, and
        depend on nothing but `key` and the data; they are skipped when the previous script
        ran them with the same key and no other call ran on the store since."""
        call = _StatsCall()
        script = [(sql, list(params)) for sql, params in statements]
        try:
            return await asyncio.wait_for(
                self._call(self._query_stats, call, script, reuse), time_limit
            )
        except TimeoutError:
            # Still queued: it will not run. Running: interrupt it until it has stopped (an
            # interrupt that lands just before the query starts is lost, hence the repeat),
            # which frees the store thread for the appends queued behind it.
            while True:
                with self._stats_lock:
                    call.cancelled = True
                    if call.state != "running":
                        break
                    self._stats_cursor.interrupt()
                await asyncio.sleep(_INTERRUPT_POLL)
            raise QueryTimeout(time_limit) from None

    def _query_stats(
        self,
        call: _StatsCall,
        script: list[tuple[str, list[Any]]],
        reuse: tuple[Hashable, int] | None = None,
    ) -> list[tuple[Any, ...]]:
        with self._stats_lock:
            if call.cancelled:
                return []
            call.state = "running"
        key, shared = reuse or (None, 0)
        skip = shared if key is not None and key == self._stats_reusable else 0
        if not skip:
            self._stats_reusable = None  # until this script has run its shared statements
        try:
            rows: list[tuple[Any, ...]] = []
            for index, (sql, params) in enumerate(script[skip:], start=skip):
                rows = self._stats_cursor.execute(sql, params).fetchall()
                if index + 1 == shared:
                    self._stats_reusable = key
            return rows
        finally:
            with self._stats_lock:
                call.state = "done"

    async def refresh_stats_rollup(self, now: float, budget: float | None = None) -> bool:
        """Bring the stats rollup up to `now` (less `rollup.LAG`), in steps of bounded work,
        each a call of its own on the store thread: appends go on in between. Stops after
        `budget` seconds if given; returns whether it is up to date."""
        target = _to_datetime(now - rollup.LAG)
        started = time.monotonic()
        while await self._call(self._refresh_step, target):
            if budget is not None and time.monotonic() - started > budget:
                return False
        return True

    def _refresh_step(self, target: datetime) -> bool:
        # The watermark changes on the store thread, so no append sees a stale one.
        self.stats_rollup_watermark, more = rollup.refresh_step(self._con, target)
        return more

    async def ping(self) -> None:
        await self._call(self._run, "SELECT 1")

    async def close(self) -> None:
        """Close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._call(self._stats_cursor.close)
        await self._call(self._con.close)
        self._executor.shutdown(wait=True)
