"""IP geolocation through the real ingestion endpoints, on both tiers: the stored event carries
country (and region and city with a MaxMind DB file), never the address; a file that cannot
be used stops the start."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from footfall.config import Settings
from footfall.errors import GeoDatabaseError
from footfall.storage.events import Event
from tests.conftest import CHROME_UA, FIREFOX_UA, FakeClock, Running, start_app
from tests.ingestion.mmdb import BERLIN_V4, MUNICH_V6, PARIS_V4, write_city_database

MakeSettings = Callable[..., Settings]


@pytest.fixture(params=["embedded", "cluster"])
def make_settings(request: pytest.FixtureRequest, tmp_path: Path) -> MakeSettings:
    """Settings of the tier under test; the test client's peer (127.0.0.1) is a trusted proxy."""

    def make(**overrides: object) -> Settings:
        base: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "access_log": False,
            "trusted_proxies": ["127.0.0.1/32"],
        }
        if request.param == "cluster":
            base["database_url"] = request.getfixturevalue("pg_url")
            base["redis_url"] = request.getfixturevalue("redis_url")
            base["redis_prefix"] = request.getfixturevalue("redis_prefix")
        return Settings(**{**base, **overrides})

    return make


@pytest.fixture
def city_file(tmp_path: Path) -> Path:
    return write_city_database(tmp_path / "GeoLite2-City.mmdb")


@contextlib.asynccontextmanager
async def started(settings: Settings, clock: FakeClock) -> AsyncIterator[Running]:
    """The app of `settings`, started, with a site and a token."""
    async with start_app(settings, clock) as (app, client):
        services = app.state.services
        site = await services.meta.create_site("example.com", "Example", clock.now())
        token, _ = await services.meta.create_token(site.id, clock.now())
        yield Running(app, client, clock, site, token)


async def stored(running: Running) -> list[Event]:
    return await running.services.events.events(running.site.id)


def stored_text(settings: Settings) -> str:
    """Every stored event row as the database itself holds it (cluster mode)."""
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url) as connection:
        rows = connection.execute("SELECT e::text FROM events AS e").fetchall()
    return "\n".join(row[0] for row in rows)


async def test_tracker_event_gets_the_country_and_never_the_address(
    make_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = make_settings()
    visitor = "193.0.6.139"  # the RIPE NCC's web server: NL in the registries' table
    async with started(settings, clock) as running:
        response = await running.pageview(ip=visitor)
        assert response.status_code == 202
        (event,) = await stored(running)
        assert (event.country, event.region, event.city) == ("NL", None, None)
        assert visitor not in repr(event.values())
        if settings.cluster:
            rows = stored_text(settings)
            assert "NL" in rows
            assert visitor not in rows
        else:
            await running.services.writer.close()
            await running.services.events.close()  # the file holds everything it stored
            data = settings.events_path.read_bytes()
            wal = settings.events_path.with_name("events.duckdb.wal")
            if wal.exists():
                data += wal.read_bytes()
            assert visitor.encode() not in data


async def test_city_database_fills_region_and_city_and_the_stats(
    make_settings: MakeSettings, clock: FakeClock, city_file: Path
) -> None:
    settings = make_settings(geoip_database=city_file)
    async with started(settings, clock) as running:
        for ip in (BERLIN_V4, MUNICH_V6, PARIS_V4, BERLIN_V4):
            assert (await running.pageview(ip=ip, ua=FIREFOX_UA)).status_code == 202
        events = await stored(running)
        assert [(e.country, e.region, e.city) for e in events] == [
            ("DE", "DE-BE", "Berlin"),
            ("DE", "DE-BY", "Munich"),
            ("FR", "Île-de-France", "Paris"),
            ("DE", "DE-BE", "Berlin"),  # the same visitor again
        ]
        assert len({e.visitor_id for e in events}) == 3
        for event in events:
            for ip in (BERLIN_V4, MUNICH_V6, PARIS_V4):
                assert ip not in repr(event.values())

        async def stats(endpoint: str, **params: str) -> object:
            response = await running.client.get(
                f"/api/v1/stats/{endpoint}",
                params={"websiteId": running.site.id, "period": "day", **params},
                headers={"Authorization": f"Bearer {running.token}"},
            )
            assert response.status_code == 200, response.text
            return response.json()["results"]

        assert await stats("breakdown", property="visit:city", metrics="visitors,pageviews") == [
            {"value": "Berlin", "visitors": 1, "pageviews": 2},
            {"value": "Munich", "visitors": 1, "pageviews": 1},
            {"value": "Paris", "visitors": 1, "pageviews": 1},
        ]
        assert await stats("breakdown", property="visit:country") == [
            {"value": "DE", "visitors": 2},
            {"value": "FR", "visitors": 1},
        ]
        german = json.dumps([["contains", "visit:region", ["DE-"]]])
        assert await stats("aggregate", filters=german) == {"visitors": {"value": 2}}
        assert await stats("breakdown", property="visit:region", filters=german) == [
            {"value": "DE-BE", "visitors": 1},
            {"value": "DE-BY", "visitors": 1},
        ]


async def test_server_side_events_are_located_by_their_ip(
    settings: Settings, clock: FakeClock, city_file: Path
) -> None:
    settings = settings.model_copy(update={"geoip_database": city_file})
    async with started(settings, clock) as running:
        response = await running.client.post(
            "/api/v1/events",
            json={
                "events": [
                    {"url": "https://example.com/", "ip": MUNICH_V6, "userAgent": CHROME_UA},
                    {"url": "https://example.com/", "visitorId": "user-1"},  # no address
                ]
            },
            headers={"Authorization": f"Bearer {running.token}"},
        )
        assert response.status_code == 202, response.text
        events = await stored(running)
        assert [(e.country, e.region, e.city) for e in events] == [
            ("DE", "DE-BY", "Munich"),
            (None, None, None),
        ]


@pytest.mark.parametrize("content", [None, b"not a MaxMind DB file"])
async def test_unusable_database_stops_the_start_naming_the_setting(
    settings: Settings,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    content: bytes | None,
) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    if content is not None:
        path.write_bytes(content)
    settings = settings.model_copy(update={"geoip_database": path})
    with caplog.at_level(logging.ERROR), pytest.raises(GeoDatabaseError):
        async with start_app(settings, clock):
            raise AssertionError("the app must not start")
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith(f"FOOTFALL_GEOIP_DATABASE={path} cannot be used: ")
    assert not settings.data_dir.exists()  # refused before anything was opened


async def test_events_without_a_public_address_have_no_location(running: Running) -> None:
    for ip in ("10.0.0.7", "::1", "203.0.113.7"):
        assert (await running.pageview(ip=ip)).status_code == 202
    assert {(e.country, e.region, e.city) for e in await stored(running)} == {(None, None, None)}
