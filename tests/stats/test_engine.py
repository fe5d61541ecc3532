"""The stats engine against both event stores, on the hand-made data set of `dataset.py`.

Every expected number is worked out by hand from the table in dataset.py (the comments say
which events count). The suite runs on DuckDB (a temporary file) and PostgreSQL (a fresh
database, `pg_url`); the data goes in through `store.append`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.stats import Kind, answer, parse_query
from footfall.storage.events import Event, EventStore
from tests.backends import open_event_store
from tests.stats.dataset import NOW, NY, SITE, at, events

pytest_plugins = ["tests.backends"]

ALL_METRICS = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events"


@pytest.fixture(params=["duckdb", "postgres"])
async def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    store = await open_event_store(request.param, request, tmp_path)
    yield store
    await store.close()


@pytest.fixture
async def store(empty_store: EventStore) -> EventStore:
    await empty_store.append(events())
    return empty_store


async def ask(store: EventStore, kind: Kind, now: float = NOW, **params: Any) -> dict[str, Any]:
    if isinstance(params.get("filters"), list):
        params["filters"] = json.dumps(params["filters"])
    query = parse_query(kind, SITE, [(k, str(v)) for k, v in params.items()], now)
    return await answer(store, query)


async def totals(store: EventStore, **params: Any) -> dict[str, Any]:
    body = await ask(store, Kind.AGGREGATE, **params)
    return {metric: result["value"] for metric, result in body["results"].items()}


async def rows(store: EventStore, prop: str, metrics: str = "visitors", **params: Any) -> list[Any]:
    body = await ask(store, Kind.BREAKDOWN, property=prop, metrics=metrics, **params)
    assert body["property"] == prop
    names = metrics.split(",")
    if len(names) == 1:
        return [(row["value"], row[names[0]]) for row in body["results"]]
    return [(row["value"], *(row[m] for m in names)) for row in body["results"]]


async def series(store: EventStore, metric: str = "visitors", **params: Any) -> list[Any]:
    body = await ask(store, Kind.TIMESERIES, metrics=metric, **params)
    return [(row["date"], row[metric]) for row in body["results"]]


# --- metrics ------------------------------------------------------------------------------


async def test_every_metric_over_7_days(store: EventStore) -> None:
    # Sep 15-21 in New York: V1, V2, V3, V1b, V4, V8 (V7 is Sep 14, V5 Aug 31 there).
    assert await totals(store, period="7d", timezone=NY, metrics=ALL_METRICS) == {
        "visitors": 5,  # 1, 2, 3, 4, 8
        "visits": 6,
        "pageviews": 8,  # V1 3, V2 1, V3 2, V1b 1, V4 1
        "views_per_visit": 1.33,  # 8 / 6
        "bounce_rate": 33.3,  # V2 and V4 of 6 (V1b has a custom event, V8 no pageview)
        "visit_duration": 71.7,  # (300 + 0 + 90 + 40 + 0 + 0) / 6
        "events": 3,  # signup, download, signup
    }


async def test_every_metric_of_one_day(store: EventStore) -> None:
    # Sep 21 in New York: V1b and V4 only (V3 is still Sep 20 there).
    assert await totals(store, period="day", timezone=NY, metrics=ALL_METRICS) == {
        "visitors": 2,
        "visits": 2,
        "pageviews": 2,
        "views_per_visit": 1.0,
        "bounce_rate": 50.0,
        "visit_duration": 20.0,
        "events": 1,
    }
    # Sep 21 in UTC: V3 too.
    assert await totals(store, period="day", metrics=ALL_METRICS) == {
        "visitors": 3,
        "visits": 3,
        "pageviews": 4,
        "views_per_visit": 1.33,
        "bounce_rate": 33.3,
        "visit_duration": 43.3,  # (90 + 40 + 0) / 3
        "events": 1,
    }


async def test_nothing_in_range(store: EventStore) -> None:
    assert await totals(store, period="day", date="2026-01-01", metrics=ALL_METRICS) == {
        "visitors": 0,
        "visits": 0,
        "pageviews": 0,
        "views_per_visit": 0.0,
        "bounce_rate": 0.0,
        "visit_duration": 0.0,
        "events": 0,
    }


async def test_default_metric_is_visitors(store: EventStore) -> None:
    assert await totals(store, period="7d", timezone=NY) == {"visitors": 5}


# --- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "visitors"),
    [
        ({"period": "day", "timezone": NY}, 2),
        ({"period": "today", "timezone": NY}, 2),
        ({"period": "day", "date": "2026-09-20", "timezone": NY}, 3),  # V1, V2, V3
        ({"period": "day", "date": "2026-09-20"}, 2),  # UTC: V3 is the 21st
        ({"period": "24h"}, 4),  # since Sep 20 14:13:20Z: V2, V3, V1b, V4
        ({"period": "7d", "timezone": NY}, 5),
        ({"period": "30d", "timezone": NY}, 6),  # Aug 23-Sep 21: + V5, V7
        ({"period": "month", "timezone": NY}, 5),  # Sep 1-21: V5 is August there
        ({"period": "month"}, 6),  # UTC: V5 is September 1
        ({"period": "last_month", "timezone": NY}, 2),  # August: V5, V6
        ({"period": "last_month"}, 1),  # UTC: V6
        ({"period": "12mo", "timezone": NY}, 9),  # Oct 2025-: every visitor of the site
        ({"period": "custom", "date": "2026-09-19,2026-09-20", "timezone": NY}, 4),  # 8, 1, 2, 3
        ({"period": "custom", "date": "2026-09-14,2026-09-14", "timezone": NY}, 1),  # V7
    ],
)
async def test_periods(store: EventStore, params: dict[str, str], visitors: int) -> None:
    assert await totals(store, **params) == {"visitors": visitors}


async def test_default_period_is_30_days(store: EventStore) -> None:
    body = await ask(store, Kind.AGGREGATE, timezone=NY)
    assert body["period"] == "30d"
    assert body["from"] == "2026-08-23T00:00:00-04:00"
    assert body["results"] == {"visitors": {"value": 6}}


async def test_range_is_reported_in_the_time_zone(store: EventStore) -> None:
    body = await ask(store, Kind.AGGREGATE, period="12mo", timezone=NY)
    assert (body["from"], body["to"]) == ("2025-10-01T00:00:00-04:00", "2026-09-22T00:00:00-04:00")
    assert body["timezone"] == NY
    assert body["websiteId"] == SITE
    body = await ask(store, Kind.AGGREGATE, period="24h")
    assert (body["from"], body["to"]) == ("2026-09-20T14:13:20+00:00", "2026-09-21T14:13:20+00:00")


async def test_range_boundaries_to_the_microsecond(empty_store: EventStore) -> None:
    # 2026-09-21 in Kolkata (UTC+05:30) is [09-20T18:30Z, 09-21T18:30Z).
    stamps = {
        "before": at("2026-09-20T18:29:59") + 0.999999,
        "first": at("2026-09-20T18:30:00"),
        "last": at("2026-09-21T18:29:59") + 0.999999,
        "after": at("2026-09-21T18:30:00"),
    }
    await empty_store.append(
        [
            Event(
                ts=ts,
                site_id=SITE,
                visitor_id=i,
                visit_id=i,
                name="pageview",
                hostname="h",
                pathname=f"/{name}",
            )
            for i, (name, ts) in enumerate(stamps.items())
        ]
    )
    params = {"period": "day", "date": "2026-09-21", "timezone": "Asia/Kolkata"}
    assert await rows(empty_store, "event:page", **params) == [("/first", 1), ("/last", 1)]
    hours = dict(await series(empty_store, **params))
    assert hours["2026-09-21T00:00:00"] == 1
    assert hours["2026-09-21T23:00:00"] == 1
    assert sum(hours.values()) == 2


# --- compare --------------------------------------------------------------------------------


async def test_compare_with_the_previous_period(store: EventStore) -> None:
    # Previous 7 days (Sep 8-14 in New York): V7 only: 1 visitor, 1 visit, 1 pageview, 1
    # custom event, no bounce, 600 s.
    body = await ask(
        store,
        Kind.AGGREGATE,
        period="7d",
        timezone=NY,
        metrics=ALL_METRICS,
        compare="previous_period",
    )
    assert body["comparison"] == {
        "from": "2026-09-08T00:00:00-04:00",
        "to": "2026-09-15T00:00:00-04:00",
    }
    assert body["results"] == {
        "visitors": {"value": 5, "change": 400.0},
        "visits": {"value": 6, "change": 500.0},
        "pageviews": {"value": 8, "change": 700.0},
        "views_per_visit": {"value": 1.33, "change": 33.3},  # 8/6 against 1
        "bounce_rate": {"value": 33.3, "change": None},  # against 0
        "visit_duration": {"value": 71.7, "change": -88.1},  # 430/6 against 600
        "events": {"value": 3, "change": 200.0},
    }


async def test_compare_one_day_and_month_to_date(store: EventStore) -> None:
    body = await ask(store, Kind.AGGREGATE, period="day", timezone=NY, compare="previous_period")
    assert body["results"] == {"visitors": {"value": 2, "change": -33.3}}  # Sep 20: 3
    # Sep 1-21 against the 21 days before: Aug 11-31 (V6; V5 on Aug 31 in New York).
    body = await ask(store, Kind.AGGREGATE, period="month", timezone=NY, compare="previous_period")
    assert body["comparison"] == {
        "from": "2026-08-11T00:00:00-04:00",
        "to": "2026-09-01T00:00:00-04:00",
    }
    assert body["results"] == {"visitors": {"value": 5, "change": 150.0}}


async def test_compare_24_hours(store: EventStore) -> None:
    # The 24 hours before Sep 20 14:13:20Z: V1 (13:00-13:05Z), V8 (Sep 19 16:00Z).
    body = await ask(store, Kind.AGGREGATE, period="24h", compare="previous_period")
    assert body["results"] == {"visitors": {"value": 4, "change": 100.0}}


async def test_compare_breakdown_rows_with_their_own_previous_values(store: EventStore) -> None:
    """Each row against the same value in Sep 8-14 (V7 only: visitor 2, one pageview of
    /pricing and a signup), whatever rows the page holds."""
    metrics = "visitors,pageviews,views_per_visit,bounce_rate"
    common = dict(property="event:page", metrics=metrics, period="7d", timezone=NY)
    body = await ask(store, Kind.BREAKDOWN, compare="previous_period", **common)
    assert body["comparison"] == {
        "from": "2026-09-08T00:00:00-04:00",
        "to": "2026-09-15T00:00:00-04:00",
    }
    plain = await ask(store, Kind.BREAKDOWN, **common)
    assert [{k: v for k, v in row.items() if k != "change"} for row in body["results"]] == (
        plain["results"]
    )
    nothing_before = dict.fromkeys(metrics.split(","))
    pricing = {"visitors": 200.0, "pageviews": 300.0, "views_per_visit": 75.0, "bounce_rate": None}
    assert [(row["value"], row["change"]) for row in body["results"]] == [
        ("/", nothing_before),
        ("/pricing", pricing),  # 3 visitors, 4 pageviews, 1.75 per visit, 25 % against 1, 1, 1, 0
        ("/api", nothing_before),
        ("/docs", nothing_before),
    ]
    # Alone on its page, /pricing is compared with the same previous numbers.
    second = await ask(store, Kind.BREAKDOWN, compare="previous_period", limit=1, page=2, **common)
    assert [(row["value"], row["change"]) for row in second["results"]] == [("/pricing", pricing)]


async def test_compare_timeseries_bucket_by_bucket(store: EventStore) -> None:
    body = await ask(
        store,
        Kind.TIMESERIES,
        period="7d",
        timezone=NY,
        metrics="visitors,pageviews",
        compare="previous_period",
    )
    assert body["comparison"] == {
        "from": "2026-09-08T00:00:00-04:00",
        "to": "2026-09-15T00:00:00-04:00",
    }
    results = body["results"]
    assert [row["date"] for row in results] == [f"2026-09-{day}" for day in range(15, 22)]
    assert [row["comparison"]["date"] for row in results] == [
        f"2026-09-{day:02d}" for day in range(8, 15)
    ]
    assert results[-1] == {
        "date": "2026-09-21",
        "visitors": 2,
        "pageviews": 2,
        "comparison": {"date": "2026-09-14", "visitors": 1, "pageviews": 1},  # V7
    }
    assert all(row["comparison"]["visitors"] == 0 for row in results[:-1])
    # Aug 31 - Sep 1 by month: two buckets; Aug 29 - 30 before it, one.
    body = await ask(
        store,
        Kind.TIMESERIES,
        period="custom",
        date="2026-08-31,2026-09-01",
        interval="month",
        timezone=NY,
        compare="previous_period",
    )
    assert body["results"] == [
        {"date": "2026-08-01", "visitors": 1, "comparison": {"date": "2026-08-01", "visitors": 0}},
        {"date": "2026-09-01", "visitors": 0, "comparison": None},
    ]


# --- breakdowns -----------------------------------------------------------------------------


async def test_breakdown_by_page_with_every_metric(store: EventStore) -> None:
    result = await rows(store, "event:page", ALL_METRICS, period="7d", timezone=NY)
    # value, visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration, events
    assert result == [
        ("/", 3, 3, 3, 2.0, 33.3, 130.0, 0),  # V1, V3, V4: 6 pv / 3; (300 + 90 + 0) / 3
        ("/pricing", 3, 4, 4, 1.75, 25.0, 107.5, 2),  # V1, V2, V3, V1b: 7 pv / 4; 430 / 4
        ("/api", 1, 1, 0, 0.0, 0.0, 0.0, 1),  # V8's signup
        ("/docs", 1, 1, 1, 3.0, 0.0, 300.0, 0),  # V1
    ]


async def test_breakdown_pages(store: EventStore) -> None:
    params = {"period": "7d", "timezone": NY, "limit": 2}
    assert await rows(store, "event:page", **params) == [("/", 3), ("/pricing", 3)]
    assert await rows(store, "event:page", page=2, **params) == [("/api", 1), ("/docs", 1)]
    assert await rows(store, "event:page", page=3, **params) == []


async def test_breakdown_by_source(store: EventStore) -> None:
    metrics = "visitors,visits,pageviews,bounce_rate,visit_duration"
    assert await rows(store, "visit:source", metrics, period="7d", timezone=NY) == [
        ("Direct / None", 3, 3, 2, 33.3, 13.3),  # V1b, V4, V8: (40 + 0 + 0) / 3
        ("Google", 1, 1, 3, 0.0, 300.0),
        ("Hacker News", 1, 1, 1, 100.0, 0.0),
        ("newsletter", 1, 1, 2, 0.0, 90.0),  # the visit's first event names it
    ]


@pytest.mark.parametrize(
    ("prop", "expected"),
    [
        ("visit:entry_page", [("/", 3), ("/pricing", 2), ("(none)", 1)]),
        ("visit:exit_page", [("/pricing", 3), ("(none)", 1), ("/", 1), ("/docs", 1)]),
        (
            "visit:referrer",
            [("(none)", 4), ("https://news.ycombinator.com/", 1), ("https://www.google.com/", 1)],
        ),
        ("visit:utm_source", [("(none)", 4), ("newsletter", 1)]),
        ("visit:utm_medium", [("(none)", 4), ("email", 1)]),
        ("visit:utm_campaign", [("(none)", 4), ("launch", 1)]),
        ("visit:utm_term", [("(none)", 5)]),
        ("visit:utm_content", [("(none)", 5)]),
        ("visit:country", [("US", 2), ("(none)", 1), ("DE", 1), ("NL", 1)]),
        ("visit:browser", [("Chrome", 2), ("(none)", 1), ("Firefox", 1), ("Safari", 1)]),
        (
            "visit:browser_version",
            [("(none)", 1), ("130.0", 1), ("131.0", 1), ("133.0", 1), ("17.5", 1)],
        ),
        ("visit:os", [("(none)", 1), ("Linux", 1), ("Mac OS X", 1), ("Windows", 1), ("iOS", 1)]),
        ("visit:os_version", [("(none)", 2), ("10", 1), ("14.5", 1), ("17.5", 1)]),
        ("visit:device", [("desktop", 3), ("(none)", 1), ("mobile", 1)]),
        ("visit:screen", [("laptop", 2), ("(none)", 1), ("desktop", 1), ("mobile", 1)]),
        ("event:name", [("pageview", 4), ("signup", 2), ("download", 1)]),
        ("event:hostname", [("example.com", 5)]),
        ("event:props:plan", [("(none)", 4), ("pro", 2)]),
        ("event:props:format", [("(none)", 5), ("pdf", 1)]),
    ],
)
async def test_breakdown_by_every_dimension(
    store: EventStore, prop: str, expected: list[tuple[str, int]]
) -> None:
    assert await rows(store, prop, period="7d", timezone=NY) == expected


async def test_breakdown_by_event_name_counts_events(store: EventStore) -> None:
    assert await rows(store, "event:name", "pageviews,events", period="7d", timezone=NY) == [
        ("pageview", 8, 0),
        ("signup", 0, 2),
        ("download", 0, 1),
    ]


async def test_breakdown_by_hostname_over_12_months(store: EventStore) -> None:
    assert await rows(store, "event:hostname", period="12mo", timezone=NY) == [
        ("example.com", 8),
        ("blog.example.com", 1),
    ]


async def test_breakdown_of_a_property_of_one_event(store: EventStore) -> None:
    signups = [["is", "event:name", ["signup"]]]
    assert await rows(
        store, "event:props:plan", "visitors,events", period="30d", timezone=NY, filters=signups
    ) == [("pro", 2, 2), ("free", 1, 1)]


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        # visitors, visits, pageviews, events, bounce_rate
        ([["is", "visit:source", ["Google"]]], (1, 1, 3, 1, 0.0)),
        ([["is", "visit:source", ["Google", "Hacker News"]]], (2, 2, 4, 1, 50.0)),
        ([["is_not", "visit:source", ["Direct / None"]]], (3, 3, 6, 1, 33.3)),
        ([["contains", "visit:source", ["News"]]], (1, 1, 1, 0, 100.0)),
        ([["contains", "visit:source", ["news"]]], (1, 1, 2, 0, 0.0)),  # case-sensitive
        ([["is", "visit:utm_campaign", ["(none)"]]], (4, 5, 6, 3, 40.0)),
        # event filters select events; visit metrics are over the visits having one
        ([["contains", "event:page", ["pric"]]], (3, 4, 4, 2, 25.0)),
        ([["contains", "event:page", ["docs", "api"]]], (2, 2, 1, 1, 0.0)),
        ([["is_not", "event:name", ["pageview"]]], (2, 3, 0, 3, 0.0)),
        ([["is", "event:props:plan", ["pro"]]], (2, 2, 0, 2, 0.0)),
        ([["is_not", "event:props:plan", ["(none)"]]], (2, 2, 0, 2, 0.0)),
        ([["is", "event:hostname", ["nowhere.example"]]], (0, 0, 0, 0, 0.0)),
        # combined (ANDed): Chrome visits' /pricing events: V1 and V1b
        (
            [["is", "visit:browser", ["Chrome"]], ["is", "event:page", ["/pricing"]]],
            (1, 2, 2, 2, 0.0),
        ),
        (
            [["is", "visit:device", ["desktop"]], ["is_not", "event:page", ["/"]]],
            (2, 3, 4, 2, 33.3),  # V1 (/pricing, signup, /docs), V2, V1b (/pricing, download)
        ),
        (
            [["is", "visit:entry_page", ["/"]], ["is", "visit:country", ["US"]]],
            (2, 2, 5, 1, 0.0),  # V1, V3
        ),
        # every other visit dimension: V2, V3 and V1b end on /pricing (V1b's download is no
        # pageview; V8 has no pageview, so no exit page)
        ([["is", "visit:exit_page", ["/pricing"]]], (3, 3, 4, 1, 33.3)),
        ([["is", "visit:referrer", ["https://news.ycombinator.com/"]]], (1, 1, 1, 0, 100.0)),
        ([["is", "visit:utm_source", ["newsletter"]]], (1, 1, 2, 0, 0.0)),  # V3
        ([["contains", "visit:utm_medium", ["mail"]]], (1, 1, 2, 0, 0.0)),
        ([["is", "visit:utm_term", ["(none)"]]], (5, 6, 8, 3, 33.3)),  # every visit
        ([["is_not", "visit:utm_content", ["(none)"]]], (0, 0, 0, 0, 0.0)),
        ([["is", "visit:browser_version", ["131.0"]]], (1, 2, 4, 2, 0.0)),  # V1, V1b
        # V2, V3, V4 and V8 (whose operating system is unknown: "(none)", not Windows)
        ([["is_not", "visit:os", ["Windows"]]], (4, 4, 4, 1, 50.0)),
        ([["contains", "visit:os_version", ["1"]]], (3, 4, 7, 2, 25.0)),  # 10, 17.5, 14.5
        ([["is", "visit:screen", ["laptop"]]], (2, 2, 2, 0, 100.0)),  # V2, V4
    ],
)
async def test_filters(
    store: EventStore, filters: list[Any], expected: tuple[int, int, int, int, float]
) -> None:
    result = await totals(
        store,
        period="7d",
        timezone=NY,
        metrics="visitors,visits,pageviews,events,bounce_rate",
        filters=filters,
    )
    assert tuple(result.values()) == expected


async def test_filters_apply_to_breakdowns_and_timeseries(store: EventStore) -> None:
    chrome = [["is", "visit:browser", ["Chrome"]]]
    assert await rows(store, "event:page", period="7d", timezone=NY, filters=chrome) == [
        ("/", 2),  # V1, V4
        ("/docs", 1),
        ("/pricing", 1),  # V1, V1b: one visitor
    ]
    days = await series(store, period="7d", timezone=NY, filters=chrome)
    assert days[-2:] == [("2026-09-20", 1), ("2026-09-21", 2)]


async def test_values_are_never_sql(empty_store: EventStore) -> None:
    odd_key = "a.b/c'd~$x"
    await empty_store.append(
        [
            Event(
                ts=NOW - 60,
                site_id=SITE,
                visitor_id=1,
                visit_id=1,
                name="pageview",
                hostname="h",
                pathname="/it's",
                props={odd_key: "y'all", "a": "plain"},
            ),
        ]
    )
    hostile = "'; DROP TABLE events; --"
    assert await totals(
        empty_store, period="day", filters=[["is", "event:page", [hostile, "/it's"]]]
    ) == {"visitors": 1}
    assert await totals(
        empty_store, period="day", filters=[["contains", "event:page", [hostile]]]
    ) == {"visitors": 0}
    assert await totals(
        empty_store, period="day", filters=[["is", f"event:props:{odd_key}", ["y'all"]]]
    ) == {"visitors": 1}
    assert await rows(empty_store, f"event:props:{odd_key}", period="day") == [("y'all", 1)]
    assert await rows(empty_store, "event:props:a", period="day") == [("plain", 1)]
    assert await empty_store.count() == 1


# --- timeseries -----------------------------------------------------------------------------


async def test_days_in_new_york_and_in_utc(store: EventStore) -> None:
    body = await ask(store, Kind.TIMESERIES, period="7d", timezone=NY, metrics="visitors,pageviews")
    assert body["interval"] == "day"  # the default for 7 days
    assert [(r["date"], r["visitors"], r["pageviews"]) for r in body["results"]] == [
        ("2026-09-15", 0, 0),
        ("2026-09-16", 0, 0),
        ("2026-09-17", 0, 0),
        ("2026-09-18", 0, 0),
        ("2026-09-19", 1, 0),  # V8's signup
        ("2026-09-20", 3, 6),  # V1, V2, V3
        ("2026-09-21", 2, 2),  # V1b, V4
    ]
    assert await series(store, period="7d", interval="day") == [
        ("2026-09-15", 0),
        ("2026-09-16", 0),
        ("2026-09-17", 0),
        ("2026-09-18", 0),
        ("2026-09-19", 1),
        ("2026-09-20", 2),  # V1, V2
        ("2026-09-21", 3),  # V3, V1b, V4
    ]


async def test_hours_of_a_day(store: EventStore) -> None:
    body = await ask(store, Kind.TIMESERIES, period="day", timezone=NY, metrics=ALL_METRICS)
    assert body["interval"] == "hour"  # the default for a day
    results = body["results"]
    assert [r["date"] for r in results] == [f"2026-09-21T{h:02d}:00:00" for h in range(24)]
    assert results[8] == {
        "date": "2026-09-21T08:00:00",  # V1b at 12:00Z
        "visitors": 1,
        "visits": 1,
        "pageviews": 1,
        "views_per_visit": 1.0,
        "bounce_rate": 0.0,
        "visit_duration": 40.0,
        "events": 1,
    }
    assert results[9]["bounce_rate"] == 100.0  # V4
    zero = {m: 0 for m in ALL_METRICS.split(",")}
    assert [r for r in results if r["date"][11:13] not in ("08", "09")] == [
        {"date": r["date"], **zero} for r in results if r["date"][11:13] not in ("08", "09")
    ]


async def test_minutes(store: EventStore) -> None:
    result = await series(
        store, "pageviews", period="day", date="2026-09-20", timezone=NY, interval="minute"
    )
    assert len(result) == 1440
    assert result[0] == ("2026-09-20T00:00:00", 0)
    assert [(d, n) for d, n in result if n] == [
        ("2026-09-20T09:00:00", 1),
        ("2026-09-20T09:01:00", 1),
        ("2026-09-20T09:05:00", 1),  # 09:02 is the signup: not a pageview
        ("2026-09-20T11:30:00", 1),
        ("2026-09-20T22:30:00", 1),
        ("2026-09-20T22:31:00", 1),  # 22:31:30
    ]


async def test_minutes_over_24_hours(store: EventStore) -> None:
    result = await series(store, period="24h", interval="minute")
    # 14:13 yesterday to 14:13 today (UTC), both partial: 1441 buckets.
    assert len(result) == 1441
    assert (result[0][0], result[-1][0]) == ("2026-09-20T14:13:00", "2026-09-21T14:13:00")
    assert [(d, n) for d, n in result if n] == [
        ("2026-09-20T15:30:00", 1),
        ("2026-09-21T02:30:00", 1),
        ("2026-09-21T02:31:00", 1),
        ("2026-09-21T12:00:00", 1),
        ("2026-09-21T13:00:00", 1),
    ]


async def test_weeks_start_on_monday(store: EventStore) -> None:
    # 30 days in New York: Sunday Aug 23 to Monday Sep 21.
    assert await series(store, period="30d", timezone=NY, interval="week") == [
        ("2026-08-17", 0),
        ("2026-08-24", 0),
        ("2026-08-31", 1),  # V5
        ("2026-09-07", 0),
        ("2026-09-14", 4),  # V7 (visitor 2), V8, V1, V3
        ("2026-09-21", 2),  # V1b, V4
    ]


async def test_months_in_new_york_and_in_utc(store: EventStore) -> None:
    body = await ask(store, Kind.TIMESERIES, period="12mo", timezone=NY)
    assert body["interval"] == "month"  # the default for 12 months
    months = [(r["date"], r["visitors"]) for r in body["results"]]
    assert [d for d, _ in months] == [
        "2025-10-01",
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
        "2026-07-01",
        "2026-08-01",
        "2026-09-01",
    ]
    assert [(d, n) for d, n in months if n] == [
        ("2025-11-01", 2),  # V9, V10
        ("2026-08-01", 2),  # V6, V5 (Aug 31 in New York)
        ("2026-09-01", 5),
    ]
    utc = await series(store, period="12mo", interval="month")
    assert [(d, n) for d, n in utc if n] == [
        ("2025-11-01", 2),
        ("2026-08-01", 1),
        ("2026-09-01", 6),
    ]


async def test_the_hour_lived_twice_is_one_bucket(store: EventStore) -> None:
    # 2025-11-02 in New York lasts 25 hours; 01:00-02:00 happens twice (V9, then V10).
    result = await series(store, period="day", date="2025-11-02", timezone=NY)
    assert [d for d, _ in result] == [f"2025-11-02T{h:02d}:00:00" for h in range(24)]
    assert [(d, n) for d, n in result if n] == [("2025-11-02T01:00:00", 2)]
    body = await ask(store, Kind.AGGREGATE, period="day", date="2025-11-02", timezone=NY)
    assert (body["from"], body["to"]) == ("2025-11-02T00:00:00-04:00", "2025-11-03T00:00:00-05:00")


async def test_the_skipped_hour_has_no_bucket(store: EventStore) -> None:
    result = await series(store, period="day", date="2026-03-08", timezone=NY)
    hours = [d[11:13] for d, _ in result]
    assert len(hours) == 23
    assert "02" not in hours


async def test_custom_range_by_day(store: EventStore) -> None:
    result = await series(
        store, "events", period="custom", date="2026-09-13,2026-09-20", timezone=NY
    )
    assert result == [
        ("2026-09-13", 0),
        ("2026-09-14", 1),  # V7's signup
        ("2026-09-15", 0),
        ("2026-09-16", 0),
        ("2026-09-17", 0),
        ("2026-09-18", 0),
        ("2026-09-19", 1),  # V8
        ("2026-09-20", 1),  # V1's signup
    ]
