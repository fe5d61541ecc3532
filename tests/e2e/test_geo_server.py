"""IP geolocation in a real `footfall serve` process: a City database configured through the
environment locates visitors behind a trusted proxy without storing their address; a file
that cannot be used stops the server at start with a message naming the setting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHROME_UA
from tests.ingestion.mmdb import BERLIN_V4, MUNICH_V6, write_city_database
from tests.serverproc import footfall_cli, footfall_server, stored_events

pytestmark = pytest.mark.slow


def make_site(data_dir: Path) -> str:
    site = footfall_cli("sites", "add", "example.com", "--json", data_dir=data_dir)
    website_id: str = json.loads(site.stdout)["websiteId"]
    return website_id


def test_served_events_carry_region_and_city_not_the_address(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    site_id = make_site(data_dir)
    env = {
        "FOOTFALL_GEOIP_DATABASE": str(write_city_database(tmp_path / "GeoLite2-City.mmdb")),
        "FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    with footfall_server(data_dir, env=env) as server:
        for visitor in (BERLIN_V4, MUNICH_V6):
            response = httpx.post(
                f"{server.url}/api/event",
                json={"websiteId": site_id, "url": "https://example.com/"},
                headers={"User-Agent": CHROME_UA, "X-Forwarded-For": visitor},
            )
            assert response.status_code == 202
        log = server.log()
    assert "IP geolocation: MaxMind DB" in log
    events = stored_events(data_dir, site_id)
    assert [(e.country, e.region, e.city) for e in events] == [
        ("DE", "DE-BE", "Berlin"),
        ("DE", "DE-BY", "Munich"),
    ]
    stored = (data_dir / "events.duckdb").read_bytes()
    for visitor in (BERLIN_V4, MUNICH_V6):
        assert visitor.encode() not in stored
        assert visitor not in log


@pytest.mark.parametrize("content", [None, b"\x00" * 4096])
def test_serve_refuses_an_unusable_database(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "GeoLite2-City.mmdb"
    if content is not None:
        path.write_bytes(content)
    with (
        pytest.raises(RuntimeError) as failure,
        footfall_server(tmp_path / "data", env={"FOOTFALL_GEOIP_DATABASE": str(path)}),
    ):
        raise AssertionError("the server must not start")
    message = str(failure.value)
    assert "exited early" in message
    # The reason is a log line of its own (uvicorn adds its start-up traceback after it).
    reasons = [
        json.loads(line)["message"]
        for line in message.splitlines()
        if line.startswith("{") and '"logger":"footfall.app"' in line
    ]
    assert len(reasons) == 1
    assert reasons[0].startswith(f"FOOTFALL_GEOIP_DATABASE={path} cannot be used: ")
