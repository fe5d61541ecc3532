"""Stats: a query as an immutable value, parsed and validated, turned into SQL for the event
store, run under a time limit, and shaped into the Stats API's answer.

    query.parse_query   API parameters -> `StatsQuery` (BadRequest naming the parameter)
    periods             period/date/timezone -> `DateRange` (UTC instants of local days)
    dimensions          the whitelist of `event:*` and `visit:*` dimensions
    intervals           timeseries buckets in the site's time zone
    sql                 `StatsQuery` -> one parametrised statement per dialect
    engine.answer       run it on an `EventStore`, compute the metrics, shape the answer

Knows nothing of HTTP beyond raising `footfall.errors` types; `api.stats` is the handler.
"""

from footfall.stats.engine import QUERY_TIMEOUT, answer
from footfall.stats.query import Kind, StatsQuery, parse_query

__all__ = ["QUERY_TIMEOUT", "Kind", "StatsQuery", "answer", "parse_query"]
