"""Run a `StatsQuery` on an event store and shape the answer the Stats API returns.

Metrics, from the sums the SQL returns (see `stats.sql`):

| metric          | definition                                                              |
|-----------------|-------------------------------------------------------------------------|
| visitors        | unique visitor ids among the selected events                            |
| visits          | visits with at least one selected event                                 |
| pageviews       | selected events named `pageview`                                        |
| events          | selected events not named `pageview` (custom events)                    |
| views_per_visit | pageviews of those visits / visits (2 decimals)                         |
| bounce_rate     | % of those visits with exactly one pageview and no custom event (1 dec.)|
| visit_duration  | mean over those visits of last - first event time, seconds (1 decimal)  |
| conversions     | with a goal (see `stats.goals`): unique visitors who completed it       |
| conversion_rate | conversions / visitors of the row without goal filters, % (1 decimal)   |

With a goal, `events` counts its completions, pageviews included (`stats.goals`).


A ratio over no visits is 0. With `compare=previous_period` (`DateRange.previous`: the same
number of days just before, or the same length for an hours' range), the answer names the
previous period in `comparison` and:

* aggregate: each metric also gets `change`, the percent change from the previous period,
  from unrounded values (1 decimal), null when the previous value is 0;
* breakdown: each row also gets `change`, that percent change per metric, against the same
  value in the previous period (the query restricted to the page's values, so a row's
  previous numbers do not depend on which rows were on its page then);
* timeseries: each bucket also gets `comparison`, the bucket at the same position of the
  previous period (its `date` and metrics; null where that period has fewer buckets).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from footfall.stats import goals, rollup
from footfall.stats.dimensions import GOAL
from footfall.stats.intervals import bucket_label, buckets
from footfall.stats.periods import DateRange
from footfall.stats.query import Filter, Kind, StatsQuery
from footfall.stats.sql import build
from footfall.storage.events import EventStore

QUERY_TIMEOUT = 10.0
"""Seconds a stats query may run before the store cancels it (answered with a 503), when the
caller passes no limit; the API and the dashboard pass `FOOTFALL_STATS_TIME_LIMIT_SECONDS`."""

_COUNTS = frozenset({"visitors", "visits", "pageviews", "events", "conversions"})
_DECIMALS = {"views_per_visit": 2, "bounce_rate": 1, "visit_duration": 1, "conversion_rate": 1}


@dataclass(frozen=True, slots=True)
class Totals:
    """One result row: the sums every metric is computed from."""

    dim: str = ""
    visitors: int = 0
    pageviews: int = 0
    events: int = 0
    visits: int = 0
    bounces: int = 0
    visit_pageviews: int = 0
    duration_us: int = 0
    total_visitors: int = 0  # goal queries: the conversion rate's denominator

    def value(self, metric: str) -> float:
        """The unrounded value of `metric`."""
        if metric == "conversions":
            return float(self.visitors)
        if metric == "conversion_rate":
            return 100.0 * self.visitors / self.total_visitors if self.total_visitors else 0.0
        if metric in _COUNTS:
            return float(getattr(self, metric))
        if not self.visits:
            return 0.0
        if metric == "views_per_visit":
            return self.visit_pageviews / self.visits
        if metric == "bounce_rate":
            return 100.0 * self.bounces / self.visits
        return self.duration_us / 1_000_000 / self.visits  # visit_duration

    def metrics(self, metrics: tuple[str, ...]) -> dict[str, int | float]:
        return {metric: rounded(metric, self.value(metric)) for metric in metrics}


def rounded(metric: str, value: float) -> int | float:
    if metric in _COUNTS:
        return int(value)
    return round(value, _DECIMALS[metric])


def change(current: float, previous: float) -> float | None:
    """Percent change, 1 decimal; None when there is nothing to compare with."""
    if not previous:
        return None
    return round((current - previous) / previous * 100.0, 1)


async def rows(
    store: EventStore, query: StatsQuery, range_: DateRange, time_limit: float = QUERY_TIMEOUT
) -> list[Totals]:
    """Run `query` over `range_` (its own range, or the previous period) on `store`."""
    # The embedded store's rollup when it can answer (same answers, see stats.rollup).
    found = await rollup.rows(store, query, range_, time_limit)
    if found is None:
        sql, params = build(query, range_, store.dialect)
        found = await store.query_stats(sql, params, time_limit=time_limit)
    result = [Totals(str(row[0]), *(int(value) for value in row[1:])) for row in found]
    if query.counts_goals:
        result = await _conversions(store, query, range_, result, time_limit)
    return result


async def _conversions(
    store: EventStore, query: StatsQuery, range_: DateRange, found: list[Totals], time_limit: float
) -> list[Totals]:
    """The rows of a goal query completed: `events` counts completions (the selected events
    are completions, pageviews included); the goal breakdown lists every goal, paged here;
    `conversion_rate` gets its denominators from a second query (`goals.denominator`)."""
    found = [dataclasses.replace(t, events=t.pageviews + t.events) for t in found]
    by_goal = query.breakdown is not None and query.breakdown.name == GOAL
    if by_goal:
        counted = {t.dim: t for t in found}
        every = [counted.get(name) or Totals(name) for name in goals.names(query)]
        every.sort(key=lambda t: (-t.visitors, t.dim))  # code point order: the SQL's byte order
        start = (query.page - 1) * query.limit
        found = every[start : start + query.limit]
    if "conversion_rate" not in query.metrics or not found:
        return found
    base = goals.denominator(query, None if by_goal else [t.dim for t in found])
    visitors = {t.dim: t.visitors for t in await rows(store, base, range_, time_limit)}
    return [
        dataclasses.replace(t, total_visitors=visitors.get("" if by_goal else t.dim, 0))
        for t in found
    ]


async def aggregate(
    store: EventStore, query: StatsQuery, time_limit: float = QUERY_TIMEOUT
) -> dict[str, Any]:
    body = _envelope(query)
    if not query.compare:
        current = _single(await rows(store, query, query.range, time_limit))
        body["results"] = {
            metric: {"value": value} for metric, value in current.metrics(query.metrics).items()
        }
        return body
    previous_range = query.range.previous()
    found, found_before = await asyncio.gather(
        rows(store, query, query.range, time_limit),
        rows(store, query, previous_range, time_limit),
    )
    current, previous = _single(found), _single(found_before)
    body["comparison"] = _range(previous_range)
    body["results"] = {
        metric: {
            "value": rounded(metric, current.value(metric)),
            "change": change(current.value(metric), previous.value(metric)),
        }
        for metric in query.metrics
    }
    return body


async def timeseries(
    store: EventStore, query: StatsQuery, time_limit: float = QUERY_TIMEOUT
) -> dict[str, Any]:
    body = _envelope(query)
    body["interval"] = query.interval
    if not query.compare:
        body["results"] = await _series(store, query, query.range, time_limit)
        return body
    previous_range = query.range.previous()
    current, previous = await asyncio.gather(
        _series(store, query, query.range, time_limit),
        _series(store, query, previous_range, time_limit),
    )
    body["comparison"] = _range(previous_range)
    body["results"] = [
        {**bucket, "comparison": previous[n] if n < len(previous) else None}
        for n, bucket in enumerate(current)
    ]
    return body


async def _series(
    store: EventStore, query: StatsQuery, range_: DateRange, time_limit: float
) -> list[dict[str, Any]]:
    """Every bucket of `range_` in order, zero-filled: `{"date", metric…}`."""
    assert query.interval is not None
    found = {row.dim: row for row in await rows(store, query, range_, time_limit)}
    empty = Totals()
    keys = buckets(range_, query.interval)
    if not found.keys() <= set(keys):
        # Should Python's and the database's time zone rules ever disagree, no counted
        # bucket is dropped (keys sort chronologically).
        keys = sorted(set(keys) | found.keys())
    return [
        {"date": bucket_label(key, query.interval), **found.get(key, empty).metrics(query.metrics)}
        for key in keys
    ]


async def breakdown(
    store: EventStore, query: StatsQuery, time_limit: float = QUERY_TIMEOUT
) -> dict[str, Any]:
    assert query.breakdown is not None
    body = _envelope(query)
    body.update(property=query.breakdown.name, limit=query.limit, page=query.page)
    found = await rows(store, query, query.range, time_limit)
    body["results"] = [{"value": row.dim, **row.metrics(query.metrics)} for row in found]
    if not query.compare:
        return body
    previous_range = query.range.previous()
    body["comparison"] = _range(previous_range)
    before = {
        row.dim: row
        for row in await rows(store, _same_rows(query, found), previous_range, time_limit)
    }
    for result, row in zip(body["results"], found, strict=True):
        previous = before.get(row.dim, Totals())
        result["change"] = {
            metric: change(row.value(metric), previous.value(metric)) for metric in query.metrics
        }
    return body


def _same_rows(query: StatsQuery, found: list[Totals]) -> StatsQuery:
    """`query` for exactly the rows `found` (its page): the goal breakdown lists every goal
    anyway; any other, restricted by an `is` filter on its property to those values. A row's
    numbers do not depend on the other rows (each is its events' or visits' own), so this
    gives each row's numbers whatever its rank in the other period."""
    assert query.breakdown is not None
    if query.breakdown.name == GOAL:
        return dataclasses.replace(query, limit=max(1, len(goals.names(query))), page=1)
    rows_filter = Filter("is", query.breakdown, tuple(row.dim for row in found))
    return dataclasses.replace(
        query, filters=(*query.filters, rows_filter), limit=max(1, len(found)), page=1
    )


async def answer(
    store: EventStore, query: StatsQuery, time_limit: float = QUERY_TIMEOUT
) -> dict[str, Any]:
    """The API's answer to `query`: aggregate, timeseries or breakdown by its kind."""
    if query.kind is Kind.AGGREGATE:
        return await aggregate(store, query, time_limit)
    if query.kind is Kind.TIMESERIES:
        return await timeseries(store, query, time_limit)
    return await breakdown(store, query, time_limit)


def _single(found: list[Totals]) -> Totals:
    return found[0] if found else Totals()


def _iso(unix: float, range_: DateRange) -> str:
    return datetime.fromtimestamp(unix, range_.zone).isoformat(timespec="seconds")


def _range(range_: DateRange) -> dict[str, str]:
    return {"from": _iso(range_.start, range_), "to": _iso(range_.end, range_)}


def _envelope(query: StatsQuery) -> dict[str, Any]:
    return {
        "websiteId": query.site_id,
        "period": query.period,
        "timezone": query.timezone,
        **_range(query.range),
    }
