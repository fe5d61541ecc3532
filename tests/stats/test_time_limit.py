"""`FOOTFALL_STATS_TIME_LIMIT_SECONDS`: the time limit of the Stats API's queries (the
dashboard answers through the same `run_query`), on both tiers. A query past the limit is
cancelled by its store and answered 503 with `Retry-After`, naming the limit; the same query
under the default limit answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from footfall.config import Settings
from footfall.services import Services
from footfall.storage.events import Event
from tests.backends import tier_settings_for
from tests.conftest import FakeClock, Running, start_app
from tests.stats.api_client import assert_error, get
from tests.stats.dataset import NOW

pytest_plugins = ["tests.backends"]

EVENTS = 40_000  # enough that no store answers within a millisecond
TINY = 0.001


def many_events(site_id: str) -> list[Event]:
    """EVENTS events over the last 25 days: 4 per visit, several pages and sources."""
    return [
        Event(
            ts=NOW - 25 * 86_400 + n * 50.0,
            site_id=site_id,
            visitor_id=n // 12,
            visit_id=n // 4,
            name="pageview",
            hostname="example.com",
            pathname=f"/page-{n % 37}",
            referrer_source=("Google", "Twitter", None)[(n // 4) % 3],
            country=("US", "DE", "FR")[(n // 12) % 3],
        )
        for n in range(EVENTS)
    ]


@pytest.fixture(params=["embedded", "cluster"])
async def tiny_limit(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Running, Settings]]:
    """A running app of each tier with a 1 ms stats time limit and EVENTS events."""
    settings = tier_settings_for(request, tmp_path).model_copy(
        update={"stats_time_limit_seconds": TINY}
    )
    clock = FakeClock()
    clock.value = NOW
    async with start_app(settings, clock) as (app, client):
        services: Services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        await services.events.append(many_events(site.id))
        yield Running(app, client, clock, site, token), settings


def test_the_default_is_ten_seconds() -> None:
    assert Settings().stats_time_limit_seconds == 10.0


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOOTFALL_STATS_TIME_LIMIT_SECONDS", "45")
    assert Settings().stats_time_limit_seconds == 45.0


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("aggregate", {"period": "30d", "metrics": "visitors,visits,bounce_rate"}),
        ("breakdown", {"period": "30d", "property": "visit:source", "metrics": "visits"}),
        ("breakdown.csv", {"period": "30d", "property": "event:page"}),
    ],
)
async def test_a_query_past_the_setting_answers_503(
    tiny_limit: tuple[Running, Settings], endpoint: str, params: dict[str, str]
) -> None:
    running, settings = tiny_limit
    response = await get(running, endpoint, params)
    assert_error(
        response,
        503,
        "The query took longer than 0.001 seconds and was cancelled; "
        "try a shorter period or fewer filters",
    )
    assert response.headers["retry-after"] == "5"
    # The same query under the default limit answers: the setting made the difference.
    running.services.settings.stats_time_limit_seconds = 10.0
    try:
        response = await get(running, endpoint, params)
    finally:
        running.services.settings.stats_time_limit_seconds = settings.stats_time_limit_seconds
    assert response.status_code == 200, response.text
