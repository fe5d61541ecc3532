"""`footfall sites update`: a site's privacy and reporting settings, from the command line.

Run as separate processes, like a user; the last test changes a running server's behaviour
with it (the GPC/DNT setting applies at the server's very next request).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from footfall.storage.meta import SqlMetaStore
from footfall.storage.models import Site
from tests.cli.helpers import Cli
from tests.conftest import CHROME_UA
from tests.serverproc import footfall_server


@pytest.fixture(params=["env", "flag"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data", mode=request.param)


def stored_site(data_dir: Path, site_id: str) -> Site:
    async def read() -> Site:
        meta = await SqlMetaStore.open(database_url=None, sqlite_path=data_dir / "meta.sqlite3")
        try:
            site = await meta.get_site(site_id)
            assert site is not None
            return site
        finally:
            await meta.close()

    return asyncio.run(read())


def test_update_sets_the_given_settings_and_keeps_the_others(cli: Cli) -> None:
    site_id = cli.add_site("example.com", "Shop")
    updated = cli.json(
        "sites",
        "update",
        site_id,
        "--honor-gpc",
        "--retention-days",
        "395",
        "--timezone",
        "Europe/Paris",
        "--allowed-hostname",
        "shop.example.net",
        "--allowed-hostname",
        "*.Example.ORG",
    )
    assert updated == {
        "websiteId": site_id,
        "domain": "example.com",
        "name": "Shop",
        "timezone": "Europe/Paris",
        "allowedHostnames": ["shop.example.net", "*.example.org"],
        "honorGpc": True,
        "retentionDays": 395,
        "liveMinCount": 0,
    }
    site = stored_site(cli.data_dir, site_id)
    assert (site.honor_gpc, site.retention_days, site.timezone) == (True, 395, "Europe/Paris")

    # Only what is given changes; 0 days keeps every event; the list can be emptied.
    again = cli.json("sites", "update", site_id, "--no-honor-gpc", "--retention-days", "0")
    assert (again["honorGpc"], again["retentionDays"]) == (False, None)
    assert again["timezone"] == "Europe/Paris"
    assert again["allowedHostnames"] == ["shop.example.net", "*.example.org"]
    cleared = cli.json("sites", "update", site_id, "--clear-allowed-hostnames")
    assert cleared["allowedHostnames"] == []
    assert stored_site(cli.data_dir, site_id).allowed_hostnames == ()


def test_update_prints_the_settings_as_text(cli: Cli) -> None:
    site_id = cli.add_site("example.com")
    out = cli.ok("sites", "update", site_id, "--honor-gpc", "--retention-days", "30")
    assert out.splitlines() == [
        f"Updated example.com (example.com), website id {site_id}:",
        "  time zone          UTC",
        "  allowed hostnames  (domain only)",
        "  honour GPC/DNT     yes",
        "  retention          30 days",
        "  live counter min   0 (counts always shown)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Error: nothing to change: give at least one setting (see --help)\n"),
        (
            ("--timezone", "Mars/Olympus"),
            "Error: timezone: unknown time zone 'Mars/Olympus'; use an IANA name\n",
        ),
        (
            ("--allowed-hostname", "a.example", "--clear-allowed-hostnames"),
            "Error: give either --allowed-hostname or --clear-allowed-hostnames, not both\n",
        ),
        (("--allowed-hostname", "not a host"), "Error: not a domain: 'not a host'\n"),
    ],
)
def test_update_refuses_invalid_settings_and_changes_nothing(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    site_id = cli.add_site("example.com")
    assert cli.fails("sites", "update", site_id, *args).stderr == message
    site = stored_site(cli.data_dir, site_id)
    assert (site.timezone, site.allowed_hostnames, site.honor_gpc) == ("UTC", (), False)


@pytest.mark.parametrize("days", ["-1", "36501", "soon"])
def test_update_refuses_a_retention_out_of_range(cli: Cli, days: str) -> None:
    site_id = cli.add_site("example.com")
    result = cli.run("sites", "update", site_id, "--retention-days", days)
    assert result.returncode == 2
    assert "--retention-days" in result.stderr
    assert stored_site(cli.data_dir, site_id).retention_days is None


def test_update_of_an_unknown_or_deleted_site_fails(cli: Cli) -> None:
    assert cli.fails("sites", "update", "nope", "--honor-gpc").stderr == (
        "Error: no site with id nope\n"
    )
    site_id = cli.add_site("example.com")
    cli.ok("sites", "delete", site_id, "--yes")
    assert cli.fails("sites", "update", site_id, "--honor-gpc").stderr == (
        f"Error: no site with id {site_id}\n"
    )


@pytest.mark.slow
def test_honor_gpc_applies_to_a_running_server_at_its_next_request(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    site_id = cli.add_site("example.com")
    gpc = {"User-Agent": CHROME_UA, "Sec-GPC": "1"}
    body = {"websiteId": site_id, "url": "https://example.com/"}
    with footfall_server(tmp_path / "data") as server, httpx.Client(base_url=server.url) as http:
        assert http.post("/api/event", json=body, headers=gpc).json() == {"status": "accepted"}
        cli.ok("sites", "update", site_id, "--honor-gpc")
        dropped = http.post("/api/event", json=body, headers=gpc)
        assert dropped.json() == {"status": "dropped", "reason": "privacy_signal"}
        dnt = http.post("/api/event", json=body, headers={"User-Agent": CHROME_UA, "DNT": "1"})
        assert dnt.headers["x-footfall-dropped"] == "privacy_signal"
        assert http.get("/healthz").json()["dropped"]["privacy_signal"] == 2
        cli.ok("sites", "update", site_id, "--no-honor-gpc")
        assert http.post("/api/event", json=body, headers=gpc).json() == {"status": "accepted"}
