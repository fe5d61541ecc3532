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

That is DuckDB's statement. PostgreSQL's has its own shape for the same rows
(`_Builder.build_postgres`: one pass, visit totals and attributes as window functions; its
planner materialises CTEs read twice and sorts for each ordered aggregate, which made the
statement above 2.5 times slower there); tests/stats/test_postgres_statements.py compares
the two stores' answers.
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
    visits: str = "v"  # the alias whose rows carry the visit attributes

    def expression(self, dimension: Dimension) -> str:
        """The value of `dimension` for a row of `e` joined with `v`; never NULL."""
        if dimension.scope == "visit":
            return f"{self.visits}.{dimension.alias}"  # already coalesced
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
        if self.dialect.name == "postgres":
            return self.build_postgres(range_)
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

    def window_order(self, dimension: Dimension) -> str:
        """PostgreSQL: the order of a visit's events whose first row holds visit attribute
        `dimension` (see `window_attribute`)."""
        column = dimension.column
        if dimension.visit_value == "first":
            return f'ts, {column} COLLATE "C"'
        ts = "ts DESC" if dimension.visit_value == "exit" else "ts"
        return f'name <> {PAGEVIEW}, {ts}, {column} COLLATE "C"'

    def window_attribute(self, dimension: Dimension, window: str) -> str:
        """PostgreSQL: a visit attribute as a window function over the visit's events, equal
        to `Dialect.first`'s ordered aggregate: the value of the first event by (ts, value),
        NULLs last as in `ORDER BY`; for entry and exit pages the first or last pageview's
        (pageviews sort first), NULL when the visit has no pageview. `window`: the visit's
        events in `window_order`."""
        column = dimension.column
        label = self.params.add(dimension.none_label)
        value = f"first_value({column}) OVER {window}"
        if dimension.visit_value != "first":
            pageviews = f"count(*) FILTER (WHERE name = {PAGEVIEW}) OVER visit"
            value = f"CASE WHEN {pageviews} > 0 THEN {value} END"
        return f"coalesce({value}, {label}) AS {dimension.alias}"

    def build_postgres(self, range_: DateRange) -> str:
        """The statement for PostgreSQL: the rows of `build`'s statement, computed in one pass
        over the range's events, without self-join (see `_PG_*`). Three shapes, by what the
        query reads:

        * no visit metric nor visit dimension: the matching events counted per value, a
          timeseries' bucket formatted per bucket, not per event (`_PG_EVENTS_ONLY`);
        * visit metrics, and only visit dimensions (no event filter, a visit breakdown or
          none; not a timeseries): every event of a selected visit is selected, so one row
          per visit suffices (`_PG_PER_VISIT`; with no dimension at all, a hash aggregate per
          visit, without sorting: `_PG_VISITS_ONLY`);
        * otherwise each event carries its visit's totals and attributes (window functions),
          and rows are grouped per (value, visit), then per value (`_PG_PER_EVENT`)."""
        query, dialect = self.query, self.dialect
        self.visits = "e"  # the visit attributes are columns of each event's row
        site = self.params.add(query.site_id)
        start = self.params.add(dialect.timestamp(range_.start))
        end = self.params.add(dialect.timestamp(range_.end))
        columns = ["visitor_id", "visit_id", "ts", "name"]
        for d in query.dimensions:
            if d.column not in columns:
                columns.append(d.column)
        visit_dimensions = {d.alias: d for d in query.dimensions if d.scope == "visit"}
        per_visit = (
            query.needs_visits
            and query.kind is not Kind.TIMESERIES
            and all(d.scope == "visit" for d in query.dimensions)
        )
        # The window `visit`: the visit's events, whole, in the order of its first attribute;
        # other attributes with another order get a window of their own.
        window = ""
        if query.needs_visits:
            orders = [self.window_order(d) for d in visit_dimensions.values()]
            columns.append(_PG_VISIT_TOTALS)
            for d, order in zip(visit_dimensions.values(), orders, strict=True):
                own = f"(PARTITION BY {_VISIT} ORDER BY {order})"
                columns.append(self.window_attribute(d, "visit" if order == orders[0] else own))
            if per_visit:
                columns.append("row_number() OVER visit AS visit_row")
            order = f" ORDER BY {orders[0]}{_WHOLE}" if orders else ""
            window = f"\n    WINDOW visit AS (PARTITION BY {_VISIT}{order})"
        by_goal = query.breakdown is not None and query.breakdown.name == GOAL
        join = goals.join(query.goals, self.params.add, dialect) if by_goal else ""
        label = "dim"
        if query.kind is Kind.TIMESERIES:
            assert query.interval is not None
            # Grouped by the local time's truncation; the text (`Dialect.bucket`'s) is made
            # once per bucket, not per event.
            zone = self.params.add(query.timezone)
            dim = (
                f"date_trunc('{_UNITS[query.interval]}', (e.ts AT TIME ZONE CAST({zone} AS TEXT)))"
            )
            label = """to_char(dim, 'YYYY-MM-DD"T"HH24:MI:SS')"""
            order = dialect.binary("r.dim")
        else:
            dim = "CAST('' AS TEXT)"
            if query.breakdown is not None:
                dim = self.expression(query.breakdown)
            order = f"r.visitors DESC, {dialect.binary('r.dim')}"
        conditions = [self.condition(f) for f in query.filters]
        if per_visit:
            conditions.insert(0, "e.visit_row = 1")
        where = f"\n    WHERE {' AND '.join(conditions)}" if conditions else ""
        page = ""
        if query.kind is Kind.BREAKDOWN and not by_goal:  # goals are paged by the engine
            limit = self.params.add(query.limit)
            offset = self.params.add((query.page - 1) * query.limit)
            page = f"\nLIMIT {limit} OFFSET {offset}"
        if not query.needs_visits:
            template = _PG_EVENTS_ONLY
        elif per_visit and not query.dimensions:
            template = _PG_VISITS_ONLY
        elif per_visit:
            template = _PG_PER_VISIT
        else:
            template = _PG_PER_EVENT
        return _fill(
            template,
            kind=query.kind.value,
            columns=",\n        ".join(columns),
            site=site,
            start=start,
            end=end,
            window=window,
            dim=dim,
            label=label,
            join=join,
            where=where,
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

# PostgreSQL's statements (`_Builder.build_postgres`). `e`: the site's events in the range;
# with visits, each event also carries its visit's totals and attributes as window functions
# over the visit (one sort of the range's events by visit, instead of a per-visit aggregate
# joined back to the events and a DISTINCT of the matching visits). `g`: one row per (value,
# visit), so visits are counted and their totals summed per value directly; a visit's totals
# are equal on each of its events, hence `min`. Unique visitors stay a count(DISTINCT …) per
# value: measured at 10M events, it beat a hash aggregate per (value, visitor), which spills.
_VISIT = "visitor_id, visit_id"
_WHOLE = " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"  # the frame: every event

_PG_VISIT_TOTALS = f"""CAST(round(extract(epoch FROM max(ts) OVER visit - min(ts) OVER visit)
            * 1000000) AS BIGINT) AS v_duration_us,
        count(*) FILTER (WHERE name = {PAGEVIEW}) OVER visit AS v_pageviews,
        count(*) FILTER (WHERE name <> {PAGEVIEW}) OVER visit AS v_custom"""

_PG_EVENTS = """/* stats.{kind} */
WITH e AS (
    SELECT {columns}
    FROM events
    WHERE site_id = {site} AND ts >= {start} AND ts < {end}{window}
),"""

_PG_VISIT_RESULT = """
SELECT r.* FROM (
    SELECT {label} AS dim, count(DISTINCT visitor_id) AS visitors,
        CAST(sum(pageviews) AS BIGINT) AS pageviews, CAST(sum(events) AS BIGINT) AS events,
        count(*) AS visits,
        count(*) FILTER (WHERE v_pageviews = 1 AND v_custom = 0) AS bounces,
        CAST(sum(v_pageviews) AS BIGINT) AS visit_pageviews,
        CAST(sum(v_duration_us) AS BIGINT) AS duration_us
    FROM g GROUP BY g.dim
) AS r
ORDER BY {order}{page}"""

# No visit metric nor dimension: the matching events, counted per value.
_PG_EVENTS_ONLY = (
    _PG_EVENTS  # noqa: S608 - constants of this module, filled by `_fill`
    + """
m AS (
    SELECT {dim} AS dim, e.visitor_id, e.name
    FROM e{join}{where}
)
SELECT r.* FROM (
    SELECT {label} AS dim, count(DISTINCT visitor_id) AS visitors,
        count(*) FILTER (WHERE name = 'pageview') AS pageviews,
        count(*) FILTER (WHERE name <> 'pageview') AS events,
        0, 0, 0, 0
    FROM m GROUP BY m.dim
) AS r
ORDER BY {order}{page}"""
)

# Only visit dimensions: a selected visit's events are all selected; one row per visit (its
# first by `visit_row`, any one: every column read is the visit's).
_PG_PER_VISIT = (
    _PG_EVENTS  # noqa: S608 - constants of this module, filled by `_fill`
    + """
g AS (
    SELECT {dim} AS dim, e.visitor_id, e.v_pageviews AS pageviews, e.v_custom AS events,
        e.v_pageviews, e.v_custom, e.v_duration_us
    FROM e{join}{where}
)"""
    + _PG_VISIT_RESULT
)

# Visit metrics without any dimension: per visit, its totals (every event is selected).
_PG_VISITS_ONLY = (
    """/* stats.{kind} */"""  # noqa: S608 - constants of this module, filled by `_fill`
    + """
WITH g AS (
    SELECT CAST('' AS TEXT) AS dim, visitor_id,
        count(*) FILTER (WHERE name = 'pageview') AS pageviews,
        count(*) FILTER (WHERE name <> 'pageview') AS events,
        count(*) FILTER (WHERE name = 'pageview') AS v_pageviews,
        count(*) FILTER (WHERE name <> 'pageview') AS v_custom,
        CAST(round(extract(epoch FROM max(ts) - min(ts)) * 1000000) AS BIGINT) AS v_duration_us
    FROM events
    WHERE site_id = {site} AND ts >= {start} AND ts < {end}
    GROUP BY visitor_id, visit_id
)"""
    + _PG_VISIT_RESULT
)

# The general case: per (value, visit) the matching events' counts and the visit's totals.
_PG_PER_EVENT = (
    _PG_EVENTS  # noqa: S608 - constants of this module, filled by `_fill`
    + """
g AS (
    SELECT {dim} AS dim, e.visitor_id, e.visit_id,
        count(*) FILTER (WHERE e.name = 'pageview') AS pageviews,
        count(*) FILTER (WHERE e.name <> 'pageview') AS events,
        min(e.v_pageviews) AS v_pageviews, min(e.v_custom) AS v_custom,
        min(e.v_duration_us) AS v_duration_us
    FROM e{join}{where}
    GROUP BY 1, e.visitor_id, e.visit_id
)"""
    + _PG_VISIT_RESULT
)


def build(query: StatsQuery, range_: DateRange, dialect: str) -> tuple[str, list[Any]]:
    """The SQL and its parameters for `query` over `range_` (the query's own range, or the
    previous period's) in the named dialect."""
    builder = _Builder(query, DIALECTS[dialect])
    sql = builder.build(range_)
    return sql, builder.params.values
