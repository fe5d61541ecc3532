"""One contract for every `EventStore` (DuckDB embedded, PostgreSQL cluster), then what only the
PostgreSQL store has: partitions, indexes, one-COPY transactions, outages and recovery.

The PostgreSQL parametrisation runs on a fresh database per test (`pg_url`, tests/backends.py);
outages are made with a TCP proxy in front of the real server that the test cuts or freezes.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from footfall.errors import BackendUnavailable
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import COLUMNS, Event, EventStore
from footfall.storage.postgres_events import PostgresEventStore, connection_dsn
from tests.tcpproxy import TcpProxy

pytest_plugins = ["tests.backends"]

DAY = 86_400.0
NOW = time.time()  # partitions are created around the real "now" at open

Opener = Callable[[], Awaitable[EventStore]]


def full_event(**overrides: Any) -> Event:
    values: dict[str, Any] = dict(
        ts=1_790_000_000.123456,
        site_id="site",
        visitor_id=-42,
        visit_id=7,
        name="pageview",
        hostname="example.com",
        pathname="/pricing",
        referrer="https://news.ycombinator.com/",
        referrer_source="Hacker News",
        utm_source="hn",
        utm_medium="social",
        utm_campaign="launch",
        utm_term="analytics",
        utm_content="top",
        country="NL",
        browser="Firefox",
        browser_version="133.0",
        os="Linux",
        os_version="6.1",
        device_type="desktop",
        screen_size="laptop",
        props={"plan": "pro", "n": 2, "ratio": 0.5, "ok": True, "big": 2**70, "txt": "ünï"},
        region="NL-NH",
        city="Amsterdam",
        event_id="e-0001",
    )
    values.update(overrides)
    return Event(**values)


@pytest.fixture(params=["duckdb", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens the parametrised store; every call opens the same storage again."""
    if request.param == "duckdb":
        path = tmp_path / "events.duckdb"

        async def open_duckdb() -> EventStore:
            return DuckDBEventStore(path)

        return open_duckdb
    url: str = request.getfixturevalue("pg_url")

    async def open_postgres() -> EventStore:
        return await PostgresEventStore.open(url)

    return open_postgres


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[EventStore]:
    opened = await open_store()
    yield opened
    await opened.close()


# --- the contract ---------------------------------------------------------------------------


async def test_name(store: EventStore) -> None:
    assert store.name == "events"


async def test_round_trip_of_every_column(store: EventStore) -> None:
    original = full_event()
    await store.append([original])
    (back,) = await store.events("site")
    for column in COLUMNS:
        expected, actual = getattr(original, column), getattr(back, column)
        if column == "ts":
            assert abs(actual - expected) < 1e-6, (actual, expected)
        else:
            assert actual == expected, column
            assert type(actual) is type(expected), column


async def test_round_trip_of_empty_optional_columns(store: EventStore) -> None:
    original = Event(
        ts=1_790_000_000.0,
        site_id="site",
        visitor_id=1,
        name="signup",
        hostname="example.com",
        pathname="/",
    )
    await store.append([original])
    (back,) = await store.events("site")
    assert back == original
    assert back.props == {}


async def test_timestamps_keep_microseconds(store: EventStore) -> None:
    stamps = [1_790_000_000.000001, 1_790_000_000.999999, 946_684_799.5, 86_400.25]
    await store.append([full_event(ts=ts, visit_id=i) for i, ts in enumerate(stamps)])
    back = {e.visit_id: e.ts for e in await store.events("site")}
    for i, ts in enumerate(stamps):
        assert abs(back[i] - ts) < 1e-6, (back[i], ts)


async def test_count_per_site_and_overall(store: EventStore) -> None:
    assert await store.count() == 0
    await store.append([full_event(site_id="a") for _ in range(3)])
    await store.append([full_event(site_id="b"), full_event(site_id="a", name="signup")])
    assert await store.count() == 5
    assert await store.count("a") == 4
    assert await store.count("b") == 1
    assert await store.count("nobody") == 0


async def test_events_oldest_first_with_limit(store: EventStore) -> None:
    stamps = [1_790_000_030.0, 1_790_000_010.0, 1_790_000_040.0, 1_790_000_020.0]
    await store.append([full_event(ts=ts, visit_id=int(ts)) for ts in stamps])
    await store.append([full_event(ts=1_790_000_000.0, site_id="other")])
    assert [e.ts for e in await store.events("site")] == sorted(stamps)
    assert [e.ts for e in await store.events("site", limit=2)] == sorted(stamps)[:2]
    assert [e.site_id for e in await store.events("other")] == ["other"]
    assert await store.events("nobody") == []


async def test_export_batches_oldest_first(store: EventStore) -> None:
    assert [batch async for batch in store.export_batches(10)] == []
    stamps = [1_790_000_000.0 + (i * 7919 % 25) for i in range(25)]  # shuffled
    await store.append(
        [full_event(ts=ts, visit_id=i, site_id=f"s{i % 3}") for i, ts in enumerate(stamps)]
    )
    batches = [batch async for batch in store.export_batches(10)]
    assert [len(batch) for batch in batches] == [10, 10, 5]
    exported = [event for batch in batches for event in batch]
    assert [e.ts for e in exported] == sorted(stamps)
    assert {e.site_id for e in exported} == {"s0", "s1", "s2"}
    assert exported[0] == full_event(ts=stamps[0], visit_id=0, site_id="s0")


async def test_export_batches_stopped_early(store: EventStore) -> None:
    await store.append([full_event(ts=1_790_000_000.0 + i, visit_id=i) for i in range(30)])
    batches = store.export_batches(10)
    async for batch in batches:
        assert len(batch) == 10
        break
    await batches.aclose()
    assert await store.count() == 30  # the store is usable afterwards


async def test_recent_visits(store: EventStore) -> None:
    await store.append(
        [
            # visitor 1: a pageview in visit 10, later a custom event in visit 11
            full_event(ts=990.0, visitor_id=1, visit_id=10, pathname="/first"),
            full_event(ts=1000.0, visitor_id=1, visit_id=10),
            full_event(ts=1100.0, visitor_id=1, visit_id=11, name="signup", pathname="/x"),
            # visitor 2: only custom events
            full_event(ts=1050.0, visitor_id=2, visit_id=20, name="signup"),
            # visitor 3: only before `since`
            full_event(ts=500.0, visitor_id=3, visit_id=30),
            # visitor 4: an old pageview, a recent one exactly at `since`
            full_event(ts=100.0, visitor_id=4, visit_id=39),
            full_event(ts=900.0, visitor_id=4, visit_id=40),
            # the same visitor id on another site is another visitor
            full_event(ts=1200.0, visitor_id=1, visit_id=90, site_id="other"),
        ]
    )
    visits = {(v.site_id, v.visitor_id): v for v in await store.recent_visits(900.0)}
    assert set(visits) == {("site", 1), ("site", 2), ("site", 4), ("other", 1)}
    one = visits["site", 1]
    assert (one.visit_id, one.last_ts, one.last_pageview_ts) == (11, 1100.0, 1000.0)
    two = visits["site", 2]
    assert (two.visit_id, two.last_ts, two.last_pageview_ts) == (20, 1050.0, None)
    four = visits["site", 4]
    assert (four.visit_id, four.last_ts, four.last_pageview_ts) == (40, 900.0, 900.0)
    other = visits["other", 1]
    assert (other.visit_id, other.last_ts, other.last_pageview_ts) == (90, 1200.0, 1200.0)
    # The page of the latest pageview (what live per-page counts are rebuilt from).
    assert [visits[key].last_pageview_path for key in sorted(visits)] == [
        "/pricing",
        "/pricing",
        None,
        "/pricing",
    ]
    assert await store.recent_visits(2000.0) == []


async def test_recent_visits_latest_ignores_append_order(store: EventStore) -> None:
    await store.append([full_event(ts=2000.0, visitor_id=5, visit_id=52)])
    await store.append([full_event(ts=1500.0, visitor_id=5, visit_id=51)])  # late arrival
    (visit,) = await store.recent_visits(1000.0)
    assert (visit.visit_id, visit.last_ts, visit.last_pageview_ts) == (52, 2000.0, 2000.0)


async def test_purge_sites(store: EventStore) -> None:
    await store.append([full_event(site_id=s) for s in ("a", "a", "b", "c")])
    assert await store.purge_sites(["a", "b", "unknown"]) == 3
    assert await store.count() == 1
    assert await store.count("c") == 1
    assert await store.purge_sites([]) == 0
    assert await store.purge_sites(["a"]) == 0


async def test_delete_before_keeps_newer_events_and_other_sites(store: EventStore) -> None:
    """Retention: years-old backfill (PostgreSQL: the default partition), months-old events
    (their own partitions) and recent ones; the cutoff itself is kept."""
    cutoff = NOW - 30 * DAY
    stamps = [NOW - 3 * 365 * DAY, NOW - 95 * DAY, NOW - 40 * DAY, cutoff - 0.5, cutoff, NOW]
    await store.append([full_event(ts=ts, visit_id=i) for i, ts in enumerate(stamps)])
    await store.append([full_event(ts=ts, site_id="other") for ts in stamps])
    assert await store.delete_before("site", cutoff) == 4
    assert [e.visit_id for e in await store.events("site")] == [4, 5]
    assert await store.count("other") == len(stamps)
    assert await store.delete_before("site", cutoff) == 0
    assert await store.delete_before("unknown", NOW) == 0


async def test_delete_before_works_in_chunks(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB deletes a bounded number of rows per statement (PostgreSQL: a month at a time)."""
    monkeypatch.setattr("footfall.storage.duckdb_events._DELETE_CHUNK", 1000)
    batch = [full_event(ts=NOW - 40 * DAY - i * 600, visitor_id=i) for i in range(5000)]
    await store.append(batch)
    await store.append([full_event(ts=NOW)])
    assert await store.delete_before("site", NOW - 1) == 5000
    assert await store.count("site") == 1


async def test_recent_event_ids(store: EventStore) -> None:
    await store.append(
        [
            full_event(ts=NOW - 7200, event_id="old"),
            full_event(ts=NOW - 60, event_id="recent"),
            full_event(ts=NOW - 30, event_id=None),
            full_event(ts=NOW, site_id="other", event_id="recent"),
        ]
    )
    ids = sorted(await store.recent_event_ids(NOW - 3600))
    assert [(site, eid) for site, eid, _ in ids] == [("other", "recent"), ("site", "recent")]
    assert abs(ids[1][2] - (NOW - 60)) < 1e-5


async def test_append_of_nothing(store: EventStore) -> None:
    await store.append([])
    assert await store.count() == 0


async def test_large_batch(store: EventStore) -> None:
    batch = [full_event(ts=1_790_000_000.0 + i / 1000, visitor_id=i) for i in range(5000)]
    await store.append(batch)
    assert await store.count("site") == 5000


async def test_backfilled_and_future_events_are_stored(store: EventStore) -> None:
    """Years-old backfill (PostgreSQL: the default partition), two months ahead (a partition
    created at open) and a year ahead (the default partition again) are all accepted."""
    stamps = [NOW - 3 * 365 * DAY, NOW - 40 * DAY, NOW, NOW + 61 * DAY, NOW + 365 * DAY]
    await store.append([full_event(ts=ts, visit_id=i) for i, ts in enumerate(stamps)])
    back = await store.events("site")
    assert [e.visit_id for e in back] == [0, 1, 2, 3, 4]
    for event, ts in zip(back, stamps, strict=True):
        assert abs(event.ts - ts) < 1e-6


async def test_ping(store: EventStore) -> None:
    await store.ping()


async def test_persistence_across_close_and_reopen(open_store: Opener) -> None:
    first = await open_store()
    await first.append([full_event(), full_event(site_id="b")])
    await first.close()
    second = await open_store()  # migrating again is a no-op
    try:
        assert await second.count() == 2
        (back,) = await second.events("b")
        assert back.props == full_event().props
    finally:
        await second.close()


# --- PostgreSQL only ------------------------------------------------------------------------


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.open(pg_url)
    yield store
    await store.close()


@pytest.fixture
async def admin(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database, for looking behind the store's back."""
    con = await asyncpg.connect(pg_url)
    await con.execute("SET TimeZone = 'UTC'")
    yield con
    await con.close()


def month_name(ts: float, months_later: int = 0) -> str:
    moment = time.gmtime(ts)
    year, month0 = divmod(moment.tm_year * 12 + moment.tm_mon - 1 + months_later, 12)
    return f"events_p{year:04d}_{month0 + 1:02d}"


async def partitions(admin: asyncpg.Connection) -> set[str]:
    rows = await admin.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass"
    )
    return {row["relname"] for row in rows}


async def partition_of(admin: asyncpg.Connection, visit_id: int) -> str:
    name: str = await admin.fetchval(
        "SELECT tableoid::regclass::text FROM events WHERE visit_id = $1", visit_id
    )
    return name


def test_connection_dsn() -> None:
    assert connection_dsn("postgresql://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"
    assert connection_dsn("postgresql+asyncpg://u@h/db") == "postgresql://u@h/db"
    assert connection_dsn("postgres://u@h/db") == "postgres://u@h/db"
    with pytest.raises(ValueError):
        connection_dsn("sqlite:///x.db")


async def test_opens_a_sqlalchemy_asyncpg_url(pg_url: str) -> None:
    store = await PostgresEventStore.open(pg_url.replace("postgresql://", "postgresql+asyncpg://"))
    await store.ping()
    await store.close()
    await store.close()  # idempotent


async def test_schema_is_partitioned_by_month_with_a_default(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    strategy = await admin.fetchval(
        "SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'events'::regclass"
    )
    assert strategy == "r"
    expected = {"events_default"} | {month_name(NOW, k) for k in range(3)}
    assert await partitions(admin) == expected
    bound = await admin.fetchval(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = $1",
        month_name(NOW),
    )
    start = time.strftime("%Y-%m-01", time.gmtime(NOW))
    assert bound.startswith(f"FOR VALUES FROM ('{start} 00:00:00+00')")
    assert await admin.fetchval("SELECT max(version) FROM footfall_events_schema") == 2


async def test_indexes_on_the_parent_and_every_partition(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    parent = {
        row["indexname"]: row["indexdef"]
        for row in await admin.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
        )
    }
    assert "USING brin (ts)" in parent["events_ts_brin"]
    assert "USING btree (site_id, ts)" in parent["events_site_ts"]
    for table in await partitions(admin):
        defs = [
            row["indexdef"]
            for row in await admin.fetch(
                "SELECT indexdef FROM pg_indexes WHERE tablename = $1", table
            )
        ]
        assert any("USING brin (ts)" in d for d in defs), table
        assert any("USING btree (site_id, ts)" in d for d in defs), table


async def test_drop_partitions_before_drops_whole_months_that_ended(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    """Retention by whole partitions: months that ended by the cutoff go, with their rows;
    the month the cutoff falls in, later months and the default partition stay."""
    moment = time.gmtime(NOW - 4 * 31 * DAY)
    starts = []  # the first instants of four months ago and of the two months after it
    for k in range(3):
        year, month0 = divmod(moment.tm_year * 12 + moment.tm_mon - 1 + k, 12)
        starts.append(float(calendar.timegm((year, month0 + 1, 1, 0, 0, 0))))
    await pg.ensure_partitions(starts[0])  # that month and the two after it
    old = [month_name(start) for start in starts]
    assert set(old) <= await partitions(admin)
    stamps = [starts[0] + DAY, starts[1] + DAY, NOW - 3 * 365 * DAY, NOW]
    await pg.append([full_event(ts=ts, visit_id=i) for i, ts in enumerate(stamps)])
    cutoff = starts[2] + DAY  # within the third of those months
    assert await pg.drop_partitions_before(cutoff) == old[:2]
    remaining = await partitions(admin)
    assert not set(old[:2]) & remaining
    assert {old[2], "events_default", month_name(NOW)} <= remaining
    # The rows of the dropped months are gone; the default partition keeps its rows (for
    # `delete_before`), and so do newer months.
    assert sorted(e.visit_id for e in await pg.events("site")) == [2, 3]
    assert await pg.drop_partitions_before(cutoff) == []


async def test_events_land_in_their_partition(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    await pg.append(
        [
            full_event(ts=NOW, visit_id=1),
            full_event(ts=NOW - 3 * 365 * DAY, visit_id=2),
            full_event(ts=NOW + 400 * DAY, visit_id=3),
        ]
    )
    assert await partition_of(admin, 1) == month_name(NOW)
    assert await partition_of(admin, 2) == "events_default"
    assert await partition_of(admin, 3) == "events_default"


async def test_timestamps_are_utc_instants_and_props_jsonb(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    await pg.append([full_event(ts=1_790_000_000.123456)])
    row = await admin.fetchrow(
        "SELECT ts::text AS ts, props->>'plan' AS plan, jsonb_typeof(props->'n') AS n_type, "
        "pg_typeof(props)::text AS type FROM events"
    )
    assert row["ts"] == "2026-09-21 14:13:20.123456+00"
    assert (row["plan"], row["n_type"], row["type"]) == ("pro", "number", "jsonb")
    await pg.append([full_event(props={}, visit_id=2)])
    assert await admin.fetchval("SELECT props IS NULL FROM events WHERE visit_id = 2")


async def test_ensure_partitions_is_idempotent(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    before = await partitions(admin)
    assert await pg.ensure_partitions(NOW) == []
    assert await partitions(admin) == before
    created = await pg.ensure_partitions(NOW, months_ahead=4)
    assert created == [month_name(NOW, 3), month_name(NOW, 4)]
    assert await partitions(admin) == before | set(created)


async def test_ensure_partitions_from_several_instances_at_once(
    pg_url: str, admin: asyncpg.Connection
) -> None:
    """Three instances create the same partitions while appends and queries run: each partition
    is created exactly once, and no append or query fails (nor deadlocks)."""
    stores = [await PostgresEventStore.open(pg_url) for _ in range(3)]
    try:
        appended = 0
        for years in (1, 2, 3):
            later = NOW + years * 365 * DAY
            batches = [
                [full_event(ts=later + DAY * (k + 10 * b), visit_id=k) for k in range(40)]
                for b in range(3)
            ]
            results = await asyncio.gather(
                *(s.ensure_partitions(later, months_ahead=3) for s in stores),
                *(stores[b].append(batch) for b, batch in enumerate(batches)),
                stores[1].recent_visits(NOW),
                stores[2].count(),
            )
            appended += sum(len(batch) for batch in batches)
            created = [name for result in results[:3] for name in result]
            expected = [month_name(later, k) for k in range(4)]
            assert sorted(created) == sorted(expected)  # each created exactly once
            assert set(expected) <= await partitions(admin)
            assert await stores[1].count() == appended
        in_default = await admin.fetchval("SELECT count(*) FROM events_default")
        assert in_default == 0  # every row was routed to, or moved into, its month
    finally:
        for s in stores:
            await s.close()


async def test_new_partition_takes_over_rows_from_the_default_partition(
    pg: PostgresEventStore, admin: asyncpg.Connection
) -> None:
    """A month whose events reached the default partition before its partition existed: the
    partition is still created, and those rows move into it."""
    later = NOW + 400 * DAY
    await pg.append([full_event(ts=later, visit_id=1), full_event(ts=NOW - 900 * DAY, visit_id=2)])
    assert await partition_of(admin, 1) == "events_default"
    assert await pg.ensure_partitions(later, months_ahead=0) == [month_name(later)]
    assert await partition_of(admin, 1) == month_name(later)
    assert await partition_of(admin, 2) == "events_default"
    assert await pg.count() == 2
    (back,) = await pg.recent_visits(later - 1)
    assert back.last_ts == pytest.approx(later, abs=1e-6)


async def test_queries_during_a_move_from_the_default_partition_see_every_row(
    pg_url: str, admin: asyncpg.Connection
) -> None:
    """A query that starts while a new partition takes rows over from the default partition
    sees them once, wherever they are: never gone from the default partition and not yet in
    a partition the query knows of (a count that dips is a stats answer that is wrong)."""
    store = await PostgresEventStore.open(pg_url)
    try:
        for years in (2, 3, 4, 5, 6):
            later = NOW + years * 365 * DAY
            await store.append([full_event(ts=later + k, visit_id=k) for k in range(200)])
        total = await store.count()
        seen: list[int] = []
        moving = True

        async def count_while_moving() -> None:
            while moving:
                seen.append(await store.count("site"))

        readers = [asyncio.create_task(count_while_moving()) for _ in range(4)]
        try:
            for years in (2, 3, 4, 5, 6):
                created = await store.ensure_partitions(NOW + years * 365 * DAY, months_ahead=0)
                assert created == [month_name(NOW + years * 365 * DAY)]
                await asyncio.sleep(0)  # let the readers run between moves too
        finally:
            moving = False
            await asyncio.gather(*readers)
        assert await admin.fetchval("SELECT count(*) FROM events_default") == 0
        assert len(seen) > 10
        assert set(seen) == {total}
    finally:
        await store.close()


async def test_partition_creation_gives_up_on_a_busy_table(
    pg_url: str, admin: asyncpg.Connection
) -> None:
    """A long append or query holding the tables: partition creation neither waits long nor
    fails; it is done by the next call."""
    store = await PostgresEventStore.open(pg_url, lock_timeout=0.2)
    later = NOW + 500 * DAY
    try:
        for lock in (
            "LOCK TABLE ONLY events IN ROW EXCLUSIVE MODE",  # as an append holds it
            "LOCK TABLE ONLY events_default IN ACCESS SHARE MODE",  # as a query holds it
        ):
            async with admin.transaction():
                await admin.execute(lock)
                started = time.monotonic()
                assert await store.ensure_partitions(later, months_ahead=0) == []
                assert time.monotonic() - started < 2
            assert month_name(later) not in await partitions(admin)
        assert await store.ensure_partitions(later, months_ahead=0) == [month_name(later)]
    finally:
        await store.close()


async def test_append_is_one_transaction(pg: PostgresEventStore) -> None:
    good = [full_event(visit_id=i) for i in range(100)]
    bad = full_event(visit_id=100, pathname=None)  # violates NOT NULL
    with pytest.raises(asyncpg.NotNullViolationError):
        await pg.append([*good, bad, *good])
    assert await pg.count() == 0
    await pg.append(good)  # the pool is fine afterwards
    assert await pg.count() == 100


async def test_characters_postgresql_cannot_store_do_not_fail_the_batch(
    pg: PostgresEventStore,
) -> None:
    await pg.append(
        [
            full_event(visit_id=1, pathname="/a\x00b", props={"k\x00": "v\x00"}),
            full_event(visit_id=2, referrer="https://x/\ud800"),
            full_event(visit_id=3),
        ]
    )
    back = {e.visit_id: e for e in await pg.events("site")}
    assert back[1].pathname == "/a\ufffdb"
    assert back[1].props == {"k\ufffd": "v\ufffd"}
    assert back[2].referrer == "https://x/\ufffd"
    assert back[3] == full_event(visit_id=3)


async def test_unreachable_server_at_open() -> None:
    with pytest.raises(BackendUnavailable) as caught:
        await PostgresEventStore.open("postgresql://postgres@127.0.0.1:1/x")
    assert caught.value.backend == "events"
    assert caught.value.status == 503


async def test_terminated_connections_are_replaced(
    pg: PostgresEventStore, admin: asyncpg.Connection, pg_url: str
) -> None:
    """What a server restart does to the pool: its sessions end; the store carries on."""
    await pg.ping()
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    await asyncio.sleep(0.1)
    await pg.ping()
    await pg.append([full_event()])
    assert await pg.count() == 1


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    running = TcpProxy(urlsplit(pg_url).port or 5432)
    yield running
    running.close()


async def test_outage_raises_backend_unavailable_and_the_store_recovers(
    proxy: TcpProxy, pg_url: str
) -> None:
    store = await PostgresEventStore.open(proxy.url(pg_url), acquire_timeout=1.0)
    try:
        await store.append([full_event()])
        proxy.cut()
        for call in (
            store.ping,
            lambda: store.append([full_event()]),
            lambda: store.recent_visits(0.0),
            lambda: store.count(),
            lambda: store.events("site"),
            lambda: store.purge_sites(["site"]),
            lambda: store.ensure_partitions(NOW),
        ):
            with pytest.raises(BackendUnavailable):
                await call()
        proxy.restore()  # same port: the server is back
        await store.ping()
        await store.append([full_event()])
        assert await store.count() == 2
    finally:
        await store.close()


async def test_unresponsive_server_times_out_as_backend_unavailable(
    proxy: TcpProxy, pg_url: str
) -> None:
    store = await PostgresEventStore.open(
        proxy.url(pg_url), command_timeout=0.5, acquire_timeout=0.5, connect_timeout=0.5
    )
    try:
        proxy.flowing.clear()  # packets vanish; nothing answers
        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            await store.ping()
        with pytest.raises(BackendUnavailable):
            await store.count()
        assert time.monotonic() - started < 5
        proxy.flowing.set()
        for _ in range(20):  # the timed-out connection is replaced
            with contextlib.suppress(BackendUnavailable):
                await store.ping()
                break
            await asyncio.sleep(0.1)
        await store.ping()
    finally:
        proxy.flowing.set()
        await store.close()
