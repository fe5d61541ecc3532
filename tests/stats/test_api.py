"""The Stats API over HTTP (docs/api/stats.md): authentication in the Realtime API's order,
400s naming the parameter, headers, and the shape of each answer.

The answers on the hand-made data set (`loaded`) are checked on both tiers; the engine suite
covers every metric, breakdown and filter on both stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.auth import tokens
from footfall.services import Services
from tests.backends import tier_settings_for
from tests.conftest import FakeClock, Running, start_app
from tests.stats.api_client import assert_cors_preflight, assert_error, get
from tests.stats.dataset import NY, events

ENDPOINTS = ["aggregate", "timeseries", "breakdown"]
MISSING = "Missing or invalid authorization header. Expected: Bearer <token>"


@pytest.fixture(params=["embedded", "cluster"])
async def loaded(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Running]:
    """The hand-made data set on a running app of each tier (DuckDB; PostgreSQL and Redis)."""
    async with start_app(tier_settings_for(request, tmp_path), clock) as (app, client):
        services: Services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        await services.events.append(events(site.id))
        yield Running(app, client, clock, site, token)


# --- authentication, in the Realtime API's order --------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_authentication_errors_in_order(running: Running, endpoint: str) -> None:
    # 1. no header (even with invalid parameters and no websiteId)
    response = await get(running, endpoint, {"metrics": "foo"}, token=None, site=False)
    assert_error(response, 401, MISSING)
    # 2. malformed token
    response = await get(running, endpoint, {"metrics": "foo"}, token="vt_nope", site=False)
    assert_error(response, 401, "Invalid token format")
    # 3. websiteId missing
    response = await get(running, endpoint, {"metrics": "foo"}, site=False)
    assert_error(response, 400, "websiteId is required")
    # 4. unknown website
    response = await get(running, endpoint, {"websiteId": "nope", "metrics": "foo"}, site=False)
    assert_error(response, 404, "Website not found")
    # 6. another site's token (checked before the parameters)
    other = await running.services.meta.create_site("other.example", None, running.clock.now())
    other_token, _ = await running.services.meta.create_token(other.id, running.clock.now())
    response = await get(running, endpoint, {"metrics": "foo"}, token=other_token)
    assert_error(response, 401, "Invalid API token")
    # a well-formed token of nobody
    response = await get(running, endpoint, token=tokens.generate_token())
    assert_error(response, 401, "Invalid API token")
    # then the parameters
    response = await get(running, endpoint, {"metrics": "foo"})
    assert_error(
        response,
        400,
        'metrics: unknown metric "foo"; allowed: visitors, visits, pageviews, views_per_visit, '
        "bounce_rate, visit_duration, events, conversions, conversion_rate",
    )


async def test_site_without_token(running: Running) -> None:
    bare = await running.services.meta.create_site("bare.example", None, running.clock.now())
    response = await get(running, "aggregate", {"websiteId": bare.id}, site=False)
    assert_error(response, 401, "No API token configured for this website")


# --- 400s name the parameter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        (
            "aggregate",
            {"period": "fortnight"},
            'period: unknown period "fortnight"; allowed: day, today, 30m, 24h, 7d, 30d, month, '
            "last_month, 12mo, custom",
        ),
        (
            "aggregate",
            {"period": "custom", "date": "2026-09-10"},
            'date: "2026-09-10" is not a range; expected YYYY-MM-DD,YYYY-MM-DD with period=custom',
        ),
        (
            "aggregate",
            {"timezone": "Europe/Atlantis"},
            'timezone: unknown time zone "Europe/Atlantis"; expected an IANA name such as '
            "Europe/Berlin or America/New_York",
        ),
        (
            "aggregate",
            {"filters": '[["like", "event:page", ["/"]]]'},
            'filters[0]: unknown operator "like"; allowed: is, is_not, contains',
        ),
        (
            "aggregate",
            {"compare": "yesterday"},
            'compare: unknown value "yesterday"; allowed: previous_period',
        ),
        (
            "timeseries",
            {"interval": "year"},
            'interval: unknown interval "year"; allowed: minute, hour, day, week, month',
        ),
        (
            "breakdown",
            {"property": "visit:planet"},
            'property: unknown property "visit:planet"; allowed: event:page, event:hostname, '
            "event:name, event:goal, visit:entry_page, visit:exit_page, visit:source, "
            "visit:referrer, "
            "visit:utm_source, visit:utm_medium, visit:utm_campaign, visit:utm_term, "
            "visit:utm_content, visit:country, visit:region, visit:city, visit:browser, "
            "visit:browser_version, visit:os, visit:os_version, visit:device, visit:screen, "
            "event:props:<key>",
        ),
        ("breakdown", {"limit": "5000"}, "limit: expected an integer from 1 to 1000"),
        (
            "timeseries",
            {"limit": "5"},
            'unknown parameter "limit"; allowed: websiteId, period, date, timezone, metrics, '
            "filters, interval, compare",
        ),
    ],
)
async def test_invalid_parameters(
    running: Running, endpoint: str, params: dict[str, str], message: str
) -> None:
    assert_error(await get(running, endpoint, params), 400, message)


async def test_breakdown_needs_a_property(running: Running) -> None:
    response = await running.client.get(
        "/api/v1/stats/breakdown",
        params={"websiteId": running.site.id},
        headers={"Authorization": f"Bearer {running.token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("property: is required; allowed: event:page, ")


async def test_repeated_parameter(running: Running) -> None:
    response = await running.client.get(
        "/api/v1/stats/aggregate",
        params=[("websiteId", running.site.id), ("metrics", "visitors"), ("metrics", "events")],
        headers={"Authorization": f"Bearer {running.token}"},
    )
    assert_error(response, 400, "metrics: given more than once")


# --- answers --------------------------------------------------------------------------------


def assert_ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == "*"
    body: dict[str, Any] = response.json()
    return body


async def test_aggregate(loaded: Running) -> None:
    params = {
        "period": "7d",
        "timezone": NY,
        "metrics": "visitors,pageviews,bounce_rate",
        "filters": '[["is_not", "visit:source", ["Direct / None"]]]',
        "compare": "previous_period",
    }
    assert assert_ok(await get(loaded, "aggregate", params)) == {
        "websiteId": loaded.site.id,
        "period": "7d",
        "timezone": NY,
        "from": "2026-09-15T00:00:00-04:00",
        "to": "2026-09-22T00:00:00-04:00",
        "comparison": {"from": "2026-09-08T00:00:00-04:00", "to": "2026-09-15T00:00:00-04:00"},
        "results": {
            # V1, V2, V3 against V7 (visitor 2: a pageview and a signup)
            "visitors": {"value": 3, "change": 200.0},
            "pageviews": {"value": 6, "change": 500.0},
            "bounce_rate": {"value": 33.3, "change": None},
        },
    }


async def test_aggregate_defaults(loaded: Running) -> None:
    body = assert_ok(await get(loaded, "aggregate"))
    assert body["period"] == "30d"
    assert body["timezone"] == "UTC"
    assert body["results"] == {"visitors": {"value": 6}}  # UTC Aug 23-Sep 21: 1-5 and 8


async def test_the_sites_time_zone_is_the_default(loaded: Running) -> None:
    """Without `timezone`, days and buckets are the site's local ones (as on the dashboard)."""
    utc = assert_ok(await get(loaded, "timeseries", {"period": "7d"}))
    await loaded.services.meta.update_site(loaded.site.id, timezone=NY)
    body = assert_ok(await get(loaded, "timeseries", {"period": "7d"}))
    explicit = assert_ok(await get(loaded, "timeseries", {"period": "7d", "timezone": NY}))
    assert body == explicit
    assert body["timezone"] == NY
    assert body["from"] == "2026-09-15T00:00:00-04:00"
    assert body["results"] != utc["results"]  # the data set has events near midnight
    explicit_utc = {"period": "7d", "timezone": "UTC"}
    assert assert_ok(await get(loaded, "timeseries", explicit_utc)) == utc


async def test_timeseries(loaded: Running) -> None:
    body = assert_ok(
        await get(
            loaded, "timeseries", {"period": "7d", "timezone": NY, "metrics": "visitors,events"}
        )
    )
    assert body["interval"] == "day"
    assert body["from"] == "2026-09-15T00:00:00-04:00"
    assert body["results"] == [
        {"date": "2026-09-15", "visitors": 0, "events": 0},
        {"date": "2026-09-16", "visitors": 0, "events": 0},
        {"date": "2026-09-17", "visitors": 0, "events": 0},
        {"date": "2026-09-18", "visitors": 0, "events": 0},
        {"date": "2026-09-19", "visitors": 1, "events": 1},
        {"date": "2026-09-20", "visitors": 3, "events": 1},
        {"date": "2026-09-21", "visitors": 2, "events": 1},
    ]


async def test_breakdown(loaded: Running) -> None:
    params = {
        "period": "7d",
        "timezone": NY,
        "property": "visit:source",
        "metrics": "visitors,visit_duration",
        "limit": "2",
        "page": "2",
    }
    body = assert_ok(await get(loaded, "breakdown", params))
    assert body == {
        "websiteId": loaded.site.id,
        "period": "7d",
        "timezone": NY,
        "from": "2026-09-15T00:00:00-04:00",
        "to": "2026-09-22T00:00:00-04:00",
        "property": "visit:source",
        "limit": 2,
        "page": 2,
        "results": [
            {"value": "Hacker News", "visitors": 1, "visit_duration": 0.0},
            {"value": "newsletter", "visitors": 1, "visit_duration": 90.0},
        ],
    }


async def test_tracked_pageviews_show_up(running: Running) -> None:
    """End to end: tracker hits through ingestion, then the stats of today."""
    await running.pageview(path="/a")
    await running.pageview(path="/b")
    await running.pageview(path="/a", ip="198.51.100.1")
    body = assert_ok(
        await get(running, "breakdown", {"period": "day", "metrics": "visitors,pageviews"})
    )
    assert body["results"] == [
        {"value": "/a", "visitors": 2, "pageviews": 2},
        {"value": "/b", "visitors": 1, "pageviews": 1},
    ]
    body = assert_ok(
        await get(running, "aggregate", {"period": "day", "metrics": "visits,bounce_rate"})
    )
    assert body["results"] == {"visits": {"value": 2}, "bounce_rate": {"value": 50.0}}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_cors_preflight(running: Running, endpoint: str) -> None:
    await assert_cors_preflight(running, endpoint)


async def test_documented_in_openapi(running: Running) -> None:
    spec = (await running.client.get("/openapi.json")).json()
    for endpoint in ENDPOINTS:
        operation = spec["paths"][f"/api/v1/stats/{endpoint}"]["get"]
        assert operation["security"] == [{"bearer": []}]
        names = {p["name"] for p in operation["parameters"]}
        assert {"websiteId", "period", "date", "timezone", "metrics", "filters"} <= names
        assert {"200", "400", "401", "404", "503"} <= set(operation["responses"])
    docs = (await running.client.get("/docs")).text
    assert "GET /api/v1/stats/breakdown" in docs
