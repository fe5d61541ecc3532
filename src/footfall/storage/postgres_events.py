"""`PostgresEventStore`: the cluster tier's event store, one table in PostgreSQL (asyncpg, pooled).

Schema. The store owns its schema, versioned in a `footfall_events_schema` table of its own (like
the DuckDB store; the metadata database's Alembic history stays independent of it, and the events
may live in another database than the metadata). Every instance migrates at open under an
advisory lock, so instances starting together are safe.

`events` is range-partitioned by `ts`, one partition per calendar month (UTC) plus a DEFAULT
partition, so an event of any date is accepted: backfilled history years old lands in the
default partition, and so does an event of a month nobody created a partition for. Two indexes
are declared on the parent, so every partition gets them: BRIN on `ts` (tiny, good for the
append-ordered time-range scans of the stats queries) and btree on `(site_id, ts)` (one site,
one range).

Partitions. `ensure_partitions(now)` creates the partitions of the current month and of the
next `months_ahead` months, never of past months (their rows stay in the default partition).
Each partition is created as a plain table and ATTACHed, in one transaction:

* PostgreSQL refuses a partition whose range the default partition already holds rows of (e.g.
  an event dated months ahead arrived before its month's partition existed), so the transaction
  moves such rows from the default partition into the new table before attaching it.
* It first takes a SHARE ROW EXCLUSIVE lock on the parent: it waits for appends in progress and
  holds new ones back until it commits (they then route to the new partition; an append routing
  rows to the default partition while the partition is attached would fail), and it is
  self-conflicting, so instances running it at once take turns and the later ones find the
  partition there. Then an ACCESS EXCLUSIVE lock on the default partition (queries reading it
  wait), which PostgreSQL scans to check that no row of the new range is left in it. Appends
  therefore pause for one scan of the default partition per new partition, i.e. about once a
  month, months ahead. (`CREATE TABLE … PARTITION OF` would hold an ACCESS EXCLUSIVE lock on
  the parent for that scan, blocking every query too, and fails outright in the case above.)
* Only when rows are to move, the lock on the parent is ACCESS EXCLUSIVE instead, so queries
  wait for the new partition: a query planned before it existed and reading the default
  partition after the move would see those rows nowhere. (A query planned before an attach
  that moves nothing misses nothing: the new partition is empty until the commit.) Which
  mode is probed before the transaction and checked again under the lock (the transaction is
  taken again in ACCESS EXCLUSIVE mode if rows arrived meanwhile): a lock upgraded while held
  would deadlock with an append that had read the table before writing to it.

Appends use COPY (`copy_records_to_table`, binary): a single COPY statement is one transaction,
committed before `append` returns, and it is by far the fastest way into PostgreSQL. Timestamps
travel as integer microseconds through a tuple codec (no `datetime` objects: Unix seconds in,
Unix seconds out, exact to the microsecond); `props` through a binary jsonb codec (NULL when
empty). PostgreSQL text cannot hold NUL characters (nor can Python send lone surrogates as
UTF-8): a batch refused for that is retried once with those characters replaced by U+FFFD,
rather than failing every request of the batch because of one odd event.

Stats queries (`query_stats`) run in a read-only transaction with `SET LOCAL
statement_timeout`, so the server itself cancels one that runs past its time limit, and with
JIT compilation off (it cost more than it saved on them).

Outages (refused or lost connections, timeouts, a server shutting down or out of connections)
raise `BackendUnavailable("events")`. The pool replaces closed connections at the next acquire,
so the store recovers by itself when the server is back.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson

from footfall.errors import BackendUnavailable, QueryTimeout
from footfall.storage.events import COLUMNS, PAGEVIEW, PROPS_INDEX, Event, RecentVisit

log = logging.getLogger(__name__)

NAME = "events"

# PostgreSQL counts timestamps in microseconds from 2000-01-01T00:00:00Z.
_PG_EPOCH_US = 946_684_800_000_000

# Key of the advisory lock that serialises schema migrations between instances ("Footfall").
_SCHEMA_LOCK = 0x466F6F7466616C6C

_DEFAULT_PARTITION = "events_default"
_PARTITION_NAME = re.compile(r"events_p(\d{4})_(\d{2})")

# Seconds the client waits for a stats query beyond its server-side statement timeout.
_STATS_GRACE = 2.0

# The stats transaction's settings, in one round trip: the time limit (ms), and no JIT. JIT
# compilation (~70 functions per stats statement) took ~10 % of the dashboard's CPU at 1M
# events and sped up nothing measurable; the statements are a sort, a window and aggregates
# (stats/sql.py). A larger work_mem was measured too and left at the server's: sorting a
# million events in memory took more CPU than PostgreSQL's external merge (BENCHMARKS.md).
_STATS_SETTINGS = """
    /* postgres_events.query_stats */
    SELECT set_config('statement_timeout', $1, true), set_config('jit', 'off', true)
"""

# Ordered migrations; the index + 1 is the schema version. Each runs in one transaction.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE events (
            ts timestamptz NOT NULL,
            site_id text NOT NULL,
            visitor_id bigint NOT NULL,       -- keyed hash, daily salt; never an IP
            visit_id bigint NOT NULL,
            name text NOT NULL,               -- 'pageview' or a custom event name
            hostname text NOT NULL,
            pathname text NOT NULL,
            referrer text,
            referrer_source text,
            utm_source text,
            utm_medium text,
            utm_campaign text,
            utm_term text,
            utm_content text,
            country text,                     -- ISO 3166-1 alpha-2
            browser text,
            browser_version text,
            os text,
            os_version text,
            device_type text,                 -- desktop | mobile | tablet
            screen_size text,                 -- mobile | tablet | laptop | desktop (by width)
            props jsonb                       -- NULL when the event has no properties
        ) PARTITION BY RANGE (ts)
        """,
        "CREATE TABLE events_default PARTITION OF events DEFAULT",
        "CREATE INDEX events_ts_brin ON events USING brin (ts)",
        "CREATE INDEX events_site_ts ON events (site_id, ts)",
    ),
    (
        "ALTER TABLE events ADD COLUMN region text",  # ISO 3166-2 code (user city database)
        "ALTER TABLE events ADD COLUMN city text",
        "ALTER TABLE events ADD COLUMN event_id text",  # client event id (deduplication)
    ),
)

_COLUMN_LIST = ", ".join(COLUMNS)

_SELECT_EVENTS = f"""
    /* postgres_events.events */
    SELECT {_COLUMN_LIST} FROM events WHERE site_id = $1 ORDER BY ts LIMIT $2
"""  # noqa: S608 - the column names are constants

_EXPORT = f"""
    /* postgres_events.export_batches */
    SELECT {_COLUMN_LIST} FROM events ORDER BY ts
"""  # noqa: S608 - the column names are constants

_EXPORT_RANGE = f"""
    /* postgres_events.export_range */
    SELECT {_COLUMN_LIST} FROM events WHERE site_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts
"""  # noqa: S608 - the column names are constants

_RECENT_VISITS = """
    /* postgres_events.recent_visits */
    SELECT site_id, visitor_id,
           (array_agg(visit_id ORDER BY ts DESC, visit_id DESC))[1] AS visit_id,
           max(ts) AS last_ts,
           max(ts) FILTER (WHERE name = $1) AS last_pageview_ts,
           (array_agg(pathname ORDER BY ts DESC) FILTER (WHERE name = $1))[1]
               AS last_pageview_path
    FROM events WHERE ts >= $2
    GROUP BY site_id, visitor_id
"""

_DEFAULT_HOLDS_RANGE = """
    /* postgres_events.ensure_partitions */
    SELECT EXISTS (SELECT 1 FROM events_default WHERE ts >= $1 AND ts < $2)
"""


class _RowsToMove(Exception):
    """Rows of a new partition's range reached the default partition after the probe."""


_MOVE_FROM_DEFAULT = """
    /* postgres_events.ensure_partitions */
    WITH moved AS (
        DELETE FROM events_default WHERE ts >= $1 AND ts < $2 RETURNING {columns}
    )
    INSERT INTO {table} ({columns}) SELECT {columns} FROM moved
"""

# Errors that mean "the server cannot be reached or cannot serve now", not "the request is
# wrong": connection refused/lost/timed out (OSError covers ConnectionError and TimeoutError),
# class 08 (connection exception), class 57 (admin/crash shutdown, cannot connect now, query
# canceled) and class 53 (too many connections, disk full, out of memory).
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)

# A batch refused for characters PostgreSQL text cannot hold: NUL (in text, or \u0000 in
# jsonb), or lone surrogates that cannot be encoded as UTF-8 at all.
_BAD_CHARACTERS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    UnicodeEncodeError,
)


def connection_dsn(url: str) -> str:
    """A DSN for asyncpg: `postgresql+asyncpg://…` (any `+driver`) -> `postgresql://…`."""
    scheme, separator, rest = url.partition("://")
    dialect = scheme.split("+", 1)[0]
    if not separator or dialect not in ("postgresql", "postgres"):
        raise ValueError("the event store needs a postgresql:// URL")
    return f"{dialect}://{rest}"


def _encode_ts(ts: float) -> tuple[int]:
    return (round(ts * 1_000_000) - _PG_EPOCH_US,)


def _decode_ts(value: tuple[int]) -> float:
    return (value[0] + _PG_EPOCH_US) / 1_000_000


def _encode_jsonb(value: Any) -> bytes:
    try:
        data = orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits
        data = json.dumps(value, separators=(",", ":")).encode()
    return b"\x01" + data  # jsonb binary format: version 1, then the JSON text


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])  # the json module keeps integers of any size exact


async def _init_connection(con: Any) -> None:
    await con.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_encode_ts,
        decoder=_decode_ts,
        format="tuple",
    )
    await con.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )


def _record(event: Event) -> tuple[Any, ...]:
    values = list(event.values())
    values[PROPS_INDEX] = values[PROPS_INDEX] or None
    return tuple(values)


def _event(row: Any) -> Event:
    values = dict(row.items())
    values["props"] = values["props"] or {}
    return Event(**values)


def _scrub_text(value: str) -> str:
    return _UNSTORABLE.sub("\ufffd", value)


# NUL, and lone surrogates (which have no UTF-8 encoding).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    """`value` with NUL characters and lone surrogates replaced, in strings and dict keys."""
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {_scrub_text(k): _scrub(v) for k, v in value.items()}
    return value


def _month_start(index: int) -> tuple[int, int, float]:
    """Year, month and Unix start of the month `index` months after January of year 0."""
    year, month0 = divmod(index, 12)
    return year, month0 + 1, float(calendar.timegm((year, month0 + 1, 1, 0, 0, 0)))


def _bound(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}-01 00:00:00+00"


class PostgresEventStore:
    """Events in a partitioned PostgreSQL table; open with `await PostgresEventStore.open(url)`."""

    name = NAME
    dialect = "postgres"

    def __init__(
        self,
        pool: Any,
        *,
        acquire_timeout: float,
        maintenance_timeout: float,
        lock_timeout: float,
    ) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._maintenance_timeout = maintenance_timeout
        self._lock_timeout_ms = str(max(1, round(lock_timeout * 1000)))

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        acquire_timeout: float = 5.0,
        command_timeout: float = 10.0,
        maintenance_timeout: float = 300.0,
        lock_timeout: float = 2.0,
        now: float | None = None,
    ) -> PostgresEventStore:
        """Connect a pool, migrate the schema and ensure the partitions around `now` (default:
        the current time).

        `command_timeout` bounds each query; `maintenance_timeout` the ones that may run long
        (purges, moving rows into a new partition); `lock_timeout` how long partition creation
        waits for its locks before giving up until the next `ensure_partitions`."""
        try:
            pool = await asyncpg.create_pool(
                connection_dsn(url),
                min_size=1,
                max_size=max_size,
                timeout=connect_timeout,
                command_timeout=command_timeout,
                init=_init_connection,
                server_settings={"application_name": "footfall-events"},
            )
        except _OUTAGES as error:
            raise BackendUnavailable(NAME) from error
        store = cls(
            pool,
            acquire_timeout=acquire_timeout,
            maintenance_timeout=maintenance_timeout,
            lock_timeout=lock_timeout,
        )
        try:
            await store._migrate()
            await store.ensure_partitions(datetime.now(UTC).timestamp() if now is None else now)
        except BaseException:
            pool.terminate()
            raise
        return store

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection; outages surface as `BackendUnavailable`."""
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as con:
                try:
                    yield con
                except asyncpg.InterfaceError as error:
                    if con.is_closed():
                        raise BackendUnavailable(NAME) from error
                    raise
        except _OUTAGES as error:
            raise BackendUnavailable(NAME) from error

    async def _migrate(self) -> None:
        async with self._connection() as con, con.transaction():
            await con.execute(
                "/* postgres_events.migrate */ SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK
            )
            await con.execute(
                "/* postgres_events.migrate */ "
                "CREATE TABLE IF NOT EXISTS footfall_events_schema (version integer NOT NULL)"
            )
            current = await con.fetchval(
                "/* postgres_events.migrate */ "
                "SELECT coalesce(max(version), 0) FROM footfall_events_schema"
            )
            for version, statements in enumerate(_MIGRATIONS, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    await con.execute(statement)
                await con.execute(
                    "/* postgres_events.migrate */ INSERT INTO footfall_events_schema VALUES ($1)",
                    version,
                )

    async def ensure_partitions(self, now: float, months_ahead: int = 2) -> list[str]:
        """Create the monthly partitions of `now`'s month and the next `months_ahead` ones
        that do not exist yet; returns the names created. Idempotent, safe to run from several
        instances at once; for housekeeping (e.g. hourly or daily) as well as at open.

        A partition whose locks cannot be had within the lock timeout (long queries on the
        default partition, another instance creating it) is left for the next call, with a
        warning: its events go to the default partition meanwhile, and move when it is made."""
        current = datetime.fromtimestamp(now, UTC)
        first = current.year * 12 + current.month - 1
        created = []
        async with self._connection() as con:
            rows = await con.fetch(
                """
                /* postgres_events.ensure_partitions */
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'events'::regclass
                """
            )
            existing = {row["relname"] for row in rows}
            for index in range(first, first + months_ahead + 1):
                year, month, start = _month_start(index)
                name = f"events_p{year:04d}_{month:02d}"
                if name in existing:
                    continue
                end_year, end_month, end = _month_start(index + 1)
                bounds = (_bound(year, month), _bound(end_year, end_month), start, end)
                try:
                    if await self._create_partition(con, name, *bounds):
                        created.append(name)
                except asyncpg.exceptions.LockNotAvailableError:
                    log.warning("partition %s not created: events table busy; retried later", name)
        return created

    async def _create_partition(
        self, con: Any, name: str, lower: str, upper: str, start: float, end: float
    ) -> bool:
        """Create partition `name` for [start, end), moving the default partition's rows of
        that range into it; False if another instance created it first. DDL cannot take
        parameters: `name` and the bounds are built here from integers, never from input.

        The lock on the parent is taken once, in its final mode: ACCESS EXCLUSIVE when rows
        are to move (see the module), else SHARE ROW EXCLUSIVE. (Upgrading a lock already
        held deadlocks with an append that read the table before writing to it.) Whether
        rows move is probed first without locks and checked again under the lock: if rows
        arrived meanwhile, the transaction is rolled back and taken again in the other mode.
        """
        timeout = self._maintenance_timeout
        moving = bool(await con.fetchval(_DEFAULT_HOLDS_RANGE, start, end, timeout=timeout))
        while True:
            try:
                moved = await self._attach_partition(con, name, lower, upper, start, end, moving)
            except _RowsToMove:
                moving = True
                continue
            except (asyncpg.exceptions.DuplicateTableError, asyncpg.UniqueViolationError):
                return False  # created concurrently by a process not taking the lock
            if moved is None:
                return False
            if moved:
                log.info(
                    "partition %s created; %d events moved from the default partition",
                    name,
                    moved,
                )
            return True

    async def _attach_partition(
        self,
        con: Any,
        name: str,
        lower: str,
        upper: str,
        start: float,
        end: float,
        moving: bool,
    ) -> int | None:
        """One transaction of `_create_partition`: the rows moved, None if the partition
        exists; `_RowsToMove` (rolled back) if rows to move are found while not `moving`."""
        timeout = self._maintenance_timeout
        async with con.transaction():
            # Give up rather than queue: appends wait behind a queued lock request too.
            await con.execute(
                "/* postgres_events.ensure_partitions */ "
                "SELECT set_config('lock_timeout', $1, true)",
                self._lock_timeout_ms,
            )
            # Both modes are self-conflicting and wait for appends in progress and hold new
            # ones back, so none routes rows to the default partition while the partition is
            # attached. SHARE ROW EXCLUSIVE lets queries go on; ACCESS EXCLUSIVE holds them
            # back until the moved rows are in the attached partition. (Always the parent
            # first, then the default partition, as appends do: no deadlock.)
            mode = "ACCESS EXCLUSIVE" if moving else "SHARE ROW EXCLUSIVE"
            await con.execute(
                f"/* postgres_events.ensure_partitions */ LOCK TABLE ONLY events IN {mode} MODE"
            )
            exists = await con.fetchval(
                "/* postgres_events.ensure_partitions */ SELECT to_regclass($1) IS NOT NULL",
                name,
            )
            if exists:
                return None
            if not moving and await con.fetchval(_DEFAULT_HOLDS_RANGE, start, end, timeout=timeout):
                raise _RowsToMove
            await con.execute(
                "/* postgres_events.ensure_partitions */ "
                f"LOCK TABLE ONLY {_DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE"
            )
            await con.execute(
                "/* postgres_events.ensure_partitions */ "
                f"CREATE TABLE IF NOT EXISTS {name} "
                "(LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            moved = await con.execute(
                _MOVE_FROM_DEFAULT.format(table=name, columns=_COLUMN_LIST),
                start,
                end,
                timeout=timeout,
            )
            await con.execute(
                "/* postgres_events.ensure_partitions */ "
                f"ALTER TABLE events ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{lower}') TO ('{upper}')",
                timeout=timeout,
            )
        return int(moved.split()[-1])

    async def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        records = [_record(event) for event in events]
        try:
            async with self._connection() as con:
                await con.copy_records_to_table("events", records=records, columns=COLUMNS)
        except _BAD_CHARACTERS:
            # Nothing was stored (one COPY, one transaction): retry with what PostgreSQL cannot
            # store replaced. Rare, so the common path pays nothing for it.
            records = [tuple(_scrub(value) for value in record) for record in records]
            async with self._connection() as con:
                await con.copy_records_to_table("events", records=records, columns=COLUMNS)

    async def recent_visits(self, since: float) -> list[RecentVisit]:
        async with self._connection() as con:
            rows = await con.fetch(_RECENT_VISITS, PAGEVIEW, since)
        return [
            RecentVisit(
                site_id=row["site_id"],
                visitor_id=row["visitor_id"],
                visit_id=row["visit_id"],
                last_ts=row["last_ts"],
                last_pageview_ts=row["last_pageview_ts"],
                last_pageview_path=row["last_pageview_path"],
            )
            for row in rows
        ]

    async def count(self, site_id: str | None = None) -> int:
        async with self._connection() as con:
            if site_id is None:
                value = await con.fetchval(
                    "/* postgres_events.count */ SELECT count(*) FROM events"
                )
            else:
                value = await con.fetchval(
                    "/* postgres_events.count */ SELECT count(*) FROM events WHERE site_id = $1",
                    site_id,
                )
        return int(value)

    async def events(self, site_id: str, limit: int = 1000) -> list[Event]:
        async with self._connection() as con:
            rows = await con.fetch(_SELECT_EVENTS, site_id, limit)
        return [_event(row) for row in rows]

    async def export_batches(self, batch_size: int = 10_000) -> AsyncIterator[list[Event]]:
        """Every event, oldest first, through a server-side cursor in one read-only snapshot
        (appends during the export are not in it). Holds one pooled connection until done.
        Sorting the whole table may take long before the first batch: the maintenance timeout
        applies."""
        timeout = self._maintenance_timeout
        async with (
            self._connection() as con,
            con.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await con.cursor(_EXPORT, timeout=timeout)
            while rows := await cursor.fetch(batch_size, timeout=timeout):
                yield [_event(row) for row in rows]

    async def export_range(
        self, site_id: str, start: float, end: float, batch_size: int = 10_000
    ) -> AsyncGenerator[list[Event], None]:
        """The site's events of [start, end) through a server-side cursor in one read-only
        snapshot, in `ts` order from the (site_id, ts) index. Holds one pooled connection
        until the iterator is read to the end or closed."""
        timeout = self._maintenance_timeout
        async with (
            self._connection() as con,
            con.transaction(isolation="repeatable_read", readonly=True),
        ):
            cursor = await con.cursor(_EXPORT_RANGE, site_id, start, end, timeout=timeout)
            while rows := await cursor.fetch(batch_size, timeout=timeout):
                batch = [_event(row) for row in rows]
                del rows  # memory: one batch at a time (see the DuckDB store)
                yield batch
                del batch

    async def purge_sites(self, site_ids: Sequence[str]) -> int:
        if not site_ids:
            return 0
        async with self._connection() as con:
            status = await con.execute(
                "/* postgres_events.purge_sites */ DELETE FROM events WHERE site_id = ANY($1)",
                list(site_ids),
                timeout=self._maintenance_timeout,
            )
        return int(status.split()[-1])

    async def delete_before(self, site_id: str, ts: float) -> int:
        """One DELETE per calendar month, oldest first, up to `ts`: each a short transaction on
        the (site_id, ts) index within one partition. (Deletes never block appends; this keeps
        transactions and their timeouts small when years of history go at once.)"""
        total = 0
        async with self._connection() as con:
            while True:
                oldest = await con.fetchval(
                    "/* postgres_events.delete_before */ "
                    "SELECT min(ts) FROM events WHERE site_id = $1 AND ts < $2",
                    site_id,
                    ts,
                )
                if oldest is None:
                    return total
                month = datetime.fromtimestamp(oldest, UTC)
                end = min(_month_start(month.year * 12 + month.month)[2], ts)
                status = await con.execute(
                    "/* postgres_events.delete_before */ "
                    "DELETE FROM events WHERE site_id = $1 AND ts < $2",
                    site_id,
                    end,
                    timeout=self._maintenance_timeout,
                )
                total += int(status.split()[-1])

    async def drop_partitions_before(self, ts: float) -> list[str]:
        """Drop the monthly partitions that end at or before `ts`, whose every row is older:
        retention for a whole month at the cost of a catalog change (no row deletes, no bloat),
        for when every site's retention allows it. Never the default partition. Dropping takes
        an ACCESS EXCLUSIVE lock on the parent for a moment; a partition whose lock cannot be
        had within the lock timeout is left for the next call (its rows go by `delete_before`
        meanwhile). Returns the names dropped (one that another instance dropped meanwhile
        included: several may run this at once, see `Services.apply_retention`)."""
        dropped = []
        async with self._connection() as con:
            rows = await con.fetch(
                """
                /* postgres_events.drop_partitions_before */
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'events'::regclass
                """
            )
            for name in sorted(row["relname"] for row in rows):
                match = _PARTITION_NAME.fullmatch(name)
                if match is None:
                    continue  # the default partition
                year, month = int(match[1]), int(match[2])
                if _month_start(year * 12 + month)[2] > ts:
                    continue
                try:
                    async with con.transaction():
                        await con.execute(
                            "/* postgres_events.drop_partitions_before */ "
                            "SELECT set_config('lock_timeout', $1, true)",
                            self._lock_timeout_ms,
                        )
                        # `name` matched the partition pattern: digits only, no injection.
                        # IF EXISTS: another instance may have dropped it since it was listed.
                        await con.execute(
                            "/* postgres_events.drop_partitions_before */ "
                            f"DROP TABLE IF EXISTS {name}"
                        )
                except asyncpg.exceptions.LockNotAvailableError:
                    log.warning("partition %s not dropped: events table busy; retried later", name)
                    continue
                dropped.append(name)
        if dropped:
            log.info("partitions past every site's retention dropped: %s", ", ".join(dropped))
        return dropped

    async def recent_event_ids(self, since: float) -> list[tuple[str, str, float]]:
        async with self._connection() as con:
            rows = await con.fetch(
                "/* postgres_events.recent_event_ids */ SELECT site_id, event_id, ts "
                "FROM events WHERE ts >= $1 AND event_id IS NOT NULL",
                since,
                timeout=self._maintenance_timeout,
            )
        return [(row["site_id"], row["event_id"], row["ts"]) for row in rows]

    async def query_stats(
        self, sql: str, params: Sequence[Any], *, time_limit: float
    ) -> list[tuple[Any, ...]]:
        async with self._connection() as con:
            try:
                async with con.transaction(readonly=True):
                    # JIT off: compiling stats statements cost more than it saved.
                    await con.execute(
                        _STATS_SETTINGS, str(max(1, round(time_limit * 1000))), timeout=_STATS_GRACE
                    )
                    # The client-side timeout is a backstop for a server that stopped
                    # answering (an outage, reported as such), hence a little later.
                    rows = await con.fetch(sql, *params, timeout=time_limit + _STATS_GRACE)
            except asyncpg.exceptions.QueryCanceledError as error:
                raise QueryTimeout(time_limit) from error
        return [tuple(row) for row in rows]

    async def ping(self) -> None:
        async with self._connection() as con:
            await con.fetchval("/* postgres_events.ping */ SELECT 1")

    async def close(self) -> None:
        """Close the pool, waiting a few seconds for connections in use; idempotent."""
        if self._pool.is_closing():
            return
        try:
            await asyncio.wait_for(self._pool.close(), timeout=10)
        except TimeoutError:
            self._pool.terminate()
