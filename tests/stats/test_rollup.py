"""The embedded store's stats rollup answers exactly what the raw SQL answers.

Every check runs the same query twice on the same DuckDB store, through the rollup and through
the raw SQL of `stats.sql` (the rollup turned off for that call), and compares the API answers.
Data: the hand-made set of `dataset.py`, and a generated one (seeded) with visitors spanning
hours, days and midnights in several time zones, returning visitors, ties in time, missing
attributes, visits without pageviews and a second site. Between refreshes the data changes the
ways the rollup has to follow: events after the watermark (late visitors, some with rolled
sums to take back out), backfills before it (pending visitors), deleted sites.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from footfall.errors import BadRequest
from footfall.stats import Kind, answer, parse_query, rollup
from footfall.stats.query import StatsQuery
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import Event
from tests.stats.dataset import NOW, NY, OTHER_SITE, SITE, events

ALL_METRICS = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events"
ZONES = (
    "UTC",
    NY,
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # half-hour daylight saving time
    "Pacific/Chatham",  # +12:45 / +13:45
)
PERIODS: tuple[tuple[str, str | None], ...] = (
    ("day", None),
    ("today", None),
    ("24h", None),
    ("7d", None),
    ("30d", None),
    ("month", None),
    ("last_month", None),
    ("12mo", None),
    ("custom", "2026-08-30,2026-09-20"),
    ("day", "2026-09-20"),
)
SITE_B = "site-rollup-b"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DuckDBEventStore]:
    opened = DuckDBEventStore(tmp_path / "events.duckdb")
    yield opened
    await opened.close()


def queries(site: str, rng: random.Random | None = None, count: int = 0) -> Iterator[StatsQuery]:
    """Every combination of kind, period, zone, interval, breakdown and paging; `count` of
    them drawn with `rng` when given."""
    combos: list[tuple[Kind, list[tuple[str, str]]]] = []
    for (period, date), zone in itertools.product(PERIODS, ZONES):
        common = [("period", period), ("timezone", zone), ("metrics", ALL_METRICS)]
        if date:
            common.append(("date", date))
        combos.append((Kind.AGGREGATE, common))
        combos.append((Kind.AGGREGATE, [*common, ("compare", "previous_period")]))
        for interval in ("hour", "day", "week", "month"):
            combos.append((Kind.TIMESERIES, [*common, ("interval", interval)]))
        for name in rollup.DIMENSIONS:
            combos.append((Kind.BREAKDOWN, [*common, ("property", name)]))
            combos.append((Kind.BREAKDOWN, [*common, ("property", name), ("limit", "2")]))
            combos.append(
                (Kind.BREAKDOWN, [*common, ("property", name), ("limit", "2"), ("page", "2")])
            )
    if rng is not None:
        combos = rng.sample(combos, count)
    for kind, params in combos:
        try:
            yield parse_query(kind, site, params, NOW)
        except BadRequest:  # too many buckets for the interval: not a query
            continue


async def raw_answer(store: DuckDBEventStore, query: StatsQuery) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rollup, "script", lambda *_: None)
        return await answer(store, query)


async def check(store: DuckDBEventStore, found: Iterator[StatsQuery]) -> tuple[int, int]:
    """Compare every query's answers; returns (queries, queries the rollup answered)."""
    total = rolled = 0
    used: list[bool] = []
    rows = rollup.rows

    async def counted(*args: Any) -> Any:
        found = await rows(*args)
        used.append(found is not None)
        return found

    for query in found:
        expected = await raw_answer(store, query)
        used.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(rollup, "rows", counted)
            got = await answer(store, query)
        assert got == expected, json.dumps(
            {"query": str(query), "rollup": got, "raw": expected}, default=str
        )[:3000]
        total += 1
        rolled += all(used)
    return total, rolled


def ts(moment: str) -> float:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()


async def test_hand_made_data_set(store: DuckDBEventStore) -> None:
    await store.append(events())
    await store.refresh_stats_rollup(NOW)
    assert store.stats_rollup_watermark == datetime(2026, 9, 21, 14, 11, 20)  # NOW - LAG
    total, rolled = await check(store, queries(SITE, random.Random(1), 300))
    assert total > 250
    # Minute buckets and some zones' days are raw; everything else goes through the rollup.
    assert rolled > 0.8 * total


def generated(seed: int, sites: tuple[str, ...] = (SITE, SITE_B)) -> list[Event]:
    """Visits over the 45 days before NOW: 1 to 8 events, seconds to hours apart; a third of
    the visitors come back (hours to weeks later); ties in time; attributes sometimes missing."""
    rng = random.Random(seed)
    sources = [("https://www.google.com/", "Google"), ("https://t.co/", "Twitter"), (None, None)]
    software = [
        ("Chrome", "Windows", "desktop", "US"),
        ("Firefox", "Linux", "desktop", "DE"),
        ("Mobile Safari", "iOS", "mobile", None),
        (None, None, None, "FR"),
    ]
    pages = ["/", "/pricing", "/docs", "/blog/a", "/blog/b"]
    out: list[Event] = []
    visit_ids = itertools.count(1)
    for site in sites:
        for visitor in range(1, 80):
            start = NOW - rng.uniform(0, 45 * 86_400)
            for _ in range(1 + (rng.random() < 0.35) * rng.randint(1, 3)):
                visit = next(visit_ids)
                browser, os_, device, country = rng.choice(software)
                referrer, source = rng.choice(sources)
                moment = start
                for index in range(rng.choice([1, 1, 2, 3, 5, 8])):
                    if index:
                        moment += rng.choice([0, 0, 5, 60, 900, 1800, 5400])  # ties, hours
                    custom = index and rng.random() < 0.2
                    out.append(
                        Event(
                            ts=min(moment, NOW - 1),
                            site_id=site,
                            visitor_id=visitor,
                            visit_id=visit,
                            name="signup" if custom else "pageview",
                            hostname="example.com",
                            pathname=rng.choice(pages),
                            referrer=referrer if index == 0 else None,
                            referrer_source=source if index == 0 else rng.choice([None, "X"]),
                            country=country,
                            browser=browser,
                            os=os_,
                            device_type=device,
                            props={"plan": "pro"} if custom else {},
                        )
                    )
                start = moment + rng.choice([3600, 20_000, 86_400, 7 * 86_400])
    rng.shuffle(out)
    return out


async def test_generated_data_through_refreshes_backfills_and_deletions(
    store: DuckDBEventStore,
) -> None:
    rng = random.Random(7)
    data = generated(11)
    earlier = NOW - 3 * 86_400
    await store.append([e for e in data if e.ts < earlier])
    # Refreshed three days back: later events are late, and their visitors often have rolled
    # sums (a visit running across the watermark, a visitor coming back).
    await store.refresh_stats_rollup(earlier)
    assert store.stats_rollup_watermark is not None
    await store.append([e for e in data if e.ts >= earlier])
    for site in (SITE, SITE_B):
        total, rolled = await check(store, queries(site, rng, 60))
        assert rolled > 0.7 * total

    # A backfill before the watermark: its visitors are pending, the site runs raw...
    backfill = [
        Event(
            ts=NOW - 20 * 86_400 + i,
            site_id=SITE,
            visitor_id=visitor,
            visit_id=9000 + visitor,
            name="pageview",
            hostname="example.com",
            pathname="/old",
        )
        for i, visitor in enumerate((1, 2, 3, 500))
    ]
    await store.append(backfill)
    total, rolled = await check(store, queries(SITE, rng, 40))
    assert rolled == 0
    total, rolled = await check(store, queries(SITE_B, rng, 40))  # the other site does not
    assert rolled > 0
    # ... until the next refresh recomputes them.
    await store.refresh_stats_rollup(NOW)
    total, rolled = await check(store, queries(SITE, rng, 60))
    assert rolled > 0.7 * total

    await store.purge_sites([SITE_B])
    total, rolled = await check(store, queries(SITE_B, rng, 30))
    assert total > 0
    assert await store.count(SITE_B) == 0


async def test_the_rollup_survives_a_restart_and_rebuilds_for_a_new_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBEventStore(path)
    await store.append(generated(3, (SITE,)))
    await store.refresh_stats_rollup(NOW)
    watermark = store.stats_rollup_watermark
    await store.close()

    store = DuckDBEventStore(path)
    try:
        assert store.stats_rollup_watermark == watermark
        _, rolled = await check(store, queries(SITE, random.Random(5), 40))
        assert rolled > 0
    finally:
        await store.close()

    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {rollup.STATE} SET version = version - 1")
    con.close()
    store = DuckDBEventStore(path)
    try:
        assert store.stats_rollup_watermark is None  # rebuilt from the events when refreshed
        _, rolled = await check(store, queries(SITE, random.Random(5), 20))
        assert rolled == 0
        await store.refresh_stats_rollup(NOW)
        _, rolled = await check(store, queries(SITE, random.Random(6), 40))
        assert rolled > 0
    finally:
        await store.close()


async def test_refreshing_in_small_steps_gives_the_same_sums(
    store: DuckDBEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps of a few events each: visitors and hours recomputed over and over."""
    monkeypatch.setattr(rollup, "CHUNK_EVENTS", 40)
    await store.append(generated(5, (SITE, OTHER_SITE)))
    await store.refresh_stats_rollup(NOW)
    total, rolled = await check(store, queries(SITE, random.Random(9), 50))
    assert rolled > 0.7 * total


async def test_an_empty_store_and_a_site_without_events(store: DuckDBEventStore) -> None:
    await store.refresh_stats_rollup(NOW)
    assert store.stats_rollup_watermark is None
    await store.append(generated(1, (SITE,)))
    await store.refresh_stats_rollup(NOW)
    _, rolled = await check(store, queries("no-such-site", random.Random(2), 30))
    assert rolled > 0


class _CountingCursor:
    """The store's stats cursor, counting the statements it runs."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.executed = 0

    def execute(self, sql: str, params: Any = None) -> Any:
        self.executed += 1
        return self.cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


async def test_the_dashboards_queries_share_their_raw_part(store: DuckDBEventStore) -> None:
    """Consecutive queries of one site and range reuse the results of the statements they
    share; any other call on the store in between (here an append) makes the next one run
    them again, and every answer stays the raw SQL's."""
    data = generated(13, (SITE,))
    earlier = NOW - 86_400
    await store.append([e for e in data if e.ts < earlier])
    await store.refresh_stats_rollup(earlier)
    await store.append([e for e in data if e.ts >= earlier])
    params = [("period", "30d"), ("timezone", NY), ("metrics", ALL_METRICS)]
    dashboard = [parse_query(Kind.AGGREGATE, SITE, params, NOW)] + [
        parse_query(Kind.BREAKDOWN, SITE, [*params, ("property", name)], NOW)
        for name in rollup.DIMENSIONS
    ]
    expected = [await raw_answer(store, query) for query in dashboard]
    counting = _CountingCursor(store._stats_cursor)
    store._stats_cursor = counting  # type: ignore[assignment]
    got = []
    for query in dashboard:
        got.append(await answer(store, query))
    assert got == expected
    first = rollup.script(store, dashboard[0], dashboard[0].range)
    assert first is not None
    # The first query ran every statement, the others only their own.
    assert counting.executed == len(first.statements) + (len(dashboard) - 1) * (
        len(first.statements) - first.shared
    )

    late = Event(
        ts=NOW - 30,
        site_id=SITE,
        visitor_id=1,
        visit_id=424242,
        name="pageview",
        hostname="example.com",
        pathname="/late",
        country="ZZ",
    )
    counting.executed = 0
    await store.append([late])
    got_after = await answer(store, dashboard[2])  # by source: visitor 1 has a new visit
    assert counting.executed == len(first.statements)
    assert got_after == await raw_answer(store, dashboard[2])
    assert got_after != got[2]
