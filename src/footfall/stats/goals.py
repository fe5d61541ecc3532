"""Goals in stats queries: the `event:goal` filter and breakdown, conversions, conversion rate.

An event **completes** a goal when it is a pageview whose path matches the goal's pattern
(`footfall.storage.goals`), or a custom event of the goal's name. In a query:

* filter `["is", "event:goal", [names]]` selects the events completing any of those goals
  (`contains`: any goal whose name contains a value; `is_not`: events completing none of
  them). Names of `is`/`is_not` must be goals of the site (else 400).
* breakdown `property=event:goal`: one row per goal of the site (an event completing two
  goals counts in both rows), every goal listed, zeros included.
* with either (but `is_not`), `visitors` and `conversions` count the unique visitors who
  completed the goal, and `events` counts completions (pageviews included);
  `conversion_rate` is conversions / unique visitors of the same row **without** the goal
  filters (the period's visitors under the other filters), as a percentage.

This module resolves goal names (`with_goals`), writes the goal parts of the SQL (conditions
and the breakdown's join; every pattern and name a bind parameter) and derives the query of
the conversion rate's denominator; `stats.engine` runs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from footfall.errors import BadRequest
from footfall.stats.dimensions import GOAL
from footfall.stats.query import Filter, Kind, StatsQuery
from footfall.storage.goals import Goal, is_exact, regex

if TYPE_CHECKING:
    from footfall.stats.sql import Dialect

# The goal name of a row of the goal breakdown's join (`join`).
GOAL_NAME = "g.name"

_PAGEVIEW = "'pageview'"  # a constant of the schema, not a value from a request

AddParameter = Callable[[Any], str]


_NO_GOALS = "none (add one on the site's Goals page or with footfall goals add)"


def with_goals(query: StatsQuery, goals: Sequence[Goal]) -> StatsQuery:
    """`query` with the site's goals, once its goal filters are known to name real goals."""
    known = {goal.name for goal in goals}
    for index, filter_ in enumerate(query.filters):
        if filter_.dimension.name != GOAL or filter_.op == "contains":
            continue
        for value in filter_.values:
            if value not in known:
                listed = ", ".join(sorted(known)) if known else _NO_GOALS
                raise BadRequest(
                    f'filters[{index}]: unknown goal "{value}"; goals of this site: {listed}'
                )
    return dataclasses.replace(query, goals=tuple(goals))


def selected(filter_: Filter, goals: Sequence[Goal]) -> list[Goal]:
    """The goals a goal filter names (for `is_not`, the goals it excludes)."""
    if filter_.op == "contains":
        return [g for g in goals if any(value in g.name for value in filter_.values)]
    return [g for g in goals if g.name in filter_.values]


def completes(goal: Goal, add: AddParameter, dialect: Dialect) -> str:
    """SQL: whether the event `e` completes `goal`."""
    if goal.kind == "event":
        return f"e.name = {add(goal.match)}"
    if is_exact(goal.match):
        return f"(e.name = {_PAGEVIEW} AND e.pathname = {add(goal.match)})"
    match = dialect.regex_match("e.pathname", add(regex(goal.match)))
    return f"(e.name = {_PAGEVIEW} AND {match})"


def condition(filter_: Filter, goals: Sequence[Goal], add: AddParameter, dialect: Dialect) -> str:
    """SQL: whether the event `e` passes a goal filter."""
    chosen = selected(filter_, goals)
    found = (
        "(" + " OR ".join(completes(g, add, dialect) for g in chosen) + ")" if chosen else "FALSE"
    )
    return f"NOT {found}" if filter_.op == "is_not" else found


def join(goals: Sequence[Goal], add: AddParameter, dialect: Dialect) -> str:
    """SQL: the goal breakdown's join of each event with every goal it completes; the row's
    goal name is `GOAL_NAME`. Goals are numbered by position (constants, not input)."""
    if not goals:
        return "\n    JOIN (SELECT 0 AS i, CAST(NULL AS TEXT) AS name) AS g ON FALSE"
    rows = ", ".join(f"({i}, CAST({add(goal.name)} AS TEXT))" for i, goal in enumerate(goals))
    on = " OR ".join(
        f"(g.i = {i} AND {completes(goal, add, dialect)})" for i, goal in enumerate(goals)
    )
    return f"\n    JOIN (VALUES {rows}) AS g(i, name) ON {on}"


def names(query: StatsQuery) -> list[str]:
    """The rows of the goal breakdown: every goal's name, once."""
    return list(dict.fromkeys(goal.name for goal in query.goals))


def denominator(query: StatsQuery, values: Sequence[str] | None) -> StatsQuery:
    """The query whose unique visitors divide the conversions of `query`'s rows: the same
    without its goal filters, counting visitors; for a breakdown, restricted to the rows'
    `values` (the goal breakdown has one denominator for all rows: an aggregate)."""
    filters = tuple(f for f in query.filters if f.dimension.name != GOAL)
    base = dataclasses.replace(query, filters=filters, metrics=("visitors",), compare=False)
    if query.kind is not Kind.BREAKDOWN:
        return base
    assert query.breakdown is not None
    if query.breakdown.name == GOAL:
        return dataclasses.replace(base, kind=Kind.AGGREGATE, breakdown=None)
    rows = Filter("is", query.breakdown, tuple(values or ()))
    return dataclasses.replace(
        base, filters=(*filters, rows), limit=max(1, len(rows.values)), page=1
    )
