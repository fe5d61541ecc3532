"""`footfall sites update --live-min-count N`: the owner's live counter minimum from the CLI.

The same rule as the dashboard's settings form (0 to 1,000,000, checked by the metadata store
both go through); the value shows in `sites update`/`sites list` and applies to a running
server's publishable-key endpoints at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import Cli
from tests.cli.test_site_settings import stored_site
from tests.conftest import CHROME_UA
from tests.serverproc import footfall_server


def test_sets_the_minimum_and_shows_it(any_cli: Cli) -> None:
    site_id = any_cli.add_site("example.com", "Shop")
    out = any_cli.ok("sites", "update", site_id, "--live-min-count", "5")
    assert "  live counter min   5 (fewer current visitors are not shown)" in out.splitlines()
    assert stored_site(any_cli.data_dir, site_id).live_min_count == 5
    assert any_cli.ok("sites", "list").splitlines() == [
        f"{site_id}  {'example.com':30}  Shop  (live counter min 5)"
    ]
    # JSON; other settings stay; 0 removes the minimum (and its mention in the list).
    again = any_cli.json("sites", "update", site_id, "--live-min-count", "0", "--honor-gpc")
    assert (again["liveMinCount"], again["honorGpc"]) == (0, True)
    assert any_cli.ok("sites", "list").split() == [site_id, "example.com", "Shop"]
    kept = any_cli.json("sites", "update", site_id, "--no-honor-gpc")
    assert kept["liveMinCount"] == 0


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("-1", 1, "Error: live_min_count: must be between 0 and 1000000\n"),
        ("1000001", 1, "Error: live_min_count: must be between 0 and 1000000\n"),
        ("few", 2, "--live-min-count"),  # typer's usage error names the option
    ],
)
def test_refuses_what_the_dashboard_refuses(cli: Cli, value: str, code: int, message: str) -> None:
    site_id = cli.add_site("example.com")
    cli.ok("sites", "update", site_id, "--live-min-count", "3")
    result = cli.run("sites", "update", site_id, "--live-min-count", value)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert stored_site(cli.data_dir, site_id).live_min_count == 3  # unchanged


@pytest.mark.slow
def test_applies_to_a_running_servers_live_counter(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    site_id = cli.add_site("example.com")
    created = cli.ok("keys", "create", site_id, "--origin", "*", "--json")
    key = json.loads(created)["key"]
    with footfall_server(tmp_path / "data") as server, httpx.Client(base_url=server.url) as http:
        pageview = {"websiteId": site_id, "url": "https://example.com/pricing"}
        sent = http.post("/api/event", json=pageview, headers={"User-Agent": CHROME_UA})
        assert sent.json() == {"status": "accepted"}
        live = http.get("/api/v1/live", params={"key": key}).json()
        assert (live["currentVisitors"], live["belowMinimum"]) == (1, False)

        cli.ok("sites", "update", site_id, "--live-min-count", "2")
        live = http.get("/api/v1/live", params={"key": key}).json()
        assert live["currentVisitors"] is None
        assert (live["belowMinimum"], live["minimum"]) == (True, 2)
