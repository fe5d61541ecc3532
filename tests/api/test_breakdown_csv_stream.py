"""`GET /api/v1/stats/breakdown.csv` without `limit`/`page`: every row, streamed page by page
through the engine, on the embedded tier (DuckDB) and in cluster mode (PostgreSQL + Redis).

2,503 pages, more than two pages of `MAX_LIMIT` rows: the download has every one exactly
once, in the JSON breakdown's order (the concatenation of its pages), leaves in one piece per
page (so no more than a page is in memory), and neutralises formula cells on every page.
With `limit` or `page` the file is that one page, as before.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.config import Settings
from footfall.services import Services
from footfall.stats.query import MAX_LIMIT
from footfall.storage.events import Event
from tests.backends import REDIS_URL
from tests.conftest import FakeClock, start_app
from tests.stats.dataset import at
from tests.stats.test_export_stream import download

pytest_plugins = ["tests.backends"]

PAGES = 2_500
FORMULAS = ('=HYPERLINK("https://evil.example")', "+cmd|' /C calc'!A0", "@SUM(A1)")
RANGE = {"period": "custom", "date": "2026-09-01,2026-09-30", "property": "event:page"}


def _events(site_id: str) -> list[Event]:
    start = at("2026-09-01T00:00:00")
    paths = [f"/page-{i:05d}" for i in range(PAGES)] + list(FORMULAS)
    events = []
    for i, path in enumerate(paths):
        # The first ten pages have more visitors (so order is by visitors first).
        for v in range(1 + (10 - i if i < 10 else 0)):
            events.append(
                Event(
                    ts=start + i * 60.0 + v,
                    site_id=site_id,
                    visitor_id=10_000 * (i + 1) + v,
                    visit_id=1,
                    name="pageview",
                    hostname="www.example.com",
                    pathname=path,
                )
            )
    return events


@pytest.fixture(params=["duckdb", "postgres"])
async def app_and_token(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, str, str]]:
    settings = Settings(data_dir=tmp_path / "data", access_log=False)
    if request.param == "postgres":
        settings = settings.model_copy(
            update={
                "database_url": request.getfixturevalue("pg_url"),
                "redis_url": REDIS_URL,
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }
        )
    async with start_app(settings, FakeClock()) as (app, _client):
        services: Services = app.state.services
        assert services.events.dialect == request.param
        site = await services.meta.create_site("example.com", None, services.clock.now())
        token, _ = await services.meta.create_token(site.id, services.clock.now())
        await services.events.append(_events(site.id))
        yield app, site.id, token


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body, newline="")))


async def _json_pages(app: Any, site_id: str, token: str) -> list[str]:
    """The values of the JSON breakdown, page after page."""
    values: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for page in range(1, 5):
            response = await client.get(
                "/api/v1/stats/breakdown",
                params={"websiteId": site_id, **RANGE, "limit": str(MAX_LIMIT), "page": str(page)},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            values += [row["value"] for row in response.json()["results"]]
    return values


async def test_every_row_streamed_page_by_page(app_and_token: tuple[Any, str, str]) -> None:
    app, site_id, token = app_and_token
    seen = await download(
        app, "/api/v1/stats/breakdown.csv", {"websiteId": site_id, **RANGE}, token
    )
    assert seen.status == 200
    assert seen.complete
    assert seen.headers[b"content-type"] == b"text/csv; charset=utf-8"
    assert seen.headers[b"content-disposition"].startswith(b'attachment; filename="footfall-')
    total = PAGES + len(FORMULAS)
    assert seen.lines == total + 1  # the header and every row, beyond one page of 1000
    assert seen.chunks == -(-total // MAX_LIMIT)  # one piece per engine page: 3
    assert seen.head.startswith(b"event:page,visitors\r\n/page-00000,11\r\n/page-00001,10\r\n")
    # One visitor each, ties in byte order: `+` before `/`, `=` and `@` after, so formula
    # rows are on the first page and on the last: both are neutralised.
    assert b"\r\n'+cmd|' /C calc'!A0,1\r\n" in seen.head
    assert seen.last_line == b"'@SUM(A1),1"


async def test_the_streamed_file_is_the_json_breakdown_every_page(
    app_and_token: tuple[Any, str, str],
) -> None:
    app, site_id, token = app_and_token
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        whole = await client.get(
            "/api/v1/stats/breakdown.csv",
            params={"websiteId": site_id, **RANGE},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert whole.status_code == 200, whole.text
        rows = _rows(whole.text)
        assert rows[0] == ["event:page", "visitors"]
        values = [row[0] for row in rows[1:]]
        expected = await _json_pages(app, site_id, token)
        neutralised = ["'" + v if v.startswith(("=", "+", "@")) else v for v in expected]
        assert values == neutralised  # every row once, in order, formulas neutralised
        assert len(set(values)) == PAGES + len(FORMULAS)
        assert {f"'{formula}" for formula in FORMULAS} <= set(values)
        assert not [v for v in values if v.startswith(("=", "+", "-", "@"))]

        # Explicit `limit`/`page`: that one page, as before.
        page = await client.get(
            "/api/v1/stats/breakdown.csv",
            params={"websiteId": site_id, **RANGE, "limit": "10", "page": "2"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert page.status_code == 200
        assert [row[0] for row in _rows(page.text)[1:]] == neutralised[10:20]
        first = await client.get(
            "/api/v1/stats/breakdown.csv",
            params={"websiteId": site_id, **RANGE, "limit": str(MAX_LIMIT)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert len(_rows(first.text)) == MAX_LIMIT + 1
        # Errors are still JSON, before anything is streamed.
        bad = await client.get(
            "/api/v1/stats/breakdown.csv",
            params={"websiteId": site_id, **RANGE, "property": "event:nope"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert bad.status_code == 400
        assert "property" in bad.json()["error"]
    # Every download gave its place back.
    services: Services = app.state.services
    assert services.stats_admission.in_progress == 0
