"""A stats query as an immutable value, parsed and validated from the API's query parameters.

Every validation error is a `BadRequest` whose message names the parameter and, where there is
a fixed set, the allowed values: `metrics: unknown metric "foo"; allowed: visitors, …`.
Parsing needs no database: the site id comes from authentication and `now` from the clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from footfall.errors import BadRequest
from footfall.stats.dimensions import ALLOWED as ALLOWED_DIMENSIONS
from footfall.stats.dimensions import GOAL, Dimension, dimension
from footfall.stats.intervals import parse_interval
from footfall.stats.periods import DEFAULT_PERIOD, DateRange, date_range, parse_timezone
from footfall.storage.goals import Goal


class Kind(StrEnum):
    AGGREGATE = "aggregate"
    TIMESERIES = "timeseries"
    BREAKDOWN = "breakdown"


METRICS: tuple[str, ...] = (
    "visitors",
    "visits",
    "pageviews",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
    "events",
    "conversions",
    "conversion_rate",
)
# Metrics of a goal: they need a goal filter (`is` or `contains` on event:goal) or the
# event:goal breakdown to say which goal.
GOAL_METRICS = frozenset({"conversions", "conversion_rate"})
# Metrics computed over whole visits (they need the per-visit aggregation).
VISIT_METRICS = frozenset({"visits", "views_per_visit", "bounce_rate", "visit_duration"})
OPERATORS: tuple[str, ...] = ("is", "is_not", "contains")
COMPARISONS: tuple[str, ...] = ("previous_period",)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_PAGE = 100_000
MAX_FILTERS = 20
MAX_FILTER_VALUES = 100
MAX_VALUE_LENGTH = 2000

# The parameters each endpoint takes; anything else is refused (a typo would otherwise be
# silently ignored and answer a different question).
_COMMON = ("websiteId", "period", "date", "timezone", "metrics", "filters")
PARAMETERS: dict[Kind, tuple[str, ...]] = {
    Kind.AGGREGATE: (*_COMMON, "compare"),
    Kind.TIMESERIES: (*_COMMON, "interval", "compare"),
    Kind.BREAKDOWN: (*_COMMON, "property", "limit", "page", "compare"),
}


@dataclass(frozen=True, slots=True)
class Filter:
    """`dimension` `op` any of `values` (values ORed); a query's filters are ANDed."""

    op: str
    dimension: Dimension
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatsQuery:
    kind: Kind
    site_id: str
    period: str
    range: DateRange
    metrics: tuple[str, ...]
    now: float
    filters: tuple[Filter, ...] = ()
    breakdown: Dimension | None = None  # the `property` parameter (breakdown only)
    interval: str | None = None  # timeseries only
    limit: int = DEFAULT_LIMIT  # breakdown only
    page: int = 1
    compare: bool = False  # with the previous period (compare=previous_period)
    # The site's goals, set by `stats.goals.with_goals` when the query reads event:goal.
    goals: tuple[Goal, ...] = ()

    @property
    def needs_goals(self) -> bool:
        """Whether the query reads event:goal (so the site's goals must be loaded)."""
        return any(d.name == GOAL for d in self.dimensions)

    @property
    def counts_goals(self) -> bool:
        """Whether the selected events are goal completions: a goal filter that selects goals
        (`is`, `contains`), or the goal breakdown. Then `events` counts completions."""
        if self.breakdown is not None and self.breakdown.name == GOAL:
            return True
        return any(f.dimension.name == GOAL and f.op != "is_not" for f in self.filters)

    @property
    def timezone(self) -> str:
        return self.range.timezone

    @property
    def needs_visits(self) -> bool:
        """Whether the per-visit aggregation is needed (visit metrics or visit dimensions)."""
        return bool(VISIT_METRICS.intersection(self.metrics)) or any(
            d.scope == "visit" for d in self.dimensions
        )

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        """Every dimension the query reads: the filters' and the breakdown property."""
        found = tuple(f.dimension for f in self.filters)
        return (*found, self.breakdown) if self.breakdown is not None else found


def parse_query(
    kind: Kind,
    site_id: str,
    params: Iterable[tuple[str, str]],
    now: float,
    default_timezone: str = "UTC",
) -> StatsQuery:
    """The query the parameters describe (`params` as (name, value) pairs, repeats included);
    without a `timezone` parameter, days and buckets are those of `default_timezone` (the
    site's)."""
    values = _single_values(kind, params)
    timezone = parse_timezone(values.get("timezone"), default_timezone)
    period = values.get("period") or DEFAULT_PERIOD
    range_ = date_range(period, values.get("date"), timezone, now)
    metrics = parse_metrics(values.get("metrics"))
    filters = parse_filters(values.get("filters"))
    breakdown = kind is Kind.BREAKDOWN
    query = StatsQuery(
        kind=kind,
        site_id=site_id,
        period=period,
        range=range_,
        metrics=metrics,
        now=now,
        filters=filters,
        breakdown=parse_property(values.get("property")) if breakdown else None,
        interval=(
            parse_interval(values.get("interval"), range_) if kind is Kind.TIMESERIES else None
        ),
        limit=_parse_int("limit", values.get("limit"), DEFAULT_LIMIT, MAX_LIMIT),
        page=_parse_int("page", values.get("page"), 1, MAX_PAGE),
        compare=_parse_compare(values.get("compare")),
    )
    goal_metrics = [m for m in metrics if m in GOAL_METRICS]
    if goal_metrics and not query.counts_goals:
        raise BadRequest(
            f"metrics: {goal_metrics[0]} needs a goal: add a filter "
            f'["is", "{GOAL}", ["<goal name>"]] or break down by property={GOAL}'
        )
    return query


def _single_values(kind: Kind, params: Iterable[tuple[str, str]]) -> dict[str, str]:
    allowed = PARAMETERS[kind]
    values: dict[str, str] = {}
    for name, value in params:
        if name not in allowed:
            raise BadRequest(f'unknown parameter "{name}"; allowed: {", ".join(allowed)}')
        if name in values:
            raise BadRequest(f"{name}: given more than once")
        check_text(name, value)
        values[name] = value
    return values


def check_text(name: str, value: str) -> None:
    """Refuse text the stores cannot hold or compare: NUL characters (PostgreSQL text has none)
    and unpaired surrogates (not encodable as UTF-8; JSON escapes like "\\ud800" make them)."""
    if "\x00" in value:
        raise BadRequest(f"{name}: must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{name}: must be valid Unicode text (no unpaired surrogates)") from None


def _strings(value: object) -> Iterable[str]:
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def parse_metrics(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ("visitors",)
    allowed = ", ".join(METRICS)
    metrics: list[str] = []
    for raw in value.split(","):
        metric = raw.strip()
        if not metric:
            raise BadRequest(f"metrics: empty metric name; allowed: {allowed}")
        if metric not in METRICS:
            raise BadRequest(f'metrics: unknown metric "{metric}"; allowed: {allowed}')
        if metric in metrics:
            raise BadRequest(f'metrics: "{metric}" given more than once')
        metrics.append(metric)
    return tuple(metrics)


def parse_property(value: str | None) -> Dimension:
    if not value:
        raise BadRequest(f"property: is required; allowed: {ALLOWED_DIMENSIONS}")
    found = dimension(value)
    if found is None:
        raise BadRequest(f'property: unknown property "{value}"; allowed: {ALLOWED_DIMENSIONS}')
    return found


def parse_filters(value: str | None) -> tuple[Filter, ...]:
    """`filters`: a JSON array of `[operator, dimension, [value, …]]`."""
    if value is None or value == "":
        return ()
    shape = (
        'expected a JSON array of [operator, dimension, values], e.g. [["is", "event:page", ["/"]]]'
    )
    try:
        decoded = json.loads(value)
    except ValueError:
        raise BadRequest(f"filters: not valid JSON; {shape}") from None
    if not isinstance(decoded, list):
        raise BadRequest(f"filters: {shape}")
    for text in _strings(decoded):
        check_text("filters", text)
    if len(decoded) > MAX_FILTERS:
        raise BadRequest(f"filters: at most {MAX_FILTERS} filters")
    return tuple(_parse_filter(i, item, shape) for i, item in enumerate(decoded))


def _parse_filter(index: int, item: object, shape: str) -> Filter:
    name = f"filters[{index}]"
    if not isinstance(item, list) or len(item) != 3:
        raise BadRequest(f"{name}: {shape}")
    op, dimension_name, values = item
    if op not in OPERATORS:
        raise BadRequest(f"{name}: unknown operator {_show(op)}; allowed: {', '.join(OPERATORS)}")
    found = dimension(dimension_name) if isinstance(dimension_name, str) else None
    if found is None:
        raise BadRequest(
            f"{name}: unknown dimension {_show(dimension_name)}; allowed: {ALLOWED_DIMENSIONS}"
        )
    if (
        not isinstance(values, list)
        or not values
        or not all(isinstance(v, str) and v for v in values)
    ):
        raise BadRequest(f"{name}: values must be a non-empty list of non-empty strings")
    if len(values) > MAX_FILTER_VALUES:
        raise BadRequest(f"{name}: at most {MAX_FILTER_VALUES} values")
    if any(len(v) > MAX_VALUE_LENGTH for v in values):
        raise BadRequest(f"{name}: values are at most {MAX_VALUE_LENGTH} characters long")
    return Filter(op, found, tuple(dict.fromkeys(values)))


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)[:100]


def _parse_int(name: str, value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and 1 <= int(value) <= maximum):
        raise BadRequest(f"{name}: expected an integer from 1 to {maximum}")
    return int(value)


def _parse_compare(value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value not in COMPARISONS:
        raise BadRequest(f'compare: unknown value "{value}"; allowed: {", ".join(COMPARISONS)}')
    return True
