"""A `StatsQuery` as one SQL statement, in the dialect of the event store that runs it.

Every value travels as a bind parameter (`$1`, `$2`, … in both DuckDB and PostgreSQL); the
only names written into the SQL are the whitelisted columns of `stats.dimensions`, the
`date_trunc` units of `stats.intervals`, and constants of this module. Statements are tagged
`/* stats.<kind> */` so slow-query logs point here.

The statement, for a breakdown (aggregate: one row; timeseries: one row per time bucket):

    e   the site's events in [start, end)
    v   per visit (visitor id + visit id), from its events in the range: duration, pageviews,
        custom events, and the visit attributes the query reads (first event's source, …)
        -- only when a visit metric or a visit dimension is asked for
    m   the events that pass the filters (event filters on the event, visit filters on its
        visit), each with its row's value `dim`
    ev  per `dim`: unique visitors, pageviews, custom events (over the events of m)
    vs  per `dim`: the visits with at least one event in m, and their bounces, pageviews and
        total duration (over whole visits)

and the result is ordered by visitors (then value), with LIMIT/OFFSET for breakdowns. Ratios
(bounce rate, …) are computed from these sums in Python, identically for both stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from footfall.stats import goals
from footfall.stats.dimensions import GOAL, Dimension
from footfall.stats.periods import DateRange
from footfall.stats.query import Filter, Kind, StatsQuery

PAGEVIEW = "'pageview'"  # a constant of the schema, not a value from a request

# The result columns, in order.
COLUMNS = (
    "dim",
    "visitors",
    "pageviews",
    "events",
    "visits",
    "bounces",
    "visit_pageviews",
    "duration_us",
)

# `date_trunc` units by interval name: the only way an interval reaches the SQL.
_UNITS = {"minute": "minute", "hour": "hour", "day": "day", "week": "week", "month": "month"}


class Dialect(Protocol):
    name: str

    def timestamp(self, unix: float) -> Any:
        """A Unix time as the store's driver binds a `ts` value."""
        ...

    def first(self, column: str, *, pageviews_only: bool = False, last: bool = False) -> str:
        """Aggregate: `column` of the visit's first (or last) event, NULLs included."""
        ...

    def duration_us(self) -> str:
        """Aggregate: microseconds between the visit's first and last event."""
        ...

    def bucket(self, zone: str, unit: str) -> str:
        """`e.ts` truncated to `unit` in time zone `zone` (a parameter), as the text
        `YYYY-MM-DDTHH:MM:SS` of the local time."""
        ...

    def prop(self, key: str) -> str:
        """The text of custom property `key` (a parameter) of `e.props`, NULL when absent."""
        ...

    def prop_key(self, key: str) -> str:
        """The bind value for `prop`'s parameter."""
        ...

    def binary(self, expression: str) -> str:
        """`expression` compared byte-wise (one ordering for both stores)."""
        ...

    def regex_match(self, text: str, pattern: str) -> str:
        """Whether `text` matches the regular expression `pattern` (a parameter; anchored)."""
        ...


class DuckDBDialect:
    name = "duckdb"

    def timestamp(self, unix: float) -> Any:
        return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)  # ts is naive UTC

    def first(self, column: str, *, pageviews_only: bool = False, last: bool = False) -> str:
        order = "ts DESC" if last else "ts"
        where = f" FILTER (WHERE name = {PAGEVIEW})" if pageviews_only else ""
        return f"first({column} ORDER BY {order}, {column}){where}"

    def duration_us(self) -> str:
        return "date_diff('microsecond', min(ts), max(ts))"

    def bucket(self, zone: str, unit: str) -> str:
        local = f"timezone(CAST({zone} AS TEXT), timezone('UTC', e.ts))"
        return f"strftime(date_trunc('{unit}', {local}), '%Y-%m-%dT%H:%M:%S')"

    def prop(self, key: str) -> str:
        return f"(e.props ->> CAST({key} AS TEXT))"

    def prop_key(self, key: str) -> str:
        # A JSON pointer, so that keys with dots, `$` or `/` name one key.
        return "/" + key.replace("~", "~0").replace("/", "~1")

    def binary(self, expression: str) -> str:
        return expression  # DuckDB compares strings byte-wise by default

    def regex_match(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {pattern})"


class PostgresDialect:
    name = "postgres"

    def timestamp(self, unix: float) -> Any:
        return unix  # the store's timestamptz codec takes Unix seconds

    def first(self, column: str, *, pageviews_only: bool = False, last: bool = False) -> str:
        order = "ts DESC" if last else "ts"
        where = f" FILTER (WHERE name = {PAGEVIEW})" if pageviews_only else ""
        return f'(array_agg({column} ORDER BY {order}, {column} COLLATE "C"){where})[1]'

    def duration_us(self) -> str:
        return "CAST(round(extract(epoch FROM max(ts) - min(ts)) * 1000000) AS BIGINT)"

    def bucket(self, zone: str, unit: str) -> str:
        local = f"(e.ts AT TIME ZONE CAST({zone} AS TEXT))"
        return f"""to_char(date_trunc('{unit}', {local}), 'YYYY-MM-DD"T"HH24:MI:SS')"""

    def prop(self, key: str) -> str:
        return f"(e.props ->> CAST({key} AS TEXT))"

    def prop_key(self, key: str) -> str:
        return key

    def binary(self, expression: str) -> str:
        return f'{expression} COLLATE "C"'

    def regex_match(self, text: str, pattern: str) -> str:
        return f"({text} ~ {pattern})"


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "postgres": PostgresDialect()}


@dataclass
class _Params:
    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


@dataclass
class _Builder:
    query: StatsQuery
    dialect: Dialect
    params: _Params = field(default_factory=_Params)

    def expression(self, dimension: Dimension) -> str:
        """The value of `dimension` for a row of `e` joined with `v`; never NULL."""
        if dimension.scope == "visit":
            return f"v.{dimension.alias}"  # already coalesced in v
        if dimension.name == GOAL:
            return goals.GOAL_NAME  # the breakdown's join with the goals (`goals.join`)
        label = self.params.add(dimension.none_label)
        if dimension.prop_key is not None:
            key = self.params.add(self.dialect.prop_key(dimension.prop_key))
            return f"coalesce({self.dialect.prop(key)}, {label})"
        return f"coalesce(e.{dimension.column}, {label})"

    def condition(self, filter_: Filter) -> str:
        if filter_.dimension.name == GOAL:
            return goals.condition(filter_, self.query.goals, self.params.add, self.dialect)
        value = self.expression(filter_.dimension)
        names = [self.params.add(v) for v in filter_.values]
        if filter_.op == "is":
            return f"{value} IN ({', '.join(names)})"
        if filter_.op == "is_not":
            return f"{value} NOT IN ({', '.join(names)})"
        return "(" + " OR ".join(f"strpos({value}, {name}) > 0" for name in names) + ")"

    def visit_attribute(self, dimension: Dimension) -> str:
        first = self.dialect.first(
            dimension.column,
            pageviews_only=dimension.visit_value != "first",
            last=dimension.visit_value == "exit",
        )
        label = self.params.add(dimension.none_label)
        return f"coalesce({first}, {label}) AS {dimension.alias}"

    def build(self, range_: DateRange) -> str:
        query, dialect = self.query, self.dialect
        site = self.params.add(query.site_id)
        start = self.params.add(dialect.timestamp(range_.start))
        end = self.params.add(dialect.timestamp(range_.end))
        columns = ["visitor_id", "visit_id", "ts", "name"]
        for d in query.dimensions:
            if d.column not in columns:
                columns.append(d.column)
        ctes = [
            _fill(_EVENTS, columns=", ".join(columns), site=site, start=start, end=end),
        ]
        join = ""
        source = "ev"
        if query.needs_visits:
            visit_dimensions = {d.alias: d for d in query.dimensions if d.scope == "visit"}
            attributes = "".join(
                f",\n        {self.visit_attribute(d)}" for d in visit_dimensions.values()
            )
            ctes.append(_fill(_VISITS, duration=dialect.duration_us(), attributes=attributes))
            join = "\n    JOIN v ON v.visitor_id = e.visitor_id AND v.visit_id = e.visit_id"
            source = "ev LEFT JOIN vs ON vs.dim = ev.dim"
        by_goal = query.breakdown is not None and query.breakdown.name == GOAL
        if by_goal:
            join += goals.join(query.goals, self.params.add, dialect)

        if query.kind is Kind.TIMESERIES:
            assert query.interval is not None
            zone = self.params.add(query.timezone)
            dim = dialect.bucket(zone, _UNITS[query.interval])
            order = dialect.binary("ev.dim")
        else:
            dim = "CAST('' AS TEXT)"
            if query.breakdown is not None:
                dim = self.expression(query.breakdown)
            order = f"ev.visitors DESC, {dialect.binary('ev.dim')}"
        conditions = [self.condition(f) for f in query.filters]
        where = f"\n    WHERE {' AND '.join(conditions)}" if conditions else ""
        ctes.append(_fill(_MATCHING, dim=dim, join=join, where=where))
        ctes.append(_EVENT_TOTALS)
        if query.needs_visits:
            ctes.append(_VISIT_TOTALS)
        page = ""
        if query.kind is Kind.BREAKDOWN and not by_goal:  # goals are paged by the engine
            limit = self.params.add(query.limit)
            offset = self.params.add((query.page - 1) * query.limit)
            page = f"\nLIMIT {limit} OFFSET {offset}"
        return _fill(
            _SELECT,
            kind=query.kind.value,
            ctes=",\n".join(ctes),
            visit_columns=_VISIT_COLUMNS if query.needs_visits else "0, 0, 0, 0",
            source=source,
            order=order,
            page=page,
        )


def _fill(template: str, **parts: str) -> str:
    """`template` with `parts` in place: SQL built only from this module's constants,
    whitelisted names and `$n` parameter references (never a value)."""
    return template.format(**parts)


# The statement's parts, filled by `_Builder.build` (see the module docstring).
_EVENTS = """e AS (
    SELECT {columns} FROM events
    WHERE site_id = {site} AND ts >= {start} AND ts < {end}
)"""

_VISITS = """v AS (
    SELECT visitor_id, visit_id,
        {duration} AS duration_us,
        count(*) FILTER (WHERE name = 'pageview') AS pageviews,
        count(*) FILTER (WHERE name <> 'pageview') AS custom{attributes}
    FROM e GROUP BY visitor_id, visit_id
)"""

_MATCHING = """m AS (
    SELECT {dim} AS dim, e.visitor_id, e.visit_id, e.name
    FROM e{join}{where}
)"""

_EVENT_TOTALS = """ev AS (
    SELECT dim, count(DISTINCT visitor_id) AS visitors,
        count(*) FILTER (WHERE name = 'pageview') AS pageviews,
        count(*) FILTER (WHERE name <> 'pageview') AS events
    FROM m GROUP BY dim
)"""

_VISIT_TOTALS = """vs AS (
    SELECT r.dim, count(*) AS visits,
        count(*) FILTER (WHERE v.pageviews = 1 AND v.custom = 0) AS bounces,
        sum(v.pageviews) AS visit_pageviews,
        sum(v.duration_us) AS duration_us
    FROM (SELECT DISTINCT dim, visitor_id, visit_id FROM m) AS r
    JOIN v ON v.visitor_id = r.visitor_id AND v.visit_id = r.visit_id
    GROUP BY r.dim
)"""

_VISIT_COLUMNS = """coalesce(vs.visits, 0), coalesce(vs.bounces, 0),
       CAST(coalesce(vs.visit_pageviews, 0) AS BIGINT),
       CAST(coalesce(vs.duration_us, 0) AS BIGINT)"""

_SELECT = """/* stats.{kind} */
WITH {ctes}
SELECT ev.dim, ev.visitors, ev.pageviews, ev.events,
       {visit_columns}
FROM {source}
ORDER BY {order}{page}"""


def build(query: StatsQuery, range_: DateRange, dialect: str) -> tuple[str, list[Any]]:
    """The SQL and its parameters for `query` over `range_` (the query's own range, or the
    previous period's) in the named dialect."""
    builder = _Builder(query, DIALECTS[dialect])
    sql = builder.build(range_)
    return sql, builder.params.values
