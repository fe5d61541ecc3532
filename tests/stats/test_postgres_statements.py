"""PostgreSQL's stats statements (`stats.sql`, `build_postgres`: one pass with window functions
and hash aggregates) answer exactly what DuckDB's (the per-visit aggregate joined back to the
events) answer, on the same events.

Data: the hand-made set of `dataset.py` and the rollup suite's generated one (ties in time
within a visit with different values, missing attributes, visits without pageviews, returning
visitors, a second site). Queries: each statement shape of PostgreSQL — events only, one row
per visit (visit dimensions only), per event with its visit (event dimensions or filters with
visit metrics, timeseries) — over every dimension, entry and exit pages, goals, filters of both
scopes together, several time zones and intervals, paging.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from footfall.errors import BadRequest
from footfall.stats import Kind, answer, parse_query
from footfall.stats.dimensions import DIMENSIONS, GOAL
from footfall.stats.goals import with_goals
from footfall.stats.query import StatsQuery
from footfall.storage.duckdb_events import DuckDBEventStore
from footfall.storage.events import EventStore
from footfall.storage.goals import Goal
from tests.backends import open_event_store
from tests.stats.dataset import NOW, NY, SITE, events
from tests.stats.test_rollup import ALL_METRICS, generated

pytest_plugins = ["tests.backends"]

GOALS = (
    Goal("g1", SITE, "pageview", "/blog/*", "Read the blog", NOW),
    Goal("g2", SITE, "event", "signup", "Signed up", NOW),
    Goal("g3", SITE, "pageview", "/pricing", "Pricing", NOW),
)
ZONES = ("UTC", NY, "Asia/Kathmandu")
FILTERS = (
    None,
    '[["is", "visit:source", ["Google", "Direct / None"]]]',
    '[["is_not", "visit:country", ["US"]], ["is", "visit:device", ["desktop"]]]',
    '[["contains", "event:page", ["blog"]]]',
    '[["is", "event:page", ["/", "/docs"]], ["is", "visit:source", ["Google"]]]',
    '[["is", "visit:entry_page", ["/"]], ["is_not", "event:name", ["signup"]]]',
    '[["contains", "visit:exit_page", ["blog", "pricing"]]]',
    '[["is", "event:goal", ["Signed up"]]]',
    '[["is_not", "event:goal", ["Read the blog"]], ["is", "visit:browser", ["Chrome"]]]',
)
METRICS = (ALL_METRICS, "visitors,pageviews,events", "visitors,visits")


def combinations() -> Iterator[tuple[Kind, list[tuple[str, str]]]]:
    for zone, filters, metrics in itertools.product(ZONES, FILTERS, METRICS):
        common = [("period", "30d"), ("timezone", zone), ("metrics", metrics)]
        if filters is not None:
            common.append(("filters", filters))
        yield Kind.AGGREGATE, common
        for interval in ("hour", "day", "week"):
            yield Kind.TIMESERIES, [*common, ("interval", interval)]
        for name in (*DIMENSIONS, "event:props:plan"):
            yield Kind.BREAKDOWN, [*common, ("property", name)]
            yield Kind.BREAKDOWN, [*common, ("property", name), ("limit", "2"), ("page", "2")]
    goal_metrics = [("metrics", "visitors,events,conversions,conversion_rate")]
    yield Kind.BREAKDOWN, [("period", "30d"), ("property", GOAL), *goal_metrics]


def queries(rng: random.Random, count: int) -> Iterator[StatsQuery]:
    """The unfiltered combinations of the first zone, then `count` others drawn with `rng`."""
    combos = list(combinations())
    first = [c for c in combos if ("timezone", ZONES[0]) in c[1] and len(c[1]) < 5]
    rest = [c for c in combos if c not in first]
    for kind, params in [*first, *rng.sample(rest, min(count, len(rest)))]:
        try:
            query = parse_query(kind, SITE, params, NOW)
        except BadRequest:  # e.g. too many buckets, or a goal metric without a goal
            continue
        yield with_goals(query, GOALS) if query.needs_goals else query


@pytest.fixture
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[EventStore, EventStore]]:
    postgres = await open_event_store("postgres", request, tmp_path)
    duckdb = DuckDBEventStore(tmp_path / "events.duckdb")  # no rollup built: the raw SQL
    data = [*events(), *generated(11)]
    try:
        await postgres.append(data)
        await duckdb.append(data)
        yield postgres, duckdb
    finally:
        await postgres.close()
        await duckdb.close()


async def test_postgres_answers_what_duckdb_answers(
    stores: tuple[EventStore, EventStore],
) -> None:
    postgres, duckdb = stores
    compared = 0
    shapes: set[tuple[Kind, bool, bool]] = set()
    for query in queries(random.Random(3), 700):
        expected = await answer(duckdb, query)
        got = await answer(postgres, query)
        assert got == expected, json.dumps(
            {"query": str(query), "postgres": got, "duckdb": expected}, default=str
        )[:3000]
        compared += 1
        event_scope = any(d.scope == "event" for d in query.dimensions)
        shapes.add((query.kind, query.needs_visits, event_scope))
    assert compared > 500
    # Every statement shape was compared (see `build_postgres`).
    assert (Kind.BREAKDOWN, True, False) in shapes  # one row per visit
    assert (Kind.BREAKDOWN, True, True) in shapes  # per event with its visit
    assert (Kind.TIMESERIES, True, False) in shapes  # per event with its visit
    assert (Kind.AGGREGATE, True, False) in shapes  # per visit, no dimension
    assert (Kind.AGGREGATE, False, False) in shapes  # events only
    assert (Kind.TIMESERIES, False, True) in shapes
