"""Country, region and city breakdowns and filters, on both event stores, over the hand-made
data set of `dataset.py` (each visit's location comes from its browser profile there).

In New York time the 7-day range holds V1, V2, V3, V1b, V4 and V8; 30 days add V5 and V7;
12 months add V6, V9 and V10. Locations: V1, V1b, V9, V10 US-CA San Francisco; V2, V7 DE-BE
Berlin; V3 US-NY New York; V4 NL-NH Amsterdam; V5 US-CA without a city; V6 GB only; V8 none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.stats import Kind, answer, parse_query
from footfall.storage.events import EventStore
from tests.backends import open_event_store
from tests.stats.dataset import NOW, NY, SITE, events

pytest_plugins = ["tests.backends"]


@pytest.fixture(params=["duckdb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    store = await open_event_store(request.param, request, tmp_path)
    await store.append(events())
    yield store
    await store.close()


async def ask(store: EventStore, kind: Kind, **params: Any) -> dict[str, Any]:
    query = parse_query(kind, SITE, [(k, str(v)) for k, v in params.items()], NOW)
    return await answer(store, query)


async def rows(store: EventStore, prop: str, period: str, filters: str = "") -> list[Any]:
    params = {"property": prop, "period": period, "timezone": NY}
    params["metrics"] = "visitors,visits,pageviews"
    if filters:
        params["filters"] = filters
    body = await ask(store, Kind.BREAKDOWN, **params)
    return [(r["value"], r["visitors"], r["visits"], r["pageviews"]) for r in body["results"]]


@pytest.mark.parametrize(
    ("prop", "period", "expected"),
    [
        # (value, visitors, visits, pageviews)
        (
            "visit:country",
            "7d",
            [("US", 2, 3, 6), ("(none)", 1, 1, 0), ("DE", 1, 1, 1), ("NL", 1, 1, 1)],
        ),
        (
            "visit:region",
            "7d",
            [
                ("(none)", 1, 1, 0),  # V8
                ("DE-BE", 1, 1, 1),  # V2
                ("NL-NH", 1, 1, 1),  # V4
                ("US-CA", 1, 2, 4),  # V1 (3 pageviews), V1b (1)
                ("US-NY", 1, 1, 2),  # V3
            ],
        ),
        (
            "visit:city",
            "7d",
            [
                ("(none)", 1, 1, 0),
                ("Amsterdam", 1, 1, 1),
                ("Berlin", 1, 1, 1),
                ("New York", 1, 1, 2),
                ("San Francisco", 1, 2, 4),
            ],
        ),
        (
            "visit:region",
            "30d",
            [
                ("US-CA", 2, 3, 5),  # V1, V1b, V5
                ("(none)", 1, 1, 0),
                ("DE-BE", 1, 2, 2),  # V2, V7
                ("NL-NH", 1, 1, 1),
                ("US-NY", 1, 1, 2),
            ],
        ),
        (
            "visit:city",
            "30d",
            [
                ("(none)", 2, 2, 1),  # V5 (a region, no city), V8
                ("Amsterdam", 1, 1, 1),
                ("Berlin", 1, 2, 2),
                ("New York", 1, 1, 2),
                ("San Francisco", 1, 2, 4),
            ],
        ),
        (
            "visit:country",
            "12mo",
            [
                ("US", 5, 6, 9),  # V1, V1b, V3, V5, V9, V10
                ("(none)", 1, 1, 0),
                ("DE", 1, 2, 2),
                ("GB", 1, 1, 1),  # V6
                ("NL", 1, 1, 1),
            ],
        ),
        (
            "visit:city",
            "12mo",
            [
                ("(none)", 3, 3, 2),  # V5, V6 (country only), V8
                ("San Francisco", 3, 4, 6),  # V1, V1b, V9, V10
                ("Amsterdam", 1, 1, 1),
                ("Berlin", 1, 2, 2),
                ("New York", 1, 1, 2),
            ],
        ),
    ],
)
async def test_breakdown(store: EventStore, prop: str, period: str, expected: list[Any]) -> None:
    assert await rows(store, prop, period) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # visitors, visits, pageviews, events over 30 days
        ('[["is", "visit:city", ["Berlin"]]]', (1, 2, 2, 1)),  # V2, V7 (signup)
        ('[["is", "visit:city", ["(none)"]]]', (2, 2, 1, 1)),  # V5, V8 (signup)
        ('[["is", "visit:region", ["US-CA", "US-NY"]]]', (3, 4, 7, 2)),  # V1, V1b, V3, V5
        ('[["contains", "visit:region", ["US-"]]]', (3, 4, 7, 2)),
        ('[["is_not", "visit:region", ["(none)"]]]', (5, 7, 10, 3)),  # all but V8
        ('[["is", "visit:country", ["DE", "NL"]]]', (2, 3, 3, 1)),  # V2, V7, V4
        ('[["is_not", "visit:country", ["US"]]]', (3, 4, 3, 2)),  # V2, V7, V4, V8
        (  # ANDed: US-CA visits with a known city: V1, V1b
            '[["is", "visit:region", ["US-CA"]], ["is_not", "visit:city", ["(none)"]]]',
            (1, 2, 4, 2),
        ),
        ('[["contains", "visit:city", ["Y"]]]', (1, 1, 2, 0)),  # New York
        ('[["contains", "visit:city", ["york"]]]', (0, 0, 0, 0)),  # case-sensitive
        # Berlin (V2, V7), New York (V3), Amsterdam (V4)
        ('[["contains", "visit:city", ["er", "ork"]]]', (3, 4, 5, 1)),
    ],
)
async def test_filters(store: EventStore, filters: str, expected: tuple[int, ...]) -> None:
    body = await ask(
        store,
        Kind.AGGREGATE,
        period="30d",
        timezone=NY,
        metrics="visitors,visits,pageviews,events",
        filters=filters,
    )
    assert tuple(r["value"] for r in body["results"].values()) == expected


async def test_city_breakdown_within_a_country(store: EventStore) -> None:
    us = '[["is", "visit:country", ["US"]]]'
    assert await rows(store, "visit:city", "30d", us) == [
        ("(none)", 1, 1, 1),  # V5
        ("New York", 1, 1, 2),
        ("San Francisco", 1, 2, 4),
    ]
