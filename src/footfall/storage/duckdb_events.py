"""`DuckDBEventStore`: the embedded tier's event store, a DuckDB file in the data folder.

DuckDB is columnar, so the dashboard's aggregations over millions of rows stay fast. Batches
go in through DuckDB's Appender: one `flush` is one committed transaction, and appending rows
beats `executemany` by two orders of magnitude (see docs/architecture.md). One process owns the
file; the CLI never opens it while the server runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from footfall.errors import StoreInUse
from footfall.storage.events import COLUMNS, PAGEVIEW, Event, RecentVisit

_EPOCH = datetime(1970, 1, 1)

# Ordered migrations of the events database; the index + 1 is the schema version.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        ts TIMESTAMP NOT NULL,            -- UTC
        site_id VARCHAR NOT NULL,
        visitor_id BIGINT NOT NULL,       -- keyed hash, daily salt; never an IP
        visit_id BIGINT NOT NULL,
        name VARCHAR NOT NULL,            -- 'pageview' or a custom event name
        hostname VARCHAR NOT NULL,
        pathname VARCHAR NOT NULL,
        referrer VARCHAR,
        referrer_source VARCHAR,
        utm_source VARCHAR,
        utm_medium VARCHAR,
        utm_campaign VARCHAR,
        utm_term VARCHAR,
        utm_content VARCHAR,
        country VARCHAR,                  -- ISO 3166-1 alpha-2
        browser VARCHAR,
        browser_version VARCHAR,
        os VARCHAR,
        os_version VARCHAR,
        device_type VARCHAR,              -- desktop | mobile | tablet
        screen_size VARCHAR,              -- mobile | tablet | laptop | desktop (by width)
        props JSON
    )
    """,
)


def _to_datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def _to_unix(value: datetime) -> float:
    return (value - _EPOCH).total_seconds()


def _row(event: Event) -> tuple[Any, ...]:
    return (
        _to_datetime(event.ts),
        event.site_id,
        event.visitor_id,
        event.visit_id,
        event.name,
        event.hostname,
        event.pathname,
        event.referrer,
        event.referrer_source,
        event.utm_source,
        event.utm_medium,
        event.utm_campaign,
        event.utm_term,
        event.utm_content,
        event.country,
        event.browser,
        event.browser_version,
        event.os,
        event.os_version,
        event.device_type,
        event.screen_size,
        json.dumps(event.props, separators=(",", ":")) if event.props else None,
    )


class DuckDBEventStore:
    """Events in a DuckDB database file (or `:memory:`)."""

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path))
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            raise StoreInUse(
                f"The events database {path} is in use by another process: is another "
                "`footfall serve` running on this data folder? The embedded tier allows one "
                "server per data folder; run several instances in cluster mode."
            ) from None
        self._lock = threading.Lock()
        self._migrate()

    def _run(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Execute and fetch every row. DuckDB refuses other work on a connection (such as an
        appender flush) while a result is not fully fetched, so no result is left open."""
        with self._lock:
            rows: list[tuple[Any, ...]] = self._con.execute(sql, params).fetchall()
        return rows

    def _migrate(self) -> None:
        self._run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = self._run("SELECT max(version) FROM schema_version")[0][0] or 0
        for version, statement in enumerate(_MIGRATIONS, start=1):
            if version > current:
                self._run("BEGIN")
                self._run(statement)
                self._run("INSERT INTO schema_version VALUES (?)", [version])
                self._run("COMMIT")

    def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with self._lock:
            appender = self._con.appender("events")
            appender.append_rows([_row(e) for e in events])
            appender.flush()

    def recent_visits(self, since: float) -> Iterator[RecentVisit]:
        query = """
            /* duckdb_events.recent_visits */
            SELECT site_id, visitor_id, arg_max(visit_id, ts) AS visit_id, max(ts) AS last_ts,
                   max(ts) FILTER (WHERE name = ?) AS last_pageview_ts
            FROM events WHERE ts >= ?
            GROUP BY site_id, visitor_id
        """
        rows = self._run(query, [PAGEVIEW, _to_datetime(since)])
        for site_id, visitor_id, visit_id, last_ts, last_pv in rows:
            yield RecentVisit(
                site_id=site_id,
                visitor_id=visitor_id,
                visit_id=visit_id,
                last_ts=_to_unix(last_ts),
                last_pageview_ts=_to_unix(last_pv) if last_pv is not None else None,
            )

    def count(self, site_id: str | None = None) -> int:
        if site_id is None:
            rows = self._run("SELECT count(*) FROM events")
        else:
            rows = self._run("SELECT count(*) FROM events WHERE site_id = ?", [site_id])
        return int(rows[0][0])

    def events(self, site_id: str, limit: int = 1000) -> list[Event]:
        columns = ", ".join(COLUMNS)
        rows = self._run(
            f"SELECT {columns} FROM events WHERE site_id = ? ORDER BY ts LIMIT ?",  # noqa: S608
            [site_id, limit],
        )
        result = []
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            values["ts"] = _to_unix(values["ts"])
            values["props"] = json.loads(values["props"]) if values["props"] else {}
            result.append(Event(**values))
        return result

    def purge_sites(self, site_ids: Sequence[str]) -> int:
        if not site_ids:
            return 0
        rows = self._run("DELETE FROM events WHERE site_id IN (SELECT unnest(?))", [list(site_ids)])
        return int(rows[0][0])

    def ping(self) -> None:
        self._run("SELECT 1")

    def close(self) -> None:
        with self._lock:
            self._con.close()
