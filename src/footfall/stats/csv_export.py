"""CSV of the Stats API: a breakdown's rows, and the raw events of a date range.

Files are UTF-8, RFC 4180 (comma-separated, `"` quoting, CRLF line ends), with a header row.

CSV injection: a spreadsheet opening the file would run a cell starting with `=`, `+`, `-` or
`@` (or tab or carriage return, which some read the same way) as a formula. Every text cell
taken from the data (paths, referrers, event names, property values…) that starts so is
prefixed with `'`, which spreadsheets show as text; numbers the engine computed are written
as they are. So a page `=HYPERLINK(…)` is exported as `'=HYPERLINK(…)`.

Raw events: the columns of the events table (`storage.events.COLUMNS`) in that order, `ts`
as ISO 8601 UTC with microseconds (`2026-09-20T13:00:00.000000Z`), `props` as JSON (`{}`
when none), missing values empty. No IP address is stored, so none is exported.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from footfall.errors import BadRequest
from footfall.stats.periods import DEFAULT_PERIOD, DateRange, date_range, parse_timezone
from footfall.storage.events import COLUMNS, Event

MEDIA_TYPE = "text/csv; charset=utf-8"

# The parameters of the raw events export; anything else is refused, as the other endpoints do.
EXPORT_PARAMETERS: tuple[str, ...] = ("websiteId", "period", "date", "timezone")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell: None empty, text neutralised against formulas, numbers as is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _encode(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


def breakdown_csv(body: dict[str, Any], metrics: Sequence[str]) -> bytes:
    """The rows of a breakdown answer (`stats.answer`): the property, then each metric."""
    header = [body["property"], *metrics]
    rows = (
        [safe_cell(row["value"]), *(row[metric] for metric in metrics)] for row in body["results"]
    )
    return _encode([header, *rows])


def events_header() -> bytes:
    return _encode([COLUMNS])


def _ts(unix: float) -> str:
    # Exact to the microsecond the stores keep (no float rounding through fromtimestamp).
    micros = round(unix * 1_000_000)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_row(event: Event) -> list[Any]:
    values = list(event.values())
    values[0] = _ts(values[0])
    props = values[COLUMNS.index("props")]
    values[COLUMNS.index("props")] = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
    return [safe_cell(value) for value in values]


def events_csv(events: Iterable[Event]) -> bytes:
    """The CSV lines of `events` (no header)."""
    return _encode(_event_row(event) for event in events)


def parse_export(
    params: Iterable[tuple[str, str]], now: float, default_timezone: str = "UTC"
) -> DateRange:
    """The date range of an events export (`period`, `date`, `timezone` as the other Stats API
    endpoints take them, `default_timezone` the site's); BadRequest naming the parameter."""
    values: dict[str, str] = {}
    for name, value in params:
        if name not in EXPORT_PARAMETERS:
            raise BadRequest(f'unknown parameter "{name}"; allowed: {", ".join(EXPORT_PARAMETERS)}')
        if name in values:
            raise BadRequest(f"{name}: given more than once")
        values[name] = value
    timezone = parse_timezone(values.get("timezone"), default_timezone)
    return date_range(values.get("period") or DEFAULT_PERIOD, values.get("date"), timezone, now)


def filename(kind: str, range_: DateRange, detail: str = "") -> str:
    """`footfall-<kind>[-<detail>]-<first day>_<last day>.csv`, local days of the range;
    only ASCII letters, digits, `_`, `.` and `-` (safe in a `Content-Disposition`)."""
    zone = range_.zone
    first = datetime.fromtimestamp(range_.start, zone).date()
    last = datetime.fromtimestamp(range_.end, zone) - timedelta(microseconds=1)
    parts = [kind, detail] if detail else [kind]
    stem = _UNSAFE_IN_FILENAME.sub("-", "-".join(parts)).strip("-")[:100]
    return f"footfall-{stem}-{first.isoformat()}_{last.date().isoformat()}.csv"


def attachment(name: str) -> str:
    """The `Content-Disposition` value of a download named `name` (from `filename`)."""
    return f'attachment; filename="{name}"'
