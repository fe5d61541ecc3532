"""The OpenAPI 3.1 document of every public endpoint, and a self-contained HTML rendering.

Written out rather than generated from handler signatures: the hot endpoints are plain
Starlette routes (see docs/architecture.md), and the Realtime API's errors are a contract
worth spelling out. Request schemas come from the pydantic models that validate them, so the
document cannot drift from what the server accepts.
"""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from footfall import __version__
from footfall.api import csp, live, throttle
from footfall.api.responses import json_response
from footfall.auth import api_auth
from footfall.ingestion.drops import DropReason
from footfall.ingestion.payload import ServerBatch, TrackerHit
from footfall.realtime.paths import PathPattern
from footfall.stats import dimensions, intervals, periods, query
from footfall.storage.events import COLUMNS


def _error(description: str, *messages: str) -> dict[str, Any]:
    examples = {f"e{i}": {"value": {"error": m}, "summary": m} for i, m in enumerate(messages)}
    content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    if examples:
        content["examples"] = examples
    return {"description": description, "content": {"application/json": content}}


def _site_auth_errors() -> dict[str, Any]:
    """The 401/404/500 answers of endpoints authorised by a site's token (Realtime spec order)."""
    return {
        "401": _error(
            "Authentication failed (`WWW-Authenticate: Bearer`)",
            api_auth.MISSING_HEADER,
            api_auth.INVALID_FORMAT,
            api_auth.NO_TOKEN_CONFIGURED,
            api_auth.INVALID_TOKEN,
        ),
        "404": _error("Unknown website", api_auth.WEBSITE_NOT_FOUND),
        "500": _error("Unexpected failure", "Internal server error"),
    }


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"application/json": body}


_SITE = "3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10"
_ENVELOPE_EXAMPLE = {
    "websiteId": _SITE,
    "period": "7d",
    "timezone": "Europe/Berlin",
    "from": "2026-09-15T00:00:00+02:00",
    "to": "2026-09-22T00:00:00+02:00",
}


# Stats parameters whose empty value means the default, as if absent (HTML forms send them).
_EMPTY_IS_DEFAULT = frozenset({"period", "timezone", "filters", "compare", "interval"})


def _query_parameter(
    name: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    parameter = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if name in _EMPTY_IS_DEFAULT and not required:
        parameter["allowEmptyValue"] = True
    return parameter


def _stats_parameters(kind: query.Kind) -> list[dict[str, Any]]:
    metrics = ", ".join(query.METRICS)
    common = [
        _query_parameter("websiteId", "The website.", {"type": "string"}, required=True),
        _query_parameter(
            "period",
            "Date range, in the time zone `timezone`: `day` (the day `date`, default today), "
            "`today`, `30m` (the last 30 minutes, by minute), `24h` (rolling), `7d` and `30d` "
            "(today included), `month` (month to date), `last_month`, `12mo` (this month "
            "included), `custom` (`date`).",
            {"enum": list(periods.PERIODS), "default": periods.DEFAULT_PERIOD},
        ),
        _query_parameter(
            "date",
            "`YYYY-MM-DD` with period=day; `YYYY-MM-DD,YYYY-MM-DD` (both included) with "
            "period=custom.",
            {"type": "string", "examples": ["2026-09-01,2026-09-30"]},
        ),
        _query_parameter(
            "timezone",
            "IANA time zone of days, months and time buckets; default: the website's own "
            "(its settings; UTC unless set).",
            {"type": "string", "examples": ["Europe/Berlin"]},
        ),
        _query_parameter(
            "metrics",
            f"Comma-separated, any of: {metrics}. `conversions` and `conversion_rate` need a "
            "goal: an `event:goal` filter (`is`/`contains`) or the `event:goal` breakdown.",
            {"type": "string", "default": "visitors", "examples": ["visitors,pageviews"]},
        ),
        _query_parameter(
            "filters",
            "JSON array of `[operator, dimension, [values]]`, ANDed; values of one filter "
            f"are ORed. Operators: {', '.join(query.OPERATORS)}. Dimensions: "
            f"{dimensions.ALLOWED}.",
            {"type": "string", "examples": ['[["is","visit:source",["Google"]]]']},
        ),
    ]
    compare = {"enum": list(query.COMPARISONS)}
    if kind is query.Kind.AGGREGATE:
        return [
            *common,
            _query_parameter(
                "compare",
                "Add each metric's percent `change` from the previous period of equal length.",
                compare,
            ),
        ]
    if kind is query.Kind.TIMESERIES:
        return [
            *common,
            _query_parameter(
                "interval",
                "Bucket size, in the time zone `timezone` (default: hour for a day, day up to "
                f"100 days, else month; at most {intervals.MAX_BUCKETS} buckets).",
                {"enum": list(intervals.INTERVALS)},
            ),
            _query_parameter(
                "compare",
                "Add to each bucket `comparison`: the bucket at the same position of the "
                "previous period of equal length (`date` and metrics; null past its end).",
                compare,
            ),
        ]
    return [
        *common,
        _query_parameter(
            "property",
            f"The dimension to break down by: {dimensions.ALLOWED}.",
            {"type": "string", "examples": ["visit:source"]},
            required=True,
        ),
        _query_parameter(
            "limit",
            "Rows per page.",
            {"type": "integer", "minimum": 1, "maximum": query.MAX_LIMIT, "default": 100},
        ),
        _query_parameter("page", "Page number.", {"type": "integer", "minimum": 1, "default": 1}),
        _query_parameter(
            "compare",
            "Add to each row `change`: each metric's percent change from the same value in "
            "the previous period of equal length (null where that was 0).",
            compare,
        ),
    ]


def _stats_schemas() -> dict[str, Any]:
    number = {"type": "number"}
    envelope = {
        "websiteId": {"type": "string"},
        "period": {"type": "string"},
        "timezone": {"type": "string"},
        "from": {"type": "string", "description": "Start (included), local ISO 8601."},
        "to": {"type": "string", "description": "End (excluded), local ISO 8601."},
    }
    required = ["websiteId", "period", "timezone", "from", "to", "results"]
    comparison = {
        "type": "object",
        "description": "The previous period (with compare=previous_period).",
        "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
    }
    changes = {
        "type": "object",
        "description": "With compare=previous_period: each metric's percent change.",
        "additionalProperties": {"type": ["number", "null"]},
    }
    return {
        "StatsAggregate": {
            "type": "object",
            "required": required,
            "properties": {
                **envelope,
                "comparison": comparison,
                "results": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["value"],
                        "properties": {
                            "value": number,
                            "change": {"type": ["number", "null"]},
                        },
                    },
                },
            },
        },
        "StatsTimeseries": {
            "type": "object",
            "required": [*required, "interval"],
            "properties": {
                **envelope,
                "interval": {"enum": list(intervals.INTERVALS)},
                "comparison": comparison,
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["date"],
                        "properties": {
                            "date": {"type": "string"},
                            "comparison": {
                                "type": ["object", "null"],
                                "description": "With compare=previous_period: the bucket at "
                                "the same position of the previous period.",
                                "required": ["date"],
                                "properties": {"date": {"type": "string"}},
                                "additionalProperties": number,
                            },
                        },
                        "additionalProperties": number,
                    },
                },
            },
        },
        "StatsBreakdown": {
            "type": "object",
            "required": [*required, "property", "limit", "page"],
            "properties": {
                **envelope,
                "property": {"type": "string"},
                "limit": {"type": "integer"},
                "page": {"type": "integer"},
                "comparison": comparison,
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value"],
                        "properties": {"value": {"type": "string"}, "change": changes},
                        "additionalProperties": number,
                    },
                },
            },
        },
    }


_STATS_EXAMPLES: dict[query.Kind, Any] = {
    query.Kind.AGGREGATE: {
        **_ENVELOPE_EXAMPLE,
        "comparison": {"from": "2026-09-08T00:00:00+02:00", "to": "2026-09-15T00:00:00+02:00"},
        "results": {
            "visitors": {"value": 5, "change": 400.0},
            "bounce_rate": {"value": 33.3, "change": None},
        },
    },
    query.Kind.TIMESERIES: {
        **_ENVELOPE_EXAMPLE,
        "interval": "day",
        "results": [{"date": "2026-09-15", "visitors": 0}, {"date": "2026-09-16", "visitors": 3}],
    },
    query.Kind.BREAKDOWN: {
        **_ENVELOPE_EXAMPLE,
        "property": "visit:source",
        "limit": 100,
        "page": 1,
        "results": [{"value": "Direct / None", "visitors": 3}, {"value": "Google", "visitors": 1}],
    },
}

_STATS_SUMMARIES = {
    query.Kind.AGGREGATE: ("Stats: totals", "The metrics over the whole period."),
    query.Kind.TIMESERIES: (
        "Stats: timeseries",
        "The metrics per time bucket; every bucket of the period is listed (zero-filled).",
    ),
    query.Kind.BREAKDOWN: (
        "Stats: breakdown",
        "The metrics per value of `property`, ordered by visitors (then value).",
    ),
}


def _stats_paths() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for kind, (summary, description) in _STATS_SUMMARIES.items():
        schema = {"$ref": f"#/components/schemas/Stats{kind.value.title()}"}
        paths[f"/api/v1/stats/{kind.value}"] = {
            "get": {
                "summary": summary,
                "description": f"{description} Authentication as for the Realtime API, "
                "checked first; then the parameters. See docs/api/stats.md.",
                "security": [{"bearer": []}],
                "parameters": _stats_parameters(kind),
                "responses": {
                    "200": {
                        "description": "The answer (`Cache-Control: no-store`).",
                        "content": _json(schema, _STATS_EXAMPLES[kind]),
                    },
                    "400": _error(
                        "websiteId missing, or a parameter is invalid (named, with the "
                        "allowed values)",
                        api_auth.WEBSITE_ID_REQUIRED,
                        f'metrics: unknown metric "foo"; allowed: {", ".join(query.METRICS)}',
                    ),
                    **_site_auth_errors(),
                    "503": _error(
                        "The query ran past its time limit, or a backend is unavailable "
                        "(`Retry-After`)"
                    ),
                },
            },
            "options": {
                "summary": "CORS preflight",
                "responses": {"204": {"description": "Any origin may send Authorization."}},
            },
        }
    return paths


def _path_error() -> str:
    """The 400 message of an invalid `path` parameter (as the handlers word it)."""
    try:
        PathPattern.parse("pricing")
    except ValueError as error:
        return f"path: {error}"
    raise AssertionError("'pricing' is not a valid pattern")


_PATH_PARAMETER = {
    "name": "path",
    "in": "query",
    "required": False,
    "description": "Count only the visitors whose latest pageview is on this page (`/pricing`) "
    "or section (`/pricing/*`: every path starting with `/pricing/`). A visitor is on one "
    "page at a time. Absent: the whole site.",
    "schema": {"type": "string", "examples": ["/pricing", "/pricing/*"]},
}


def _live_paths() -> dict[str, Any]:
    """The live count for public pages (publishable key), as JSON and as a stream."""
    key = {
        "name": "key",
        "in": "query",
        "required": True,
        "description": "A publishable key of the website (`pk_…`): it may only read this "
        "count, from the origins it names (the request's `Origin`, or without one the "
        "`Referer`'s origin), for the paths it names.",
        "schema": {"type": "string", "pattern": "^pk_[0-9A-Za-z]{30}$"},
    }
    errors = {
        "400": _error("path invalid", _path_error()),
        "401": _error(
            "Key missing, a secret token, malformed, unknown or revoked",
            live.KEY_REQUIRED,
            live.SECRET_TOKEN,
            live.INVALID_KEY,
        ),
        "403": _error(
            "The key does not allow this origin or this path",
            live.ORIGIN_NOT_ALLOWED,
            live.PATH_NOT_ALLOWED,
        ),
        "503": _error("A backend is unavailable (`Retry-After`)"),
    }
    preflight = {
        "summary": "CORS preflight",
        "responses": {"204": {"description": "The asking origin may send GET."}},
    }
    count_example = {
        "currentVisitors": 7,
        "belowMinimum": False,
        "minimum": 3,
        "path": "/pricing",
        "timestamp": "2026-09-21T14:13:20.000Z",
    }
    return {
        "/api/v1/live": {
            "get": {
                "summary": "Live count for a public page (publishable key)",
                "description": "What the live-counter widget shows: the current visitors of "
                "the site or of a page. Below the site's minimum (`live_min_count`) the count "
                "is withheld: `currentVisitors` is null and `belowMinimum` true. Checks run "
                "in the order of the error list. See docs/api/live-counter.md.",
                "security": [{"publishableKey": []}],
                "parameters": [key, _PATH_PARAMETER],
                "responses": {
                    "200": {
                        "description": "The count (`no-store`; CORS for the allowed origin).",
                        "content": _json({"$ref": "#/components/schemas/LiveCount"}, count_example),
                    },
                    **errors,
                },
            },
            "options": preflight,
        },
        "/api/v1/live/stream": {
            "get": {
                "summary": "Live count for a public page, pushed (server-sent events)",
                "description": "A `text/event-stream` for `EventSource`: `retry:` (reconnection "
                "delay), then at once the current count as an event (`id:`, and `data:` with "
                "the JSON of GET /api/v1/live), then an event on every change and a comment "
                "line as heartbeat. A reconnect (`Last-Event-ID`) gets the current count at "
                "once. The stream ends when the key stops allowing it (revoked) and when the "
                "server stops; browsers then reconnect. See docs/api/live-counter.md.",
                "security": [{"publishableKey": []}],
                "parameters": [key, _PATH_PARAMETER],
                "responses": {
                    "200": {
                        "description": "The stream (`no-store`; CORS for the allowed origin).",
                        "content": {
                            "text/event-stream": {
                                "schema": {"type": "string"},
                                "example": "retry: 3000\nid: 1790000000000\ndata: "
                                + json.dumps(count_example, separators=(",", ":"))
                                + "\n\n",
                            }
                        },
                    },
                    **errors,
                    "503": _error(
                        "A backend is unavailable, the server is stopping, or it has as many "
                        "streams open as it takes (`Retry-After`)"
                    ),
                },
            },
            "options": preflight,
        },
    }


_CSV_BREAKDOWN_EXAMPLE = (
    "visit:source,visitors,conversion_rate\r\nDirect / None,3,33.3\r\nGoogle,1,100.0\r\n"
)
_CSV_EVENTS_EXAMPLE = (
    ",".join(COLUMNS) + "\r\n2026-09-20T13:02:00.000000Z,3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10,"
    "7316495718263412,11,signup,example.com,/pricing,https://www.google.com/,Google,,,,,,US,"
    'Chrome,131.0,Windows,10,desktop,desktop,"{""plan"":""pro""}",US-CA,San Francisco,\r\n'
)


def _csv_download(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Content-Disposition": {
                "description": 'attachment; filename="footfall-…-FIRST_LAST.csv"',
                "schema": {"type": "string"},
            }
        },
        "content": {"text/csv": {"schema": {"type": "string"}, "example": example}},
    }


def _stats_csv_paths() -> dict[str, Any]:
    """The CSV downloads: a breakdown, and the raw events of a range (streamed)."""
    errors = {
        "400": _error(
            "websiteId missing, or a parameter is invalid (named, with the allowed values)",
            api_auth.WEBSITE_ID_REQUIRED,
        ),
        **_site_auth_errors(),
        "503": _error("A backend is unavailable, or the query ran too long (`Retry-After`)"),
    }
    preflight = {
        "summary": "CORS preflight",
        "responses": {"204": {"description": "Any origin may send Authorization."}},
    }
    range_parameters = _stats_parameters(query.Kind.AGGREGATE)[:4]  # websiteId … timezone
    return {
        "/api/v1/stats/breakdown.csv": {
            "get": {
                "summary": "Stats: breakdown as CSV",
                "description": "The breakdown (same parameters, same rows and page) as a CSV "
                "download: a header row (the property, then each metric), UTF-8, CRLF. Text "
                "cells starting with = + - @ (or tab, CR) are prefixed with ' against formula "
                "injection. Errors are JSON. See docs/api/stats.md.",
                "security": [{"bearer": []}],
                "parameters": _stats_parameters(query.Kind.BREAKDOWN),
                "responses": {
                    "200": _csv_download("The rows (`no-store`).", _CSV_BREAKDOWN_EXAMPLE),
                    **errors,
                },
            },
            "options": preflight,
        },
        "/api/v1/stats/export/events": {
            "get": {
                "summary": "Stats: raw events as CSV (streamed)",
                "description": "Every event of the website in the range, oldest first, one "
                "column per events-table column (no IP address is stored): `ts` in UTC with "
                "microseconds, `props` as JSON. Streamed batch by batch, so any range can be "
                "downloaded; formula cells neutralised as for breakdown.csv. Only "
                "websiteId, period, date and timezone are taken.",
                "security": [{"bearer": []}],
                "parameters": range_parameters,
                "responses": {
                    "200": _csv_download("The events (`no-store`).", _CSV_EVENTS_EXAMPLE),
                    **errors,
                },
            },
            "options": preflight,
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once)."""
    return throttle.document_abuse_answers(_document())


def _document() -> dict[str, Any]:
    realtime_ok = {
        "currentVisitors": 5,
        "websiteId": "3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10",
        "timestamp": "2025-07-30T17:09:37.000Z",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Footfall API",
            "version": __version__,
            "description": "Privacy-friendly web analytics. Errors are always "
            '`{"error": "<message>"}`.',
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A website's API token: `vt_` + 30 base62 + 6 checksum.",
                },
                "publishableKey": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "key",
                    "description": "A publishable key (`pk_` + 24 base62 + 6 checksum): public, "
                    "reads only the live count.",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "LiveCount": {
                    "type": "object",
                    "required": [
                        "currentVisitors",
                        "belowMinimum",
                        "minimum",
                        "path",
                        "timestamp",
                    ],
                    "properties": {
                        "currentVisitors": {
                            "type": ["integer", "null"],
                            "minimum": 0,
                            "description": "Null when below the site's minimum.",
                        },
                        "belowMinimum": {"type": "boolean"},
                        "minimum": {"type": "integer", "minimum": 0},
                        "path": {"type": ["string", "null"]},
                        "timestamp": {"type": "string"},
                    },
                },
                "Realtime": {
                    "type": "object",
                    "required": ["currentVisitors", "websiteId", "timestamp"],
                    "properties": {
                        "currentVisitors": {"type": "integer", "minimum": 0},
                        "websiteId": {"type": "string"},
                        "timestamp": {
                            "type": "string",
                            "description": "UTC, milliseconds: YYYY-MM-DDTHH:MM:SS.mmmZ",
                            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                        },
                    },
                },
                **_stats_schemas(),
                "TrackerHit": TrackerHit.model_json_schema(),
                "ServerBatch": ServerBatch.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                ),
                **ServerBatch.model_json_schema(ref_template="#/components/schemas/{model}").get(
                    "$defs", {}
                ),
            },
        },
        "paths": {
            "/api/v1/realtime": {
                "get": {
                    "summary": "Current visitors",
                    "description": "Unique visitors with a pageview in the last 3 minutes. "
                    "Checks run in the order of the error list; the first failure answers.",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "websiteId",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _PATH_PARAMETER,
                    ],
                    "responses": {
                        "200": {
                            "description": "The count (`Cache-Control: no-store`).",
                            "content": _json(
                                {"$ref": "#/components/schemas/Realtime"}, realtime_ok
                            ),
                        },
                        "400": _error(
                            "websiteId missing, or path invalid",
                            api_auth.WEBSITE_ID_REQUIRED,
                            _path_error(),
                        ),
                        **_site_auth_errors(),
                    },
                },
                "options": {
                    "summary": "CORS preflight",
                    "responses": {"204": {"description": "Any origin may send Authorization."}},
                },
            },
            **_live_paths(),
            **_stats_paths(),
            **_stats_csv_paths(),
            "/api/event": {
                "post": {
                    "summary": "Track an event (the tracker's endpoint)",
                    "description": "Public and CORS-open; any Content-Type (the tracker sends "
                    "text/plain to avoid a preflight). Drops answer 202 with the reason in "
                    f"`X-Footfall-Dropped` ({', '.join(DropReason)}). An `eventId` already "
                    "stored for the site within the hour is acknowledged as a `duplicate`.",
                    "requestBody": {
                        "required": True,
                        "content": _json(
                            {"$ref": "#/components/schemas/TrackerHit"},
                            {
                                "websiteId": "3f1c2b9e-6a55-4f0c-9c3e-0d9f1f2a7b10",
                                "name": "pageview",
                                "url": "https://example.com/pricing?utm_source=newsletter",
                                "referrer": "https://www.google.com/",
                                "screenWidth": 1440,
                                "eventId": "k7qw2x9zbt0plm4e",
                            },
                        ),
                    },
                    "responses": {
                        "202": {
                            "description": "Stored (committed) or dropped.",
                            "content": _json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "status": {"enum": ["accepted", "dropped"]},
                                        "reason": {"type": "string"},
                                    },
                                },
                                {"status": "accepted"},
                            ),
                        },
                        "400": _error("Invalid body", "Malformed JSON body", "url: is required"),
                        "404": _error("Unknown website", api_auth.WEBSITE_NOT_FOUND),
                        "413": _error("Body too large"),
                        "503": _error(
                            "Overloaded, shutting down, or a copy of this `eventId` is still "
                            "being stored (`Retry-After`)"
                        ),
                    },
                },
                "options": {
                    "summary": "CORS preflight",
                    "responses": {"204": {"description": "Any origin may POST events."}},
                },
            },
            "/api/v1/events": {
                "post": {
                    "summary": "Send events from a server (batch, backfill)",
                    "description": "All-or-nothing. Each event needs `visitorId`, or `ip` and "
                    "`userAgent`. `timestamp` (ISO 8601 with offset) may be in the past, at "
                    "most 5 minutes ahead.",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": _json(
                            {"$ref": "#/components/schemas/ServerBatch"},
                            {
                                "events": [
                                    {
                                        "name": "signup",
                                        "url": "https://example.com/welcome",
                                        "visitorId": "user-1234",
                                        "timestamp": "2026-11-26T09:00:00Z",
                                        "props": {"plan": "pro"},
                                    }
                                ]
                            },
                        ),
                    },
                    "responses": {
                        "202": {
                            "description": "Committed; counts of accepted and dropped events.",
                            "content": _json({"type": "object"}, {"accepted": 1, "dropped": {}}),
                        },
                        "400": _error(
                            "Invalid body", "events[0].timestamp: more than 5 minutes in the future"
                        ),
                        "401": _error(
                            "Authentication failed",
                            api_auth.MISSING_HEADER,
                            api_auth.INVALID_FORMAT,
                            api_auth.INVALID_TOKEN,
                        ),
                        "413": _error("Body too large"),
                        "503": _error("Overloaded or shutting down (`Retry-After`)"),
                    },
                }
            },
            "/script.js": {
                "get": {
                    "summary": "The tracker script",
                    "responses": {"200": {"description": "JavaScript, cacheable, with ETag."}},
                }
            },
            "/widget.js": {
                "get": {
                    "summary": "The live-counter widget (<footfall-live>)",
                    "description": "Renders the live count of a page with a publishable key, "
                    "pushed by GET /api/v1/live/stream. See docs/api/live-counter.md.",
                    "responses": {"200": {"description": "JavaScript, cacheable, with ETag."}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Health of every backend",
                    "responses": {
                        "200": {"description": "All backends answer."},
                        "503": {"description": "A backend is down (named in `backends`)."},
                    },
                }
            },
        },
    }


async def openapi_json(_request: Request) -> Response:
    """GET /openapi.json — this document."""
    return json_response(document())


def _render() -> str:
    spec = document()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(spec['info']['title'])}</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;"
        "padding:0 1rem}code,pre{background:#f4f4f4;padding:.1rem .3rem}"
        "pre{padding:.6rem;overflow:auto}h2{border-top:1px solid #ddd;padding-top:1rem}</style>",
        "</head><body>",
        f"<h1>{html.escape(spec['info']['title'])} {html.escape(spec['info']['version'])}</h1>",
        f"<p>{html.escape(spec['info']['description'])} ",
        "Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>")
            parts.append(f"<p><strong>{html.escape(op['summary'])}</strong></p>")
            if "description" in op:
                parts.append(f"<p>{html.escape(op['description'])}</p>")
            if op.get("security"):
                if "publishableKey" in op["security"][0]:
                    parts.append("<p>Auth: <code>key=pk_…</code> (a publishable key)</p>")
                else:
                    parts.append("<p>Auth: <code>Authorization: Bearer vt_…</code></p>")
            for param in op.get("parameters", []):
                required = " (required)" if param.get("required") else ""
                about = f" — {html.escape(param['description'])}" if "description" in param else ""
                parts.append(
                    f"<p>Query <code>{html.escape(param['name'])}</code>{required}{about}</p>"
                )
            example = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("example")
            )
            answer = op["responses"].get("200", {}).get("content", {}).get("application/json")
            if example is None and op.get("parameters") and answer and "example" in answer:
                parts.append("<p>Example answer:</p><pre>")
                parts.append(html.escape(json.dumps(answer["example"], indent=2)) + "</pre>")
            if example is not None:
                parts.append("<p>Example body:</p><pre>")
                parts.append(html.escape(json.dumps(example, indent=2)) + "</pre>")
            parts.append("<ul>")
            for status, response in op["responses"].items():
                messages = [
                    ex["value"]["error"]
                    for ex in response.get("content", {})
                    .get("application/json", {})
                    .get("examples", {})
                    .values()
                ]
                detail = "".join(f"<br><code>{html.escape(m)}</code>" for m in messages)
                description = html.escape(response["description"])
                parts.append(f"<li><strong>{status}</strong> {description}{detail}</li>")
            parts.append("</ul>")
    parts.append("</body></html>")
    return "".join(parts)


async def docs_page(_request: Request) -> Response:
    """GET /docs — the API reference rendered from the OpenAPI document (no external assets)."""
    page = _render()
    return HTMLResponse(page, headers={"Content-Security-Policy": csp.page_policy(page)})
