"""Goals and CSV through the Stats API over HTTP (docs/api/stats.md): goals created in the
metadata database, the CSV breakdown (`/api/v1/stats/breakdown.csv`), the raw events export
(`/api/v1/stats/export/events`), their headers, CSV injection, and errors in the Stats API's
order. The app runs on the embedded tier; the engine suites cover both stores, and
test_export_stream.py streams a large export from both.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest

from footfall.auth import tokens
from footfall.storage.events import COLUMNS, Event
from footfall.storage.goals import GoalStore
from tests.conftest import Running
from tests.stats.api_client import assert_cors_preflight, assert_error, get
from tests.stats.dataset import CHROME_WINDOWS, NY, at, event, events

MISSING = "Missing or invalid authorization header. Expected: Bearer <token>"
CSV_ENDPOINTS = ["breakdown.csv", "export/events"]


@pytest.fixture
async def loaded(running: Running) -> Running:
    await running.services.events.append(events(running.site.id))
    goals = GoalStore(running.services.meta.engine)
    now = running.clock.now()
    await goals.create(running.site.id, "event", "signup", now, "Signup")
    await goals.create(running.site.id, "pageview", "/pricing", now + 1, "Pricing")
    return running


def read_csv(response: httpx.Response, filename: str) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Content-Disposition" in response.headers["access-control-expose-headers"]
    text = response.content.decode()
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


# --- goals through the JSON API -------------------------------------------------------------


async def test_goal_filter_and_breakdown(loaded: Running) -> None:
    params = {
        "period": "7d",
        "timezone": NY,
        "metrics": "conversions,conversion_rate,events",
        "filters": json.dumps([["is", "event:goal", ["Signup"]]]),
        "compare": "previous_period",
    }
    response = await get(loaded, "aggregate", params)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == {
        "conversions": {"value": 2, "change": 100.0},
        "conversion_rate": {"value": 40.0, "change": -60.0},
        "events": {"value": 2, "change": 100.0},
    }
    params = {
        "period": "7d",
        "timezone": NY,
        "property": "event:goal",
        "metrics": "visitors,conversion_rate,events",
    }
    response = await get(loaded, "breakdown", params)
    assert response.json()["results"] == [
        {"value": "Pricing", "visitors": 3, "conversion_rate": 60.0, "events": 4},
        {"value": "Signup", "visitors": 2, "conversion_rate": 40.0, "events": 2},
    ]


async def test_goals_added_and_deleted_apply_at_once(loaded: Running) -> None:
    goals = GoalStore(loaded.services.meta.engine)
    params = {"period": "7d", "timezone": NY, "property": "event:goal"}
    added = await goals.create(loaded.site.id, "event", "download", loaded.clock.now(), None)
    names = [row["value"] for row in (await get(loaded, "breakdown", params)).json()["results"]]
    assert names == ["Pricing", "Signup", "download"]
    await goals.delete(added.id)
    names = [row["value"] for row in (await get(loaded, "breakdown", params)).json()["results"]]
    assert names == ["Pricing", "Signup"]


async def test_unknown_goal(loaded: Running) -> None:
    filters = json.dumps([["is", "visit:source", ["Google"]], ["is", "event:goal", ["Refund"]]])
    assert_error(
        await get(loaded, "aggregate", {"filters": filters}),
        400,
        'filters[1]: unknown goal "Refund"; goals of this site: Pricing, Signup',
    )


async def test_goals_of_another_site_are_not_used(loaded: Running) -> None:
    other = await loaded.services.meta.create_site("other.example", None, loaded.clock.now())
    await GoalStore(loaded.services.meta.engine).create(
        other.id, "event", "refund", loaded.clock.now(), "Refund"
    )
    filters = json.dumps([["is", "event:goal", ["Refund"]]])
    response = await get(loaded, "aggregate", {"filters": filters})
    assert response.status_code == 400


async def test_conversion_metrics_need_a_goal(loaded: Running) -> None:
    assert_error(
        await get(loaded, "timeseries", {"metrics": "conversion_rate"}),
        400,
        'metrics: conversion_rate needs a goal: add a filter ["is", "event:goal", '
        '["<goal name>"]] or break down by property=event:goal',
    )


# --- breakdown.csv --------------------------------------------------------------------------


async def test_breakdown_csv(loaded: Running) -> None:
    params = {
        "period": "7d",
        "timezone": NY,
        "property": "visit:source",
        "metrics": "visitors,visit_duration",
    }
    rows = read_csv(
        await get(loaded, "breakdown.csv", params),
        "footfall-breakdown-visit-source-2026-09-15_2026-09-21.csv",
    )
    assert rows == [
        ["visit:source", "visitors", "visit_duration"],
        ["Direct / None", "3", "13.3"],
        ["Google", "1", "300.0"],
        ["Hacker News", "1", "0.0"],
        ["newsletter", "1", "90.0"],
    ]
    # The same rows as the JSON answer, page and limit included.
    params.update(limit="2", page="2")
    body = (await get(loaded, "breakdown", params)).json()
    rows = read_csv(
        await get(loaded, "breakdown.csv", params),
        "footfall-breakdown-visit-source-2026-09-15_2026-09-21.csv",
    )
    assert rows[1:] == [
        [r["value"], str(r["visitors"]), str(r["visit_duration"])] for r in body["results"]
    ]


async def test_goal_breakdown_csv(loaded: Running) -> None:
    params = {"period": "day", "property": "event:goal", "metrics": "conversions,conversion_rate"}
    rows = read_csv(
        await get(loaded, "breakdown.csv", params),
        "footfall-breakdown-event-goal-2026-09-21_2026-09-21.csv",
    )
    # Sep 21 UTC: V3, V1b, V4; /pricing viewed by 3 and 1
    assert rows == [
        ["event:goal", "conversions", "conversion_rate"],
        ["Pricing", "2", "66.7"],
        ["Signup", "0", "0.0"],
    ]


def hostile(site_id: str) -> list[Event]:
    return [
        event("2026-09-21T10:00:00", 1, 1, '=HYPERLINK("https://evil.example","x")', site=site_id),
        event("2026-09-21T10:00:01", 2, 2, "+1+1", site=site_id),
        event("2026-09-21T10:00:02", 3, 3, "-2", site=site_id),
        event("2026-09-21T10:00:03", 4, 4, "@SUM(A1)", site=site_id),
        event("2026-09-21T10:00:04", 5, 5, "\tx", site=site_id),
        event("2026-09-21T10:00:05", 6, 6, "/a=b", site=site_id, props={"k": "=1"}),
    ]


async def test_csv_injection_is_neutralised(running: Running) -> None:
    await running.services.events.append(hostile(running.site.id))
    params = {"period": "day", "property": "event:page", "metrics": "visitors"}
    rows = read_csv(
        await get(running, "breakdown.csv", params),
        "footfall-breakdown-event-page-2026-09-21_2026-09-21.csv",
    )
    assert sorted(rows[1:]) == [
        ["'\tx", "1"],
        ["'+1+1", "1"],
        ["'-2", "1"],
        ['\'=HYPERLINK("https://evil.example","x")', "1"],
        ["'@SUM(A1)", "1"],
        ["/a=b", "1"],  # only a leading formula character matters
    ]
    params = {"period": "day", "property": "event:props:k", "metrics": "visitors"}
    rows = read_csv(
        await get(running, "breakdown.csv", params),
        "footfall-breakdown-event-props-k-2026-09-21_2026-09-21.csv",
    )
    assert rows == [["event:props:k", "visitors"], ["(none)", "5"], ["'=1", "1"]]


# --- export/events --------------------------------------------------------------------------


async def test_export_events(loaded: Running) -> None:
    params = {"period": "custom", "date": "2026-09-20,2026-09-21", "timezone": NY}
    rows = read_csv(
        await get(loaded, "export/events", params),
        "footfall-events-2026-09-20_2026-09-21.csv",
    )
    assert rows[0] == list(COLUMNS)
    assert "ip" not in rows[0]
    records = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]
    # Sep 20-21 in New York: V1 (4 events), V2, V3 (2), V1b (2), V4; oldest first; never
    # the other site's event
    assert [(r["ts"], r["visitor_id"], r["name"], r["pathname"]) for r in records] == [
        ("2026-09-20T13:00:00.000000Z", "1", "pageview", "/"),
        ("2026-09-20T13:01:00.000000Z", "1", "pageview", "/pricing"),
        ("2026-09-20T13:02:00.000000Z", "1", "signup", "/pricing"),
        ("2026-09-20T13:05:00.000000Z", "1", "pageview", "/docs"),
        ("2026-09-20T15:30:00.000000Z", "2", "pageview", "/pricing"),
        ("2026-09-21T02:30:00.000000Z", "3", "pageview", "/"),
        ("2026-09-21T02:31:30.000000Z", "3", "pageview", "/pricing"),
        ("2026-09-21T12:00:00.000000Z", "1", "pageview", "/pricing"),
        ("2026-09-21T12:00:40.000000Z", "1", "download", "/pricing"),
        ("2026-09-21T13:00:00.000000Z", "4", "pageview", "/"),
    ]
    assert {r["site_id"] for r in records} == {loaded.site.id}
    first = records[0]
    assert first == {
        **first,
        "visit_id": "11",
        "hostname": "example.com",
        "referrer": "https://www.google.com/",
        "referrer_source": "Google",
        "utm_source": "",
        **{column: value or "" for column, value in CHROME_WINDOWS.items()},
        "props": "{}",
        "event_id": "",
    }
    assert json.loads(records[2]["props"]) == {"plan": "pro"}
    assert records[5]["utm_campaign"] == "launch"


async def test_export_events_of_an_empty_range(loaded: Running) -> None:
    params = {"period": "day", "date": "2020-01-01"}
    rows = read_csv(
        await get(loaded, "export/events", params), "footfall-events-2020-01-01_2020-01-01.csv"
    )
    assert rows == [list(COLUMNS)]


async def test_export_events_neutralises_formulas(running: Running) -> None:
    await running.services.events.append(hostile(running.site.id))
    rows = read_csv(
        await get(running, "export/events", {"period": "day"}),
        "footfall-events-2026-09-21_2026-09-21.csv",
    )
    pathnames = [row[COLUMNS.index("pathname")] for row in rows[1:]]
    assert pathnames == [
        '\'=HYPERLINK("https://evil.example","x")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "/a=b",
    ]
    assert rows[-1][COLUMNS.index("props")] == '{"k":"=1"}'  # JSON starts with {: harmless


async def test_export_keeps_microseconds(running: Running) -> None:
    ts = at("2026-09-21T10:00:00") + 0.000_123
    await running.services.events.append(
        [Event(ts, running.site.id, 7, "pageview", "example.com", "/", visit_id=7)]
    )
    rows = read_csv(
        await get(running, "export/events", {"period": "day"}),
        "footfall-events-2026-09-21_2026-09-21.csv",
    )
    assert rows[1][0] == "2026-09-21T10:00:00.000123Z"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"period": "fortnight"},
            'period: unknown period "fortnight"; allowed: day, today, 30m, 24h, 7d, 30d, month, '
            "last_month, 12mo, custom",
        ),
        (
            {"period": "custom"},
            "date: is required with period=custom; expected YYYY-MM-DD,YYYY-MM-DD",
        ),
        (
            {"metrics": "visitors"},
            'unknown parameter "metrics"; allowed: websiteId, period, date, timezone',
        ),
        (
            {"timezone": "Mars/Olympus"},
            'timezone: unknown time zone "Mars/Olympus"; expected an IANA name such as '
            "Europe/Berlin or America/New_York",
        ),
    ],
)
async def test_export_invalid_parameters(
    loaded: Running, params: dict[str, str], message: str
) -> None:
    assert_error(await get(loaded, "export/events", params), 400, message)


# --- both CSV endpoints: authentication in the Realtime API's order, CORS -------------------


@pytest.mark.parametrize("endpoint", CSV_ENDPOINTS)
async def test_authentication_errors_in_order(running: Running, endpoint: str) -> None:
    bad: dict[str, Any] = {"period": "fortnight"}
    assert_error(await get(running, endpoint, bad, token=None, site=False), 401, MISSING)
    response = await get(running, endpoint, bad, token="vt_nope", site=False)
    assert_error(response, 401, "Invalid token format")
    assert_error(await get(running, endpoint, bad, site=False), 400, "websiteId is required")
    response = await get(running, endpoint, {**bad, "websiteId": "nope"}, site=False)
    assert_error(response, 404, "Website not found")
    bare = await running.services.meta.create_site("bare.example", None, running.clock.now())
    response = await get(running, endpoint, {**bad, "websiteId": bare.id}, site=False)
    assert_error(response, 401, "No API token configured for this website")
    other = await running.services.meta.create_site("other.example", None, running.clock.now())
    other_token, _ = await running.services.meta.create_token(other.id, running.clock.now())
    assert_error(await get(running, endpoint, bad, token=other_token), 401, "Invalid API token")
    response = await get(running, endpoint, bad, token=tokens.generate_token())
    assert_error(response, 401, "Invalid API token")
    response = await get(running, endpoint, bad)  # then the parameters
    assert response.status_code == 400
    assert response.json()["error"].startswith('period: unknown period "fortnight"')


@pytest.mark.parametrize("endpoint", CSV_ENDPOINTS)
async def test_cors_preflight(running: Running, endpoint: str) -> None:
    await assert_cors_preflight(running, endpoint)


async def test_documented_in_openapi(running: Running) -> None:
    spec = (await running.client.get("/openapi.json")).json()
    for endpoint in CSV_ENDPOINTS:
        operation = spec["paths"][f"/api/v1/stats/{endpoint}"]["get"]
        assert operation["security"] == [{"bearer": []}]
        assert {"websiteId", "period", "date", "timezone"} <= {
            p["name"] for p in operation["parameters"]
        }
        assert {"200", "400", "401", "404", "503"} <= set(operation["responses"])
        assert "example" in operation["responses"]["200"]["content"]["text/csv"]
    breakdown = spec["paths"]["/api/v1/stats/breakdown"]["get"]
    metrics = next(p for p in breakdown["parameters"] if p["name"] == "metrics")
    assert "conversion_rate" in metrics["description"]
