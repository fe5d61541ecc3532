"""The custom property keys of a site's custom events over a date range: the keys the
dashboard offers for the Stats API's `event:props:<key>` breakdown.

One read-only statement per event store dialect, run through `EventStore.query_stats` (so
under the stats time limit, in a read-only transaction on PostgreSQL); the site, the range
and the limit are bind parameters, nothing from a request is written into the SQL. Keys come
most used first (the number of custom events carrying each), then in byte order (both
stores alike); pageviews are left out, as in the dashboard's custom events panel. Filters
are not applied: a key is offered if any custom event of the range has it, and the breakdown
then counts under the view's filters.
"""

from __future__ import annotations

from footfall.stats.engine import QUERY_TIMEOUT
from footfall.stats.periods import DateRange
from footfall.stats.sql import DIALECTS
from footfall.storage.events import EventStore

MAX_KEYS = 100  # a picker, not an export: the most used keys

# `props` is NULL for an event without properties, else a JSON object of scalars.
_SQL = {
    "duckdb": """/* stats.prop_keys */
SELECT k, count(*) AS n
FROM (
    SELECT unnest(json_keys(props)) AS k
    FROM events
    WHERE site_id = $1 AND ts >= $2 AND ts < $3 AND name <> 'pageview' AND props IS NOT NULL
) AS p
GROUP BY k
ORDER BY n DESC, k
LIMIT $4""",
    "postgres": """/* stats.prop_keys */
SELECT k, count(*) AS n
FROM (
    SELECT jsonb_object_keys(props) AS k
    FROM events
    WHERE site_id = $1 AND ts >= $2 AND ts < $3 AND name <> 'pageview' AND props IS NOT NULL
) AS p
GROUP BY k
ORDER BY n DESC, k COLLATE "C"
LIMIT $4""",
}


async def prop_keys(
    store: EventStore,
    site_id: str,
    range_: DateRange,
    limit: int = MAX_KEYS,
    time_limit: float = QUERY_TIMEOUT,
) -> list[str]:
    """At most `limit` property keys of the site's custom events with `range_.start <= ts <
    range_.end`, most used first. `QueryTimeout` past `time_limit` seconds;
    `BackendUnavailable` when the store is down."""
    dialect = DIALECTS[store.dialect]
    params = [site_id, dialect.timestamp(range_.start), dialect.timestamp(range_.end), limit]
    found = await store.query_stats(_SQL[store.dialect], params, time_limit=time_limit)
    return [str(row[0]) for row in found]
