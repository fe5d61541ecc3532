"""Rollups of the embedded store: hourly sums that answer the dashboard's stats queries fast,
with exactly the answers of the raw SQL of `stats.sql`.

Why visitors. Every metric of a row is a sum over visitors: a visitor adds 1 to `visitors`,
and its pageviews, events, visits, bounces, visit pageviews and visit duration. For a date range
R = [start, end), a visitor **wholly inside R** (first and last event in R) contributes what it
contributes over all its events, which can be summed ahead of time; only visitors with events
both inside and outside R must be read raw. Unique visitors become sums, and no query groups
events into visits.

Tables (DuckDB, in the events file; derived data, dropped and rebuilt when `VERSION` changes):

    stats_rollup_state     one row: VERSION, the watermark W, the refresh step, a generation
    stats_rollup_spans     per (site, visitor): its first and last event
    stats_rollup_total     per (site, fh, lh): the sums of the visitors whose first and last
                           events fall in the hours fh and lh (the aggregate)
    stats_rollup_<dim>     per (site, fh, lh, value) for each of `DIMENSIONS`: the same, over
                           each visitor's events with that value (event dimensions: page) or its
                           visits with that value (visit dimensions: the visit's source, ...)
    stats_rollup_quarters  per (site, fh, lh, q, previous q): timeseries sums by quarter hour q
                           (see "Timeseries")
    stats_rollup_pending   visitors whose sums may be stale (backfills, deletions)

Invariant: the sums reflect, for every visitor in `stats_rollup_spans`, exactly its events
before W, and no other visitor has events before W; pending visitors excepted. `refresh_step`
moves W forward: it recomputes from their events every visitor with events in [W, W') and
every other visitor of the same first hours (the sums are per hour), then sets W = W'. An
append with an event before W first marks its visitor pending, as does a deletion
(`forget_before`); the next refresh recomputes them.

A query over R (`script`) splits the visitors with events in R:

* rolled: the sums of the hours wholly inside R (fh >= start, lh + 1 h <= end);
* late: visitors with events in R from W on. Their events in R are read raw, and if their span
  (before W) lies in rolled hours, their sums there are taken back out: the same computation
  over their events before W, subtracted (exactly what the sums hold for them);
* edge: visitors whose span is not in rolled hours (it starts before R or ends after it, or
  lies in its partial first or last hour): read raw.

The raw visitors' events are found inside time windows (where their spans say they are), so
DuckDB skips the rest of the table by its zone maps. Their sums are computed the way the raw
SQL computes them (per visit, then per visitor and value), signed, added to the rolled sums per
value, then ordered and paged like the raw SQL. A site with pending visitors runs the raw SQL
until the next refresh.

Timeseries. A visitor counts once in every bucket it has events in. Per visitor and quarter
hour q with events, the rollup keeps the previous quarter with events (or none): the visitor
counts in bucket b at its first quarter in b, the one whose previous quarter is in another
bucket (or none). Pageviews and events are summed per quarter; visits, bounces, visit pageviews
and durations likewise, with the previous quarter of the visit. Buckets come from the raw
SQL's own bucket expression at each quarter's start and end: if a bucket starts inside a
quarter (an offset of the time zone that is not whole quarter hours), or local time goes back
across a bucket start (`_monotone`), the raw SQL answers. Minute buckets always run raw.

Used for queries without filters whose breakdown (if any) is in `DIMENSIONS`, once the rollup
exists (W set). Which visitors fall in which part changes only the speed, never the answer:
tests/stats/test_rollup.py checks answers against the raw SQL on hand-made and generated data,
with appends after the watermark, backfills before it and deletions between refreshes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from footfall.stats.dimensions import DIMENSIONS as ALL_DIMENSIONS
from footfall.stats.dimensions import Dimension
from footfall.stats.intervals import buckets
from footfall.stats.periods import DateRange
from footfall.stats.query import Kind, StatsQuery
from footfall.stats.sql import DIALECTS

VERSION = 1
"""Bump when the sums change meaning (a dimension's definition, a metric): the tables are
dropped and rebuilt from the events."""

DIMENSIONS: tuple[str, ...] = (
    "event:page",
    "visit:source",
    "visit:country",
    "visit:browser",
    "visit:os",
    "visit:device",
)
"""The breakdowns the rollup answers: the dashboard's (each costs a table and refresh time)."""

LAG = 120.0
"""Seconds the watermark stays behind `now`: events still queued in the writer then arrive
after it, not as backfills."""

CHUNK_EVENTS = 200_000
"""Events one refresh step aims to read (its length in time adapts to it): bounds how long
one step holds the store thread, and so delays appends."""

STATE = "stats_rollup_state"
SPANS = "stats_rollup_spans"
TOTAL = "stats_rollup_total"
QUARTERS = "stats_rollup_quarters"
PENDING = "stats_rollup_pending"

Statement = tuple[str, list[Any]]

_FIRST_STEP = 3600.0
_MIN_STEP = 60.0
_MAX_STEP = 366 * 86_400.0
_SUMS = ("pageviews", "events", "visits", "bounces", "visit_pageviews", "duration_us")
_COLUMNS = ("visitors", *_SUMS)  # the raw SQL's result columns after `dim`

# The names every template may use.
_NAMES = {
    "state": STATE,
    "spans": SPANS,
    "total": TOTAL,
    "quarters": QUARTERS,
    "pending": PENDING,
    "pageview": "'pageview'",  # a constant of the schema, not a value from a request
    "counters": ",\n    ".join(f"{c} BIGINT NOT NULL" for c in _COLUMNS),
}


def _sql(template: str, **parts: str) -> str:
    """`template` with the table names and `parts` in place: SQL built only from this module's
    constants, the whitelisted names of `stats.dimensions` and `$n` parameter references."""
    return template.format(**_NAMES, **parts)


def table(name: str) -> str:
    """The rollup table of dimension `name` (one of `DIMENSIONS`: whitelisted)."""
    assert name in DIMENSIONS, name
    return "stats_rollup_" + name.replace(":", "_")


def _sum_tables() -> list[str]:
    return [TOTAL, *(table(name) for name in DIMENSIONS)]


@dataclass
class _Params:
    """`$n` parameters of one statement."""

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# --- maintenance (on the store's connection, on its thread) -------------------------------

_STATE_TABLE = """CREATE TABLE {state} (
    version INTEGER NOT NULL,
    watermark TIMESTAMP,          -- NULL: nothing rolled up yet
    step_seconds DOUBLE NOT NULL, -- the next refresh step's length
    generation BIGINT NOT NULL    -- changes whenever the sums do
)"""

_SPANS_TABLE = """CREATE TABLE {spans} (
    site_id VARCHAR NOT NULL,
    visitor_id BIGINT NOT NULL,
    first_ts TIMESTAMP NOT NULL,
    last_ts TIMESTAMP NOT NULL
)"""

_SUMS_TABLE = """CREATE TABLE {name} (
    site_id VARCHAR NOT NULL,
    fh TIMESTAMP NOT NULL,    -- the hour of the visitors' first event
    lh TIMESTAMP NOT NULL,    -- the hour of their last event
    value VARCHAR NOT NULL,   -- the dimension's value ('' in the total table)
    {counters}
)"""

_QUARTERS_TABLE = """CREATE TABLE {quarters} (
    site_id VARCHAR NOT NULL,
    fh TIMESTAMP NOT NULL,
    lh TIMESTAMP NOT NULL,
    q TIMESTAMP NOT NULL,     -- a quarter hour with events
    prev_q TIMESTAMP,         -- the visitor's (visit's) previous one, or NULL
    {counters}
)"""

_PENDING_TABLE = "CREATE TABLE {pending} (site_id VARCHAR NOT NULL, visitor_id BIGINT NOT NULL)"


def _tables() -> dict[str, str]:
    """Every rollup table and its definition."""
    found = {
        STATE: _sql(_STATE_TABLE),
        SPANS: _sql(_SPANS_TABLE),
        QUARTERS: _sql(_QUARTERS_TABLE),
        PENDING: _sql(_PENDING_TABLE),
    }
    for name in _sum_tables():
        found[name] = _sql(_SUMS_TABLE, name=name)
    return found


def _one(con: Any, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    # Fetch everything: DuckDB refuses other work on a connection with a result left open.
    rows: list[tuple[Any, ...]] = con.execute(sql, params).fetchall()
    return rows[0]


def prepare(con: Any) -> datetime | None:
    """Create the rollup tables, or recreate them empty if they were made by another VERSION;
    returns the watermark (None: nothing rolled up yet)."""
    con.execute(_sql("CREATE TABLE IF NOT EXISTS {state} (version INTEGER NOT NULL)"))
    rows = con.execute(_sql("SELECT * FROM {state}")).fetchall()
    if rows and rows[0][0] == VERSION:
        watermark: datetime | None = rows[0][1]
        return watermark
    _reset(con)
    return None


def _reset(con: Any) -> None:
    """Empty tables and no watermark: the raw SQL answers until the next refreshes."""
    con.execute("BEGIN")
    try:
        for name, definition in _tables().items():
            con.execute(_sql("DROP TABLE IF EXISTS {name}", name=name))
            con.execute(definition)
        # A generation never seen before: queries cache what they read per generation.
        generation = time.time_ns() // 1000
        con.execute(
            _sql("INSERT INTO {state} VALUES (?, NULL, ?, ?)"), [VERSION, _FIRST_STEP, generation]
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def mark_pending(con: Any, visitors: set[tuple[str, int]]) -> None:
    """These (site, visitor) pairs get events before the watermark (a backfill): the sums no
    longer reflect all their events before it. Runs before the events are appended."""
    sites, ids = zip(*visitors, strict=True)
    con.execute(_sql("INSERT INTO {pending} SELECT unnest(?), unnest(?)"), [list(sites), list(ids)])


def forget_before(con: Any, site_id: str, cutoff: datetime) -> None:
    """Events of `site_id` before `cutoff` are being deleted: the visitors with events before
    it become pending (recomputed from what is left at the next refresh)."""
    con.execute(
        _sql(
            "INSERT INTO {pending} SELECT site_id, visitor_id FROM {spans} "
            "WHERE site_id = ? AND first_ts < ?"
        ),
        [site_id, cutoff],
    )


def purge(con: Any, site_ids: list[str]) -> None:
    """Forget the sums of deleted sites (their events are deleted with them)."""
    for name in _tables():
        if name != STATE:
            statement = "DELETE FROM {name} WHERE site_id IN (SELECT unnest(?))"
            con.execute(_sql(statement, name=name), [site_ids])


def refresh_step(con: Any, target: datetime) -> tuple[datetime | None, bool]:
    """One step of bringing the rollup up to `target`, in one transaction: recompute the
    pending visitors, else move the watermark forward over about `CHUNK_EVENTS` events.
    Returns the watermark and whether there is more to do."""
    watermark, step = _one(con, _sql("SELECT watermark, step_seconds FROM {state}"))
    (pending,) = _one(con, _sql("SELECT count(*) FROM {pending}"))
    if pending and (watermark is None or pending > CHUNK_EVENTS // 4):
        # A large backfill (an import): rebuilding costs about as much, in bounded steps.
        _reset(con)
        return None, True
    if watermark is None:
        # Nothing rolled up: the (empty) sums reflect every event before the first one.
        (watermark,) = _one(con, "SELECT min(ts) FROM events")
        if watermark is None:
            return None, False
    if not pending and watermark >= target:
        return watermark, False
    end = watermark if pending else min(target, watermark + timedelta(seconds=step))
    con.execute("BEGIN")
    try:
        if pending:
            # Their events before the watermark may be anywhere: no lower bound.
            pending_visitors = _sql("SELECT DISTINCT site_id, visitor_id FROM {pending}")
            _recompute(con, pending_visitors, [], None, end)
            con.execute(_sql("DELETE FROM {pending}"))
        else:
            new = "SELECT DISTINCT site_id, visitor_id FROM events WHERE ts >= ? AND ts < ?"
            processed = _recompute(con, new, [watermark, end], watermark, end)
            if processed > 2 * CHUNK_EVENTS:
                step = max(_MIN_STEP, step / 2)
            elif processed < CHUNK_EVENTS / 2:
                step = min(_MAX_STEP, step * 2)
        con.execute(
            _sql("UPDATE {state} SET watermark = ?, step_seconds = ?, generation = generation + 1"),
            [end, step],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return end, end < target


# The first hours of the new visitors' spans: every visitor of those hours is recomputed.
_HOURS = """CREATE OR REPLACE TEMP TABLE rollup_hours AS
SELECT DISTINCT s.site_id, date_trunc('hour', s.first_ts) AS fh FROM {spans} s
SEMI JOIN rollup_new n ON s.site_id = n.site_id AND s.visitor_id = n.visitor_id"""

_VISITORS = """CREATE OR REPLACE TEMP TABLE rollup_visitors AS
SELECT site_id, visitor_id FROM rollup_new
UNION
SELECT s.site_id, s.visitor_id FROM {spans} s
SEMI JOIN rollup_hours h ON s.site_id = h.site_id AND date_trunc('hour', s.first_ts) = h.fh
WHERE s.first_ts >= $1"""

_FORGET_HOURS = """DELETE FROM {name} t USING rollup_hours h
WHERE t.site_id = h.site_id AND t.fh = h.fh AND t.fh >= $1"""

_FORGET_SPANS = """DELETE FROM {spans} s USING rollup_visitors v
WHERE s.site_id = v.site_id AND s.visitor_id = v.visitor_id"""

_EVENTS = """CREATE OR REPLACE TEMP TABLE rollup_events AS
SELECT {columns} FROM events e
SEMI JOIN rollup_visitors r ON e.site_id = r.site_id AND e.visitor_id = r.visitor_id
WHERE e.ts >= $1 AND e.ts < $2"""

# Per visit, as the raw SQL's `v`, with every rolled visit dimension's attribute.
_VISITS = """CREATE OR REPLACE TEMP TABLE rollup_visits AS
SELECT site_id, visitor_id, visit_id,
    {duration} AS duration_us,
    count(*) FILTER (WHERE name = {pageview}) AS pageviews,
    count(*) FILTER (WHERE name <> {pageview}) AS custom{attributes}
FROM rollup_events GROUP BY site_id, visitor_id, visit_id"""

_NEW_SPANS = """CREATE OR REPLACE TEMP TABLE rollup_spans AS
SELECT site_id, visitor_id, min(ts) AS first_ts, max(ts) AS last_ts,
    date_trunc('hour', min(ts)) AS fh, date_trunc('hour', max(ts)) AS lh
FROM rollup_events GROUP BY site_id, visitor_id"""

_ADD_SPANS = """INSERT INTO {spans}
SELECT site_id, visitor_id, first_ts, last_ts FROM rollup_spans ORDER BY site_id, first_ts"""

# Per (visit, value) of an event dimension: the visit's events with that value.
_VISIT_VALUES = """(SELECT v.*, p.value, p.value_pageviews, p.value_events
    FROM rollup_visits v JOIN (
        SELECT site_id, visitor_id, visit_id, coalesce({column}, $1) AS value,
            count(*) FILTER (WHERE name = {pageview}) AS value_pageviews,
            count(*) FILTER (WHERE name <> {pageview}) AS value_events
        FROM rollup_events GROUP BY site_id, visitor_id, visit_id, value
    ) p USING (site_id, visitor_id, visit_id))"""

# Into `name`, the sums of per-visit rows (alias v) holding `value`: per visitor and value what
# the raw SQL computes per value over that visitor's events (event dimensions: those with the
# value; else whole visits) and visits, summed per (fh, lh, value).
_ADD_SUMS = """INSERT INTO {name}
SELECT site_id, fh, lh, value, count(*), sum(pageviews), sum(events), sum(visits),
    sum(bounces), sum(visit_pageviews), sum(duration_us)
FROM (
    SELECT v.site_id, v.visitor_id, s.fh, s.lh, {value} AS value,
        sum({pageviews}) AS pageviews, sum({events}) AS events, count(*) AS visits,
        count(*) FILTER (WHERE v.pageviews = 1 AND v.custom = 0) AS bounces,
        sum(v.pageviews) AS visit_pageviews, sum(v.duration_us) AS duration_us
    FROM {visits} AS v JOIN rollup_spans s USING (site_id, visitor_id)
    GROUP BY v.site_id, v.visitor_id, s.fh, s.lh, {value}
)
GROUP BY site_id, fh, lh, value
ORDER BY site_id, fh"""

# Timeseries sums: per visitor and quarter with events (visitors, pageviews, events), and per
# visit and quarter (visits and their bounces, pageviews, durations), each with the previous
# quarter that had events of the same visitor (visit).
_ADD_QUARTERS = """INSERT INTO {quarters}
SELECT site_id, fh, lh, q, prev_q, sum(visitors), sum(pageviews), sum(events), sum(visits),
    sum(bounces), sum(visit_pageviews), sum(duration_us)
FROM (
    SELECT site_id, visitor_id, q,
        lag(q) OVER (PARTITION BY site_id, visitor_id ORDER BY q) AS prev_q,
        1 AS visitors, pageviews, events,
        0 AS visits, 0 AS bounces, 0 AS visit_pageviews, 0 AS duration_us
    FROM (
        SELECT site_id, visitor_id, time_bucket(INTERVAL 15 MINUTE, ts) AS q,
            count(*) FILTER (WHERE name = {pageview}) AS pageviews,
            count(*) FILTER (WHERE name <> {pageview}) AS events
        FROM rollup_events GROUP BY ALL
    )
    UNION ALL
    SELECT site_id, visitor_id, q,
        lag(q) OVER (PARTITION BY site_id, visitor_id, visit_id ORDER BY q) AS prev_q,
        0, 0, 0, 1, CASE WHEN v.pageviews = 1 AND v.custom = 0 THEN 1 ELSE 0 END,
        v.pageviews, v.duration_us
    FROM (
        SELECT DISTINCT site_id, visitor_id, visit_id, time_bucket(INTERVAL 15 MINUTE, ts) AS q
        FROM rollup_events
    ) JOIN rollup_visits v USING (site_id, visitor_id, visit_id)
) JOIN rollup_spans USING (site_id, visitor_id)
GROUP BY site_id, fh, lh, q, prev_q
ORDER BY site_id, fh"""


def _recompute(
    con: Any, new: str, new_params: list[Any], since: datetime | None, end: datetime
) -> int:
    """Recompute the visitors `new` selects, and every other visitor of their first hours,
    from all their events before `end`; returns how many events were read. `since`: none of
    the new visitors' unreflected events is before it (None: they may be anywhere)."""
    con.execute(_sql("CREATE OR REPLACE TEMP TABLE rollup_new AS {new}", new=new), new_params)
    con.execute(_sql(_HOURS))
    (low,) = _one(con, "SELECT min(fh) FROM rollup_hours")
    if since is None:
        low = datetime.min
    elif low is None or since < low:
        low = since
    con.execute(_sql(_VISITORS), [low])
    for name in [*_sum_tables(), QUARTERS]:
        con.execute(_sql(_FORGET_HOURS, name=name), [low])
    con.execute(_sql(_FORGET_SPANS))
    dimensions = [ALL_DIMENSIONS[name] for name in DIMENSIONS]
    columns = ["ts", "site_id", "visitor_id", "visit_id", "name"]
    columns += [d.column for d in dimensions if d.column not in columns]
    con.execute(_sql(_EVENTS, columns=", ".join("e." + c for c in columns)), [low, end])
    labels = _Params()
    attributes = "".join(
        f",\n    coalesce({_first(d)}, {labels.add(d.none_label)}) AS {d.alias}"
        for d in dimensions
        if d.scope == "visit"
    )
    duration = DIALECTS["duckdb"].duration_us()
    con.execute(_sql(_VISITS, duration=duration, attributes=attributes), labels.values)
    con.execute(_sql(_NEW_SPANS))
    con.execute(_sql(_ADD_SPANS))
    con.execute(_sums(TOTAL, "CAST('' AS VARCHAR)", "rollup_visits"))
    for d in dimensions:
        if d.scope == "visit":
            con.execute(_sums(table(d.name), f"v.{d.alias}", "rollup_visits"))
        else:
            per_value = _sql(_VISIT_VALUES, column=d.column)
            con.execute(_sums(table(d.name), "v.value", per_value, True), [d.none_label])
    con.execute(_sql(_ADD_QUARTERS))
    (processed,) = _one(con, "SELECT count(*) FROM rollup_events")
    return int(processed)


def _first(d: Dimension) -> str:
    """The raw SQL's expression of a visit attribute (the visit's first, entry or exit)."""
    return DIALECTS["duckdb"].first(
        d.column, pageviews_only=d.visit_value != "first", last=d.visit_value == "exit"
    )


def _sums(name: str, value: str, visits: str, by_event: bool = False) -> str:
    pageviews, events = (
        ("v.value_pageviews", "v.value_events") if by_event else ("v.pageviews", "v.custom")
    )
    counts = {"pageviews": pageviews, "events": events}
    return _sql(_ADD_SUMS, name=name, value=value, visits=visits, **counts)


# --- queries ------------------------------------------------------------------------------


def eligible(query: StatsQuery) -> bool:
    """Whether the rollup can answer `query` (else the raw SQL does)."""
    if query.filters:
        return False
    if query.kind is Kind.BREAKDOWN:
        return query.breakdown is not None and query.breakdown.name in DIMENSIONS
    if query.kind is Kind.TIMESERIES:
        return query.interval != "minute"
    return True


def _monotone(range_: DateRange, interval: str) -> bool:
    """Whether local time never goes back across a bucket start in the range (a bucket start
    that is a repeated local time, after the first instant of the repetition)."""
    zone = range_.zone
    for key in buckets(range_, interval):
        start = datetime.fromisoformat(key)
        if _ambiguous(start, zone) and _ambiguous(start - timedelta(microseconds=1), zone):
            return False
    return True


def _ambiguous(local: datetime, zone: Any) -> bool:
    return bool(
        local.replace(tzinfo=zone, fold=0).utcoffset()
        != local.replace(tzinfo=zone, fold=1).utcoffset()
    )


@dataclass(frozen=True)
class Script:
    """The statements answering a query, to run in order with nothing else in between; the
    last one's rows are the answer in the raw SQL's shape, after a first column saying whether
    the raw SQL must answer instead. The first `shared` statements depend only on `key` (site
    and range) and the data: the store may skip them when the previous script had the same key
    and nothing ran on the store since (the dashboard's queries come together)."""

    statements: list[Statement]
    shared: int
    key: tuple[Any, ...]


async def rows(
    store: object, query: StatsQuery, range_: DateRange, time_limit: float
) -> list[tuple[Any, ...]] | None:
    """The raw SQL's rows for `query` over `range_`, from the rollup of `store`; None when the
    raw SQL must answer (see `script`; or, found when running it, pending visitors or buckets
    the rollup cannot tell apart)."""
    found_script = script(store, query, range_)
    if found_script is None:
        return None
    run = store.query_stats_script  # type: ignore[attr-defined]  # DuckDB only (`script`)
    found: list[tuple[Any, ...]] = await run(
        found_script.statements,
        time_limit=time_limit,
        reuse=(found_script.key, found_script.shared),
    )
    if found and found[0][0]:
        return None
    return [row[1:] for row in found]


def script(store: object, query: StatsQuery, range_: DateRange) -> Script | None:
    """The statements answering `query` over `range_` from the rollup of `store`; None when
    the raw SQL must answer (another store, no rollup yet, a query the rollup cannot answer)."""
    if getattr(store, "dialect", None) != "duckdb" or not eligible(query):
        return None
    if getattr(store, "stats_rollup_watermark", None) is None:
        return None
    timeseries = query.kind is Kind.TIMESERIES
    if timeseries and not _monotone(range_, query.interval or ""):
        return None
    dialect = DIALECTS["duckdb"]
    bounds = [query.site_id, dialect.timestamp(range_.start), dialect.timestamp(range_.end)]
    site_only = [query.site_id]
    # Shared by every query of the site and range: the raw visitors' events and visits, with
    # the columns of every rolled dimension.
    labels = _Params()
    attributes = "".join(
        f",\n        coalesce({_first(d)}, {labels.add(d.none_label)}) AS {d.alias}"
        for d in _VISIT_DIMENSIONS
    )
    statements: list[Statement] = [
        (_sql(_LATE_NEW), site_only),
        (_sql(_LATE_ADD), site_only),
        (_sql(_EDGE), bounds),
        (_sql(_WINDOWS), bounds),
        (_sql(_RAW_EVENTS, columns=", ".join(_RAW_COLUMNS)), bounds),
        (_sql(_RAW_VISITS, duration=dialect.duration_us(), attributes=attributes), labels.values),
    ]
    shared = len(statements)
    # Whether the rollup cannot answer: pending visitors; for a timeseries, buckets that do
    # not start on quarter hours.
    all_raw = "EXISTS (SELECT 1 FROM {pending} WHERE site_id = {site})"
    if timeseries:
        assert query.interval is not None
        bucket = dialect.bucket("$3", query.interval)
        ends = bucket.replace("e.ts", "e.ts_end")
        statements.append((_sql(_BUCKETS, bucket=bucket, ends=ends), [*bounds[1:], query.timezone]))
        all_raw += " OR NOT (SELECT bool_and(whole) FROM rollup_buckets)"

    # The answer: rolled sums plus raw ones, per value, ordered and paged like the raw SQL.
    params = _Params()
    site, start, end = (params.add(value) for value in bounds)
    where = {"site": site, "start": start, "end": end}
    if timeseries:
        assert query.interval is not None
        zone = params.add(query.timezone)
        quarter_sums = _rolled_sums(query.metrics)
        sums = _quarter_sums(query.metrics)
        rolled = _sql(_ROLLED_TIMESERIES, sums=sums, quarter_sums=quarter_sums, **where)
        raw = _sql(_RAW_TIMESERIES, bucket=dialect.bucket(zone, query.interval))
        order = "dim"
    else:
        name = TOTAL if query.breakdown is None else table(query.breakdown.name)
        rolled = _sql(_ROLLED, table=name, sums=_rolled_sums(query.metrics), **where)
        if query.breakdown is None:
            raw = _sql(_RAW_BY_VISIT, value="CAST('' AS VARCHAR)")
        elif query.breakdown.scope == "visit":
            raw = _sql(_RAW_BY_VISIT, value=query.breakdown.alias)
        else:
            label = params.add(query.breakdown.none_label)
            value = f"coalesce({query.breakdown.column}, {label})"
            raw = _sql(_RAW_BY_EVENT, value=value)
        order = "visitors DESC, dim"
    page = ""
    if query.kind is Kind.BREAKDOWN:
        limit = params.add(query.limit)
        offset = params.add((query.page - 1) * query.limit)
        page = f"\nLIMIT {limit} OFFSET {offset}"
    answer = _sql(
        _ANSWER,
        kind=query.kind.value,
        all_raw=_sql(all_raw, site=site),
        rolled=rolled,
        raw=raw,
        totals=_totals(query.metrics),
        columns=", ".join(("dim", *_COLUMNS)),
        order=order,
        page=page,
    )
    statements.append((answer, params.values))
    return Script(statements, shared, ("rollup", *bounds))


_VISIT_DIMENSIONS = [ALL_DIMENSIONS[name] for name in DIMENSIONS if name.startswith("visit:")]
_RAW_COLUMNS = list(
    dict.fromkeys(
        ["ts", "visitor_id", "visit_id", "name", *(ALL_DIMENSIONS[n].column for n in DIMENSIONS)]
    )
)


# The sums each metric reads (the others are left out: summing costs more than scanning).
_METRIC_SUMS = {
    "pageviews": ("pageviews",),
    "events": ("events",),
    "visits": ("visits",),
    "bounce_rate": ("visits", "bounces"),
    "views_per_visit": ("visits", "visit_pageviews"),
    "visit_duration": ("visits", "duration_us"),
}


def _needed(metrics: tuple[str, ...]) -> set[str]:
    return {"visitors", *(c for metric in metrics for c in _METRIC_SUMS.get(metric, ()))}


def _rolled_sums(metrics: tuple[str, ...]) -> str:
    needed = _needed(metrics)
    return ", ".join(f"sum({c}) AS {c}" if c in needed else f"0 AS {c}" for c in _COLUMNS)


def _quarter_sums(metrics: tuple[str, ...]) -> str:
    """A visitor (visit) counts once per bucket: at its first quarter in the bucket."""
    needed = _needed(metrics)
    once = {"visitors", "visits", "bounces", "visit_pageviews", "duration_us"}
    return ", ".join(
        (
            f"sum(t.{c}) FILTER (WHERE p.b IS DISTINCT FROM m.b) AS {c}"
            if c in once
            else f"sum(t.{c}) AS {c}"
        )
        if c in needed
        else f"0 AS {c}"
        for c in _COLUMNS
    )


def _totals(metrics: tuple[str, ...]) -> str:
    """The result columns: the sums of the parts (0 for those no metric reads)."""
    needed = _needed(metrics)
    return ", ".join(
        f"CAST(sum({c}) AS BIGINT) AS {c}" if c in needed else f"0 AS {c}" for c in _COLUMNS
    )


# The statements of a query, each leaving its result in a temporary table of the stats
# cursor's connection (small, and planned knowing their exact sizes). $1 site, $2 start,
# $3 end of the range.

# Late visitors: the site's visitors with events from the watermark on (all of them: one
# late but without events in the range is read raw to no effect, as the module's doc says),
# with their spans. Kept between queries until the sums change (`generation`): looking spans
# up reads the whole spans table, and late visitors change little between refreshes; only new
# ones are added (one without a span, new since the watermark, has NULLs). The first two
# statements take no parameters (DuckDB runs several in one call only so).
_LATE_NEW = """CREATE TEMP TABLE IF NOT EXISTS rollup_late (
    generation BIGINT, site_id VARCHAR, visitor_id BIGINT, first_ts TIMESTAMP, last_ts TIMESTAMP
);
DELETE FROM rollup_late WHERE generation <> (SELECT generation FROM {state});
CREATE OR REPLACE TEMP TABLE rollup_late_new AS
SELECT DISTINCT visitor_id FROM events
WHERE site_id = $1 AND ts >= (SELECT coalesce(watermark, TIMESTAMP '-infinity') FROM {state})
EXCEPT SELECT visitor_id FROM rollup_late WHERE site_id = $1"""

_LATE_ADD = """INSERT INTO rollup_late
SELECT (SELECT generation FROM {state}), $1, n.visitor_id, s.first_ts, s.last_ts
FROM rollup_late_new n LEFT JOIN (
    SELECT visitor_id, first_ts, last_ts FROM {spans}
    WHERE site_id = $1 AND visitor_id IN (SELECT visitor_id FROM rollup_late_new)
) s ON s.visitor_id = n.visitor_id"""

# A span in the range's whole hours: its visitor's sums are in the rolled part.
_ROLLED_SPAN = (
    "date_trunc('hour', s.first_ts) >= $2 AND date_trunc('hour', s.last_ts) <= $3 - INTERVAL 1 HOUR"
)

# Edge visitors: rollup visitors with events in the range whose span is not in its whole
# hours (it starts before the first whole hour: `start`; or ends after the last). Two
# branches, each bounded on both columns so that DuckDB's zone maps keep the scan to the spans
# around one end of the range.
_EDGE = """CREATE OR REPLACE TEMP TABLE rollup_edge AS
SELECT visitor_id, first_ts, last_ts, true AS start FROM {spans}
WHERE site_id = $1 AND first_ts < $2 + INTERVAL 1 HOUR AND last_ts >= $2
  AND date_trunc('hour', first_ts) < $2
UNION ALL
SELECT visitor_id, first_ts, last_ts, false FROM {spans}
WHERE site_id = $1 AND last_ts > $3 - INTERVAL 1 HOUR AND first_ts < $3
  AND date_trunc('hour', last_ts) > $3 - INTERVAL 1 HOUR
  AND NOT (first_ts < $2 + INTERVAL 1 HOUR AND date_trunc('hour', first_ts) < $2)"""

# Timeseries: each quarter hour of the range, its bucket, and whether the bucket is the same
# at its end ($1 start, $2 end, $3 time zone; the raw SQL's bucket expression reads `e.ts`).
_BUCKETS = """CREATE OR REPLACE TEMP TABLE rollup_buckets AS
SELECT q, {bucket} AS b, {bucket} = ({ends}) AS whole
FROM (SELECT q, q AS ts, q + INTERVAL 15 MINUTE - INTERVAL 1 MICROSECOND AS ts_end
      FROM range(time_bucket(INTERVAL 15 MINUTE, $1::TIMESTAMP), $2::TIMESTAMP,
                 INTERVAL 15 MINUTE) AS t(q)) AS e"""

# Where the raw visitors' events in the range are: up to `cut` (the edge visitors of the
# start), from `low` on (the edge visitors of the end; the late visitors: from the watermark,
# or where their span starts); the late visitors' rolled events from `old_low` to the
# watermark. With pending visitors the rollup cannot answer: the windows are empty. A one-row
# table, joined with the events (see `_RAW_EVENTS`).
_WINDOWS = """CREATE OR REPLACE TEMP TABLE rollup_windows AS
SELECT
    CASE WHEN pending THEN TIMESTAMP '-infinity'
         ELSE coalesce(cut, TIMESTAMP '-infinity') END AS cut,
    CASE WHEN pending THEN TIMESTAMP 'infinity'
         ELSE coalesce(least(watermark, end_low, late_low), TIMESTAMP 'infinity') END AS low,
    CASE WHEN pending THEN TIMESTAMP 'infinity'
         ELSE coalesce(old_low, TIMESTAMP 'infinity') END AS old_low,
    watermark
FROM (SELECT EXISTS (SELECT 1 FROM {pending} WHERE site_id = $1) AS pending, watermark
      FROM {state}),
    (SELECT max(last_ts) FILTER (WHERE start) AS cut,
            min(first_ts) FILTER (WHERE NOT start) AS end_low
     FROM rollup_edge),
    (SELECT min(s.first_ts) FILTER (WHERE s.last_ts >= $2) AS late_low,
            min(s.first_ts) FILTER (WHERE {rolled_span}) AS old_low
     FROM rollup_late s WHERE s.site_id = $1)"""

# The raw visitors' events (sign 1): the late and edge visitors', in the windows; and (sign
# -1) the rolled events of late visitors whose span is in rolled hours (their events before
# the watermark, all in their span): what the sums hold for them. Three branches, each with
# plain comparisons that DuckDB turns into zone-map filters (it does not for an OR, nor for
# branches with the same subquery): up to `cut` every raw visitor; after it, from `low` on,
# the others than the edge visitors of the start (none of whose events is after `cut`).
_RAW_EVENTS = """CREATE OR REPLACE TEMP TABLE rollup_raw_events AS
SELECT 1 AS sign, {columns} FROM events, rollup_windows w
WHERE site_id = $1 AND ts >= $2 AND ts < $3 AND ts <= w.cut
  AND visitor_id IN (SELECT visitor_id FROM rollup_late WHERE site_id = $1
                     UNION ALL SELECT visitor_id FROM rollup_edge)
UNION ALL
SELECT 1, {columns} FROM events, rollup_windows w
WHERE site_id = $1 AND ts >= $2 AND ts < $3 AND ts > w.cut AND ts >= w.low
  AND visitor_id IN (SELECT visitor_id FROM rollup_late WHERE site_id = $1
                     UNION ALL SELECT visitor_id FROM rollup_edge WHERE NOT start)
UNION ALL
SELECT -1, {columns} FROM events, rollup_windows w
WHERE site_id = $1 AND ts >= $2 AND ts < $3 AND ts >= w.old_low AND ts < w.watermark
  AND visitor_id IN (
      SELECT s.visitor_id FROM rollup_late s WHERE s.site_id = $1 AND {rolled_span})"""

# Per visit of the raw events (the raw SQL's `v`), with every rolled visit dimension's value.
_RAW_VISITS = """CREATE OR REPLACE TEMP TABLE rollup_raw_visits AS
SELECT sign, visitor_id, visit_id,
    {duration} AS duration_us,
    count(*) FILTER (WHERE name = {pageview}) AS pageviews,
    count(*) FILTER (WHERE name <> {pageview}) AS custom{attributes}
FROM rollup_raw_events GROUP BY sign, visitor_id, visit_id"""

_SIGNED = """SELECT {dim} AS dim, sum(sign{times_visitors}) AS visitors,
        sum(sign * pageviews) AS pageviews, sum(sign * events) AS events,
        sum(sign * visits) AS visits, sum(sign * bounces) AS bounces,
        sum(sign * visit_pageviews) AS visit_pageviews, sum(sign * duration_us) AS duration_us"""

# The raw part's sums per value, signed: per visitor and value (a visitor counts once), then
# per value. By visit: the value is the visit's (or none: the aggregate).
_RAW_BY_VISIT = """raw AS (
    {signed_by_value}
    FROM (
        SELECT sign, visitor_id, {value} AS value, sum(pageviews) AS pageviews,
            sum(custom) AS events, count(*) AS visits,
            count(*) FILTER (WHERE pageviews = 1 AND custom = 0) AS bounces,
            sum(pageviews) AS visit_pageviews, sum(duration_us) AS duration_us
        FROM rollup_raw_visits GROUP BY sign, visitor_id, value
    )
    GROUP BY value
)"""

# By event: the events with each value, and the visits with at least one.
_RAW_BY_EVENT = """raw AS (
    {signed_by_value}
    FROM (
        SELECT p.sign, p.visitor_id, p.value, sum(p.pageviews) AS pageviews,
            sum(p.events) AS events, count(*) AS visits,
            count(*) FILTER (WHERE v.pageviews = 1 AND v.custom = 0) AS bounces,
            sum(v.pageviews) AS visit_pageviews, sum(v.duration_us) AS duration_us
        FROM (
            SELECT sign, visitor_id, visit_id, {value} AS value,
                count(*) FILTER (WHERE name = {pageview}) AS pageviews,
                count(*) FILTER (WHERE name <> {pageview}) AS events
            FROM rollup_raw_events GROUP BY sign, visitor_id, visit_id, value
        ) p JOIN rollup_raw_visits v USING (sign, visitor_id, visit_id)
        GROUP BY p.sign, p.visitor_id, p.value
    )
    GROUP BY value
)"""

# By bucket: a visitor (visit) counts in each bucket it has events in.
_RAW_TIMESERIES = """raw AS (
    {signed_by_dim}
    FROM (
        SELECT sign, dim, count(DISTINCT visitor_id) AS visitors,
            sum(p.pageviews) AS pageviews, sum(p.events) AS events, count(*) AS visits,
            count(*) FILTER (WHERE v.pageviews = 1 AND v.custom = 0) AS bounces,
            sum(v.pageviews) AS visit_pageviews, sum(v.duration_us) AS duration_us
        FROM (
            SELECT sign, visitor_id, visit_id, {bucket} AS dim,
                count(*) FILTER (WHERE name = {pageview}) AS pageviews,
                count(*) FILTER (WHERE name <> {pageview}) AS events
            FROM rollup_raw_events AS e GROUP BY sign, visitor_id, visit_id, dim
        ) p JOIN rollup_raw_visits v USING (sign, visitor_id, visit_id)
        GROUP BY sign, dim
    )
    GROUP BY dim
)"""

_ROLLED = """rolled AS (
    SELECT value AS dim, {sums} FROM {table}, flags
    WHERE NOT flags.all_raw AND site_id = {site} AND fh >= {start} AND lh <= {end} - INTERVAL 1 HOUR
    GROUP BY value
)"""

# Summed per (quarter, previous quarter) first, then joined with their buckets.
_ROLLED_TIMESERIES = """rolled AS (
    SELECT m.b AS dim, {sums}
    FROM (
        SELECT q, prev_q, {quarter_sums}
        FROM {quarters}, flags
        WHERE NOT flags.all_raw AND site_id = {site} AND fh >= {start}
          AND lh <= {end} - INTERVAL 1 HOUR
        GROUP BY q, prev_q
    ) AS t
    JOIN rollup_buckets m ON m.q = t.q
    LEFT JOIN rollup_buckets p ON p.q = t.prev_q
    GROUP BY m.b
)"""

# The answer: rolled and raw sums per value (a value without visitors left has no events among
# those selected: the raw SQL has no row for it), ordered and paged like the raw SQL; or, when
# the rollup cannot answer, one row saying so (first column true).
_ANSWER = """/* stats.{kind} rollup */
WITH flags AS MATERIALIZED (SELECT ({all_raw}) AS all_raw),
{rolled},
{raw}
SELECT false AS all_raw, * FROM (
    SELECT dim, {totals}
    FROM (SELECT {columns} FROM rolled UNION ALL SELECT {columns} FROM raw) AS parts
    GROUP BY dim
    HAVING sum(visitors) > 0
    ORDER BY {order}{page}
)
UNION ALL
SELECT true, NULL, 0, 0, 0, 0, 0, 0, 0 FROM flags WHERE all_raw
ORDER BY all_raw DESC, {order}"""

_NAMES.update(
    rolled_span=_ROLLED_SPAN,
    signed_by_value=_SIGNED.format(dim="value", times_visitors=""),
    signed_by_dim=_SIGNED.format(dim="dim", times_visitors=" * visitors"),
)
