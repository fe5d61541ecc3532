"""The site dashboard's numbers over HTTP: `/sites/{id}/stats/*` answer exactly what the Stats
API answers for the same parameters (same engine), in the site's time zone by default, to
signed-in users who may see the site, and 404 to everyone else."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from footfall.accounts.models import Role
from footfall.storage.goals import GoalStore
from tests.conftest import CHROME_UA, FIREFOX_UA
from tests.dashboard.conftest import Browser, Dash

BERLIN = "Europe/Berlin"
PRICING = json.dumps([["is", "event:page", ["/pricing"]]])
SIGNUP = json.dumps([["is", "event:goal", ["Signup"]]])


async def _hit(
    dash: Dash,
    site_id: str,
    path: str,
    *,
    ip: str,
    ua: str = CHROME_UA,
    name: str = "pageview",
    referrer: str | None = None,
    domain: str = "shop.example",
) -> None:
    body: dict[str, Any] = {"websiteId": site_id, "name": name, "url": f"https://{domain}{path}"}
    if referrer:
        body["referrer"] = referrer
    client = await dash.browser()
    response = await client.client.post(
        "/api/event", json=body, headers={"User-Agent": ua, "X-Forwarded-For": ip}
    )
    assert response.status_code == 202, response.text


async def _shop(dash: Dash, owner: Browser) -> tuple[str, str]:
    """A site in Berlin time with a goal, a token, and traffic over two days."""
    site_id = await owner.add_site("shop.example", "Shop", BERLIN)
    services = dash.services
    token, _ = await services.meta.create_token(site_id, dash.clock.now())
    await GoalStore(services.meta.engine).create(
        site_id, "event", "signup", dash.clock.now(), name="Signup"
    )
    await _hit(dash, site_id, "/", ip="198.51.100.1", referrer="https://www.google.com/")
    await _hit(dash, site_id, "/pricing", ip="198.51.100.1")
    await _hit(dash, site_id, "/pricing", ip="198.51.100.1", name="signup")
    dash.clock.advance(86_400)
    await _hit(dash, site_id, "/", ip="198.51.100.2", ua=FIREFOX_UA)
    await _hit(dash, site_id, "/blog", ip="198.51.100.3")
    return site_id, token


async def _api(dash: Dash, token: str, kind: str, site_id: str, **params: str) -> httpx.Response:
    client = await dash.browser()
    return await client.client.get(
        f"/api/v1/stats/{kind}",
        params={"websiteId": site_id, **params},
        headers={"Authorization": f"Bearer {token}"},
    )


QUERIES: list[tuple[str, dict[str, str]]] = [
    (
        "aggregate",
        {
            "period": "7d",
            "metrics": "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration",
            "compare": "previous_period",
        },
    ),
    ("aggregate", {"period": "today", "filters": PRICING, "metrics": "visitors,pageviews"}),
    (
        "aggregate",
        {"period": "30d", "filters": SIGNUP, "metrics": "conversions,events,conversion_rate"},
    ),
    ("timeseries", {"period": "7d", "metrics": "visitors,pageviews", "interval": "day"}),
    ("timeseries", {"period": "30m", "metrics": "visitors,pageviews"}),
    ("breakdown", {"period": "7d", "property": "event:page", "metrics": "visitors,pageviews"}),
    ("breakdown", {"period": "7d", "property": "visit:source", "limit": "10"}),
    ("breakdown", {"period": "30d", "property": "event:goal", "metrics": "visitors,events"}),
    ("breakdown", {"period": "7d", "property": "visit:browser", "filters": PRICING}),
]


@pytest.mark.parametrize(("kind", "params"), QUERIES)
async def test_numbers_are_the_stats_apis_for_the_same_parameters(
    dash: Dash, kind: str, params: dict[str, str]
) -> None:
    owner = await dash.owner()
    site_id, token = await _shop(dash, owner)
    mine = await owner.get(f"/sites/{site_id}/stats/{kind}", params=params)
    assert mine.status_code == 200, mine.text
    assert mine.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in mine.headers  # readable by this origin only
    api = await _api(dash, token, kind, site_id, timezone=BERLIN, **params)
    assert api.status_code == 200, api.text
    assert mine.json() == api.json()
    assert mine.json()["timezone"] == BERLIN  # the site's zone, without asking


async def test_the_numbers_are_real(dash: Dash) -> None:
    owner = await dash.owner()
    site_id, _ = await _shop(dash, owner)
    week = await owner.get(
        f"/sites/{site_id}/stats/aggregate",
        params={"period": "7d", "metrics": "visitors,pageviews,events"},
    )
    assert week.json()["results"] == {
        "visitors": {"value": 3},
        "pageviews": {"value": 4},
        "events": {"value": 1},
    }
    pages = await owner.get(
        f"/sites/{site_id}/stats/breakdown", params={"period": "7d", "property": "event:page"}
    )
    assert [(row["value"], row["visitors"]) for row in pages.json()["results"]] == [
        ("/", 2),
        ("/blog", 1),
        ("/pricing", 1),
    ]


async def test_an_explicit_time_zone_wins(dash: Dash) -> None:
    owner = await dash.owner()
    site_id, token = await _shop(dash, owner)
    params = {"period": "7d", "timezone": "America/New_York", "interval": "day"}
    mine = await owner.get(f"/sites/{site_id}/stats/timeseries", params=params)
    assert mine.json()["timezone"] == "America/New_York"
    assert mine.json() == (await _api(dash, token, "timeseries", site_id, **params)).json()


async def test_the_realtime_view_counts_this_minute(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example", "Shop", BERLIN)
    dash.clock.value = 1_790_000_000.0 + 35  # 2026-09-21 16:13:55 in Berlin
    await _hit(dash, site_id, "/", ip="198.51.100.1")
    dash.clock.advance(10)  # 16:14:05: a new minute
    await _hit(dash, site_id, "/a", ip="198.51.100.1")
    await _hit(dash, site_id, "/b", ip="198.51.100.2")
    answer = (await owner.get(f"/sites/{site_id}/stats/timeseries?period=30m")).json()
    assert answer["interval"] == "minute"
    rows = answer["results"]
    assert len(rows) == 30
    assert rows[-2] == {"date": "2026-09-21T16:13:00", "visitors": 1}
    assert rows[-1] == {"date": "2026-09-21T16:14:00", "visitors": 2}
    assert all(row["visitors"] == 0 for row in rows[:-2])


async def test_breakdown_csv_is_the_apis_download(dash: Dash) -> None:
    owner = await dash.owner()
    site_id, token = await _shop(dash, owner)
    params = {"period": "7d", "property": "event:page", "metrics": "visitors,pageviews"}
    mine = await owner.get(f"/sites/{site_id}/stats/breakdown.csv", params=params)
    api = await _api(dash, token, "breakdown.csv", site_id, timezone=BERLIN, **params)
    assert mine.status_code == api.status_code == 200
    assert mine.content == api.content
    assert mine.text.splitlines()[0] == "event:page,visitors,pageviews"
    assert mine.headers["content-type"] == "text/csv; charset=utf-8"
    assert mine.headers["content-disposition"] == api.headers["content-disposition"]
    assert mine.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=fortnight", 'period: unknown period "fortnight"; allowed: day, today, 30m,'),
        ("metrics=visitors,foo", 'metrics: unknown metric "foo"; allowed:'),
        ("filters=[[", "filters: not valid JSON"),
        ("interval=minute&period=12mo", 'interval: "minute" makes about'),
        ("color=red", 'unknown parameter "color"; allowed:'),
        ("websiteId=another", "websiteId: the website is the one in the path"),
    ],
)
async def test_bad_parameters_are_named(dash: Dash, query: str, message: str) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    response = await owner.get(f"/sites/{site_id}/stats/timeseries?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(message), response.json()


async def test_a_matching_website_id_is_accepted(dash: Dash) -> None:
    owner = await dash.owner()
    site_id = await owner.add_site("shop.example")
    response = await owner.get(f"/sites/{site_id}/stats/aggregate?websiteId={site_id}")
    assert response.status_code == 200


STATS_PATHS = (
    "aggregate",
    "timeseries",
    "breakdown?property=event:page",
    "breakdown.csv?property=event:page",
)


async def test_other_users_sites_answer_404_and_signed_out_401(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    mine = await alice.add_site("alice.example")
    theirs = await owner.add_site("owner.example")
    missing = "00000000-0000-4000-8000-000000000000"
    for path in STATS_PATHS:
        assert (await alice.get(f"/sites/{mine}/stats/{path}")).status_code == 200
        for site in (theirs, missing):
            response = await alice.get(f"/sites/{site}/stats/{path}")
            assert response.status_code == 404, (site, path)
            assert response.json() == {"error": "Website not found"}
        anonymous = await dash.browser()
        response = await anonymous.get(f"/sites/{mine}/stats/{path}")
        assert (response.status_code, response.json()) == (401, {"error": "Sign in first"})
    # The owner, an installation admin, sees every site.
    assert (await owner.get(f"/sites/{mine}/stats/aggregate")).status_code == 200


async def test_viewers_see_the_numbers(dash: Dash) -> None:
    owner = await dash.owner()
    site_id, _ = await _shop(dash, owner)
    viewer = await dash.user("viewer@example.org")
    viewers = await dash.users.by_email("viewer@example.org")
    assert viewers is not None
    await dash.services_members().set_role(site_id, viewers.id, Role.VIEWER, dash.clock.now())
    response = await viewer.get(f"/sites/{site_id}/stats/aggregate?period=7d")
    assert response.json()["results"] == {"visitors": {"value": 3}}
    page = await viewer.get(f"/sites/{site_id}")
    assert page.status_code == 200


async def test_the_dashboard_page_is_a_frame_for_its_script(dash: Dash) -> None:
    owner = await dash.owner()
    site_id, _ = await _shop(dash, owner)
    page = await owner.get(f"/sites/{site_id}?period=7d&filters=[]")
    assert page.status_code == 200
    text = page.text
    assert f'data-site-id="{site_id}"' in text
    assert f'data-timezone="{BERLIN}"' in text
    assert 'data-today="2026-09-22"' in text  # the site's day (the clock moved a day)
    assert f'data-current-visitors="{site_id}">2<' in text  # the second day's two visitors
    assert "/static/dashboard.js?v=" in text
    assert "<script>" not in text  # scripts are files (the CSP allows no inline code)


async def test_live_counts_list_the_users_sites_only(dash: Dash) -> None:
    owner = await dash.owner()
    alice = await dash.user("alice@example.org")
    mine = await alice.add_site("alice.example")
    theirs = await owner.add_site("owner.example")
    await _hit(dash, mine, "/", ip="198.51.100.1", domain="alice.example")
    await _hit(dash, mine, "/", ip="198.51.100.2", domain="alice.example")
    await _hit(dash, theirs, "/", ip="198.51.100.3", domain="owner.example")
    answer = (await alice.get("/live")).json()
    assert answer == {
        "sites": [{"websiteId": mine, "currentVisitors": 2}],
        "timestamp": "2026-09-21T14:13:20.000Z",
    }
    everything = (await owner.get("/live")).json()["sites"]
    assert sorted((s["websiteId"], s["currentVisitors"]) for s in everything) == sorted(
        [(mine, 2), (theirs, 1)]
    )
    anonymous = await dash.browser()
    for path in ("/live", "/live/stream"):
        response = await anonymous.get(path)
        assert (response.status_code, response.json()) == (401, {"error": "Sign in first"})
