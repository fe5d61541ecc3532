"""`/sites/{id}/stats/property-keys`: the custom property keys the custom events panel offers,
then broken down through `/sites/{id}/stats/breakdown` (`event:props:<key>`), over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from footfall.config import Settings
from tests.conftest import CHROME_UA, FakeClock
from tests.dashboard.conftest import Dash, _dash

NOT_PAGEVIEWS = json.dumps([["is_not", "event:name", ["pageview"]]])


async def _hit(dash: Dash, site_id: str, name: str, props: dict[str, Any], ip: str) -> None:
    client = await dash.browser()
    response = await client.client.post(
        "/api/event",
        json={"websiteId": site_id, "name": name, "url": "https://shop.example/", "props": props},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": ip},
    )
    assert response.status_code == 202, response.text


async def test_keys_of_the_range_then_the_values_of_one(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    keys = f"/sites/{site_id}/stats/property-keys"
    empty = await owner.get(keys, params={"period": "day"})
    assert (empty.status_code, empty.json()) == (200, {"results": []})
    await _hit(dash, site_id, "signup", {"plan": "pro", "seats": 2}, "198.51.100.1")
    await _hit(dash, site_id, "signup", {"plan": "free"}, "198.51.100.2")
    await _hit(dash, site_id, "download", {"plan": "pro", "format": "pdf"}, "198.51.100.3")
    await _hit(dash, site_id, "pageview", {"author": "ann"}, "198.51.100.4")  # not offered
    answer = await owner.get(keys, params={"period": "day"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"results": ["plan", "format", "seats"]}
    # The range is the Stats API's: yesterday had none.
    assert (await owner.get(keys, params={"period": "day", "date": "2020-01-01"})).json() == {
        "results": []
    }

    values = await owner.get(
        f"/sites/{site_id}/stats/breakdown",
        params={
            "period": "day",
            "property": "event:props:plan",
            "metrics": "visitors,events",
            "filters": NOT_PAGEVIEWS,
        },
    )
    assert values.status_code == 200, values.text
    rows = [(r["value"], r["visitors"], r["events"]) for r in values.json()["results"]]
    assert rows == [("pro", 2, 2), ("free", 1, 1)]


async def test_bad_parameters_are_named_and_access_is_the_dashboards(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    keys = f"/sites/{site_id}/stats/property-keys"
    for params, message in (
        ({"period": "fortnight"}, "period"),
        ({"period": "day", "filters": NOT_PAGEVIEWS}, 'unknown parameter "filters"'),
        ({"period": "custom"}, "date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ):
        refused = await owner.get(keys, params=params)
        assert refused.status_code == 400, params
        assert message in refused.json()["error"], refused.json()

    viewer = await dash.user("viewer@example.org")
    await owner.form(
        f"/sites/{site_id}/sharing",
        f"/sites/{site_id}/sharing",
        {"email": "viewer@example.org", "role": "viewer"},
    )
    assert (await viewer.get(keys)).json() == {"results": []}  # any role reads the stats
    stranger = await dash.user("stranger@example.org")
    hidden = await stranger.get(keys)
    assert (hidden.status_code, hidden.json()) == (404, {"error": "Website not found"})
    signed_out = await dash.browser()
    assert (await signed_out.get(keys)).status_code == 401


@pytest.fixture
async def limited(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Dash]:
    """A dashboard whose users may ask 3 stats questions, then 1 per 100 seconds."""
    settings = Settings(
        data_dir=tmp_path / "data",
        access_log=False,
        rate_limit_dashboard_stats_per_second=0.01,
        rate_limit_dashboard_stats_burst=3,
    )
    async for value in _dash(settings, clock, "http://testserver"):
        yield value


async def test_keys_count_against_the_users_stats_rate_limit(limited: Dash) -> None:
    owner = await limited.owner()
    site_id = await owner.add_site("shop.example")
    keys = f"/sites/{site_id}/stats/property-keys"
    assert (await owner.get(keys)).status_code == 200
    assert (await owner.get(f"/sites/{site_id}/stats/aggregate")).status_code == 200
    assert (await owner.get(keys)).status_code == 200
    refused = await owner.get(keys)
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "100"
    assert (await owner.get(f"/sites/{site_id}/stats/aggregate")).status_code == 429  # shared
    limited.clock.advance(100)
    assert (await owner.get(keys)).status_code == 200
