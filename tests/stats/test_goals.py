"""Goals in the stats engine, on both event stores: conversions, conversion rate, completions,
the event:goal filter and breakdown, with periods, other filters, compare and intervals.

The events are those of `dataset.py` (unchanged); the goals below are metadata only. Every
number is worked out by hand from the table in dataset.py. Over `7d` in New York (Sep 15-21)
the period has 5 visitors: 1 (V1, V1b), 2 (V2), 3 (V3), 4 (V4), 8 (V8).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.errors import BadRequest
from footfall.stats import Kind, answer, parse_query
from footfall.stats.goals import with_goals
from footfall.storage.events import Event, EventStore
from footfall.storage.goals import Goal, GoalKind, matches
from tests.backends import open_event_store
from tests.stats.dataset import NOW, NY, SITE, event, events

pytest_plugins = ["tests.backends"]


def goal(name: str, kind: GoalKind, match: str, n: int) -> Goal:
    return Goal(f"g{n}", SITE, kind, match, name, float(n))


GOALS = (
    goal("Signup", "event", "signup", 1),
    goal("Pricing", "pageview", "/pricing", 2),
    goal("Download", "event", "download", 3),
    goal("Blog post", "pageview", "/blog/**", 4),
    goal("Blog", "pageview", "/blog**", 5),
    goal("Top-level page", "pageview", "/*", 6),
)
SIGNUP = [["is", "event:goal", ["Signup"]]]
PRICING = [["is", "event:goal", ["Pricing"]]]
SEVEN_DAYS = {"period": "7d", "timezone": NY}


@pytest.fixture(params=["duckdb", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    opened = await open_event_store(request.param, request, tmp_path)
    await opened.append(events())
    yield opened
    await opened.close()


def query(kind: Kind, goals: tuple[Goal, ...] = GOALS, now: float = NOW, **params: Any) -> Any:
    if isinstance(params.get("filters"), list):
        params["filters"] = json.dumps(params["filters"])
    parsed = parse_query(kind, SITE, [(k, str(v)) for k, v in params.items()], now)
    return with_goals(parsed, goals) if parsed.needs_goals else parsed


async def ask(store: EventStore, kind: Kind, **params: Any) -> dict[str, Any]:
    return await answer(store, query(kind, **params))


async def totals(store: EventStore, **params: Any) -> dict[str, Any]:
    body = await ask(store, Kind.AGGREGATE, **params)
    return {metric: result["value"] for metric, result in body["results"].items()}


async def rows(store: EventStore, prop: str, metrics: str, **params: Any) -> list[tuple[Any, ...]]:
    body = await ask(store, Kind.BREAKDOWN, property=prop, metrics=metrics, **params)
    return [(row["value"], *(row[m] for m in metrics.split(","))) for row in body["results"]]


GOAL_METRICS = "visitors,conversions,conversion_rate,events"

# --- aggregate ----------------------------------------------------------------------------


async def test_event_goal(store: EventStore) -> None:
    # signups Sep 15-21 NY: V1 (visitor 1) and V8 (visitor 8); 5 visitors in the period
    assert await totals(store, **SEVEN_DAYS, filters=SIGNUP, metrics=GOAL_METRICS) == {
        "visitors": 2,
        "conversions": 2,
        "conversion_rate": 40.0,
        "events": 2,  # completions
    }


async def test_pageview_goal(store: EventStore) -> None:
    # pageviews of /pricing: V1, V2, V3, V1b (the signup and download on /pricing are not
    # pageviews); visitors 1, 2, 3
    assert await totals(
        store, **SEVEN_DAYS, filters=PRICING, metrics=f"{GOAL_METRICS},pageviews"
    ) == {
        "visitors": 3,
        "conversions": 3,
        "conversion_rate": 60.0,
        "events": 4,
        "pageviews": 4,
    }


async def test_visit_metrics_are_those_of_the_converting_visits(store: EventStore) -> None:
    # V1 (4 events over 300 s) and V8 (one custom event): no bounce
    assert await totals(
        store, **SEVEN_DAYS, filters=SIGNUP, metrics="visits,bounce_rate,visit_duration"
    ) == {"visits": 2, "bounce_rate": 0.0, "visit_duration": 150.0}


@pytest.mark.parametrize(
    ("match_name", "period", "conversions"),
    [
        ("Blog post", "12mo", 1),  # /blog/post (V6); not /blog
        ("Blog", "12mo", 2),  # /blog** : /blog (V5) and /blog/post (V6)
        ("Blog post", "30d", 0),  # V6 is Aug 15, before Aug 23
        # /* : /, /pricing, /docs, /blog, not /blog/post; visitors 1 2 3 4 5 9 10 (not 6,
        # and not 8, whose /api event is no pageview)
        ("Top-level page", "12mo", 7),
    ],
)
async def test_path_patterns(
    store: EventStore, match_name: str, period: str, conversions: int
) -> None:
    filters = [["is", "event:goal", [match_name]]]
    found = await totals(store, period=period, timezone=NY, filters=filters, metrics="conversions")
    assert found == {"conversions": conversions}


async def test_several_goals_in_one_filter(store: EventStore) -> None:
    # Signup or Download: visitors 1 (signup, download) and 8; completions 3
    filters = [["is", "event:goal", ["Signup", "Download"]]]
    assert await totals(store, **SEVEN_DAYS, filters=filters, metrics="conversions,events") == {
        "conversions": 2,
        "events": 3,
    }


async def test_contains(store: EventStore) -> None:
    # "Blog" names "Blog post" and "Blog": 12mo V5, V6
    filters = [["contains", "event:goal", ["Blog"]]]
    found = await totals(store, period="12mo", timezone=NY, filters=filters, metrics="conversions")
    assert found == {"conversions": 2}
    nothing = [["contains", "event:goal", ["Refund"]]]
    found = await totals(store, **SEVEN_DAYS, filters=nothing, metrics=GOAL_METRICS)
    assert found == {"visitors": 0, "conversions": 0, "conversion_rate": 0.0, "events": 0}


async def test_is_not_selects_the_events_completing_none(store: EventStore) -> None:
    # Every event but the signups: visitor 8 only signed up
    filters = [["is_not", "event:goal", ["Signup"]]]
    found = await totals(store, **SEVEN_DAYS, filters=filters, metrics="visitors,events")
    assert found == {"visitors": 4, "events": 1}  # custom events: download (not completions)


async def test_with_another_filter(store: EventStore) -> None:
    # Signup among visits from Google: V1 only; Google's visitors: 1 (V1) -> 100 %
    filters = [*SIGNUP, ["is", "visit:source", ["Google"]]]
    assert await totals(store, **SEVEN_DAYS, filters=filters, metrics=GOAL_METRICS) == {
        "visitors": 1,
        "conversions": 1,
        "conversion_rate": 100.0,
        "events": 1,
    }
    # Pricing on mobile: V3 (Safari iOS); mobile visitors: 3 -> 100 %
    filters = [*PRICING, ["is", "visit:device", ["mobile"]]]
    found = await totals(store, **SEVEN_DAYS, filters=filters, metrics="conversion_rate")
    assert found == {"conversion_rate": 100.0}


async def test_compare_with_the_previous_period(store: EventStore) -> None:
    # Sep 8-14 NY: V7 only (visitor 2: pageview /pricing, signup): 1 of 1 converted
    body = await ask(
        store,
        Kind.AGGREGATE,
        **SEVEN_DAYS,
        filters=SIGNUP,
        metrics="conversions,conversion_rate",
        compare="previous_period",
    )
    assert body["results"] == {
        "conversions": {"value": 2, "change": 100.0},
        "conversion_rate": {"value": 40.0, "change": -60.0},
    }


async def test_one_day_in_utc(store: EventStore) -> None:
    # Sep 21 UTC: V3, V1b, V4; Pricing: V3 and V1b (visitors 3 and 1) of 3
    found = await totals(store, period="day", filters=PRICING, metrics="conversion_rate")
    assert found == {"conversion_rate": 66.7}


# --- timeseries ---------------------------------------------------------------------------


async def test_timeseries(store: EventStore) -> None:
    body = await ask(
        store, Kind.TIMESERIES, **SEVEN_DAYS, filters=SIGNUP, metrics="conversions,conversion_rate"
    )
    assert [(r["date"], r["conversions"], r["conversion_rate"]) for r in body["results"]] == [
        ("2026-09-15", 0, 0.0),
        ("2026-09-16", 0, 0.0),
        ("2026-09-17", 0, 0.0),
        ("2026-09-18", 0, 0.0),
        ("2026-09-19", 1, 100.0),  # V8, the day's only visitor
        ("2026-09-20", 1, 33.3),  # V1 of V1, V2, V3
        ("2026-09-21", 0, 0.0),  # V1b and V4 did not sign up
    ]


async def test_timeseries_by_hour(store: EventStore) -> None:
    body = await ask(
        store,
        Kind.TIMESERIES,
        period="day",
        date="2026-09-20",
        filters=PRICING,
        metrics="conversions,events",
        interval="hour",
    )
    found = [(r["date"], r["conversions"], r["events"]) for r in body["results"] if r["events"]]
    assert found == [
        ("2026-09-20T13:00:00", 1, 1),  # V1's /pricing pageview
        ("2026-09-20T15:00:00", 1, 1),  # V2
    ]


# --- breakdowns ---------------------------------------------------------------------------


async def test_goal_breakdown_lists_every_goal(store: EventStore) -> None:
    assert await rows(store, "event:goal", GOAL_METRICS, **SEVEN_DAYS) == [
        ("Top-level page", 4, 4, 80.0, 8),  # V1 3 (/, /pricing, /docs), V2, V3 2, V1b, V4
        ("Pricing", 3, 3, 60.0, 4),
        ("Signup", 2, 2, 40.0, 2),
        ("Download", 1, 1, 20.0, 1),
        ("Blog", 0, 0, 0.0, 0),
        ("Blog post", 0, 0, 0.0, 0),
    ]


async def test_goal_breakdown_pages(store: EventStore) -> None:
    found = await rows(store, "event:goal", "visitors", **SEVEN_DAYS, limit=2, page=2)
    assert found == [("Signup", 2), ("Download", 1)]
    assert await rows(store, "event:goal", "visitors", **SEVEN_DAYS, limit=2, page=4) == []


async def test_goal_breakdown_compared_with_the_previous_period(store: EventStore) -> None:
    # Page 2 (Signup, Download) against Sep 8-14 NY: V7 signed up (1 of 1 visitor)
    body = await ask(
        store,
        Kind.BREAKDOWN,
        property="event:goal",
        metrics="conversions,conversion_rate",
        **SEVEN_DAYS,
        limit=2,
        page=2,
        compare="previous_period",
    )
    assert [(row["value"], row["change"]) for row in body["results"]] == [
        ("Signup", {"conversions": 100.0, "conversion_rate": -60.0}),  # 2 of 5 against 1 of 1
        ("Download", {"conversions": None, "conversion_rate": None}),
    ]


async def test_goal_breakdown_with_a_filter(store: EventStore) -> None:
    # Direct visits: V1b (visitor 1), V4, V8; 3 visitors
    filters = [["is", "visit:source", ["Direct / None"]]]
    assert await rows(
        store, "event:goal", "conversions,conversion_rate", **SEVEN_DAYS, filters=filters
    ) == [
        ("Top-level page", 2, 66.7),  # V1b /pricing, V4 /
        ("Download", 1, 33.3),
        ("Pricing", 1, 33.3),
        ("Signup", 1, 33.3),  # V8
        ("Blog", 0, 0.0),
        ("Blog post", 0, 0.0),
    ]


async def test_goal_breakdown_over_a_year(store: EventStore) -> None:
    # 12mo NY: visitors 1 2 3 4 5 6 8 9 10 = 9
    found = await rows(store, "event:goal", "visitors,conversion_rate", period="12mo", timezone=NY)
    assert found == [
        ("Top-level page", 7, 77.8),
        ("Pricing", 3, 33.3),  # V7's visitor 2 is already counted
        ("Signup", 3, 33.3),  # 1, 2 (V7), 8
        ("Blog", 2, 22.2),
        ("Blog post", 1, 11.1),
        ("Download", 1, 11.1),
    ]


async def test_goal_breakdown_without_goals(store: EventStore) -> None:
    body = await answer(store, query(Kind.BREAKDOWN, goals=(), property="event:goal", **SEVEN_DAYS))
    assert body["results"] == []


async def test_another_breakdown_with_a_goal_filter(store: EventStore) -> None:
    # Signups by source: V1 came from Google, V8 is direct. Visitors per source in the
    # period: Direct / None 3 (1, 4, 8), Google 1.
    assert await rows(
        store,
        "visit:source",
        "conversions,conversion_rate,events",
        **SEVEN_DAYS,
        filters=SIGNUP,
    ) == [("Direct / None", 1, 33.3, 1), ("Google", 1, 100.0, 1)]
    # by page: the page the goal was completed on
    assert await rows(
        store, "event:page", "conversions,conversion_rate", **SEVEN_DAYS, filters=SIGNUP
    ) == [("/api", 1, 100.0), ("/pricing", 1, 33.3)]  # /pricing's visitors: 1, 2, 3


async def test_breakdown_rate_denominators_follow_the_page(store: EventStore) -> None:
    # The second page of a breakdown gets its own rows' denominators.
    found = await rows(
        store, "visit:source", "conversion_rate", **SEVEN_DAYS, filters=SIGNUP, limit=1, page=2
    )
    assert found == [("Google", 100.0)]


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"metrics": "conversions"},
            'metrics: conversions needs a goal: add a filter ["is", "event:goal", '
            '["<goal name>"]] or break down by property=event:goal',
        ),
        (
            {
                "metrics": "visitors,conversion_rate",
                "filters": [["is_not", "event:goal", ["Signup"]]],
            },
            'metrics: conversion_rate needs a goal: add a filter ["is", "event:goal", '
            '["<goal name>"]] or break down by property=event:goal',
        ),
        (
            {"filters": [["is", "event:goal", ["Signup", "Refund"]]]},
            'filters[0]: unknown goal "Refund"; goals of this site: Blog, Blog post, Download, '
            "Pricing, Signup, Top-level page",
        ),
    ],
)
def test_invalid(params: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        query(Kind.AGGREGATE, **params)
    assert caught.value.message == message


def test_unknown_goal_of_a_site_without_goals() -> None:
    with pytest.raises(BadRequest) as caught:
        query(Kind.AGGREGATE, goals=(), filters=SIGNUP)
    assert caught.value.message == (
        'filters[0]: unknown goal "Signup"; goals of this site: none (add one on the site\'s Goals '
        "page or with footfall goals add)"
    )


# --- path patterns: SQL on both stores means what `matches` means ---------------------------

PATHS = [
    "/",
    "/signup",
    "/signup/",
    "/signup/team",
    "/product/42/buy",
    "/product//buy",
    "/product/a/b/buy",
    "/product/42/buy/now",
    "/blog",
    "/blog/",
    "/blog/a/b",
    "/blogger",
    "/a.b",
    "/axb",
    "/p(1)+[x]",
    "/%7Euser",
    "/na\u00efve/caf\u00e9",
    "/50%25_off",
    "/5025xoff",
    "/a\\b",
]
PATTERNS: dict[str, set[str]] = {
    "/signup": {"/signup"},
    "/signup/**": {"/signup/", "/signup/team"},
    "/product/*/buy": {"/product/42/buy", "/product//buy"},
    "/product/**/buy": {"/product/42/buy", "/product//buy", "/product/a/b/buy"},
    "/blog/**": {"/blog/", "/blog/a/b"},
    "/blog**": {"/blog", "/blog/", "/blog/a/b", "/blogger"},
    "/blog*": {"/blog", "/blogger"},
    "/a.b": {"/a.b"},
    "/p(1)+[x]": {"/p(1)+[x]"},
    "/p(*)+[x]": {"/p(1)+[x]"},
    "/%7E*": {"/%7Euser"},
    "/na\u00efve/*": {"/na\u00efve/caf\u00e9"},
    "/50%25_*": {"/50%25_off"},
    "/a\\*": {"/a\\b"},
    "/*": {"/", "/signup", "/blog", "/blogger", "/a.b", "/axb", "/p(1)+[x]", "/%7Euser"}
    | {"/50%25_off", "/5025xoff", "/a\\b"},
    "/**": set(PATHS),
}


def path_events() -> list[Event]:
    # One visitor per path (visitor i), a pageview each, plus a custom event on every path
    # that no pageview goal may count.
    found = []
    for i, path in enumerate(PATHS, start=1):
        found.append(event("2026-09-21T10:00:00", i, i, path))
        found.append(event("2026-09-21T10:00:01", i, i, path, "click"))
    return found


def test_matches_agrees_with_the_table() -> None:
    for pattern, expected in PATTERNS.items():
        page_goal = goal(pattern, "pageview", pattern, 1)
        assert {p for p in PATHS if matches(page_goal, "pageview", p)} == expected, pattern
        assert not any(matches(page_goal, "click", p) for p in PATHS)


async def test_patterns_in_sql(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for kind in ("duckdb", "postgres"):
        store = await open_event_store(kind, request, tmp_path / kind)
        try:
            await store.append(path_events())
            goals = tuple(goal(p, "pageview", p, n) for n, p in enumerate(PATTERNS))
            body = await answer(
                store,
                query(Kind.BREAKDOWN, goals=goals, property="event:goal", period="day", limit=100),
            )
            counted = {row["value"]: row["visitors"] for row in body["results"]}
            assert counted == {p: len(paths) for p, paths in PATTERNS.items()}, kind
            for pattern, paths in PATTERNS.items():
                filters = json.dumps([["is", "event:goal", [pattern]]])
                by_page = await answer(
                    store,
                    query(Kind.BREAKDOWN, goals=goals, property="event:page", filters=filters),
                )
                assert {row["value"] for row in by_page["results"]} == paths, (kind, pattern)
        finally:
            await store.close()
