"""CLI changes reach a running `footfall serve` at its very next request, without a restart.

The server and every CLI command are separate processes sharing one data folder. After each
command returns, the very next HTTP request must see the change: no sleeps, no retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from footfall.auth import tokens
from tests.cli.helpers import CLI_TIME_RE, Cli
from tests.conftest import CHROME_UA
from tests.serverproc import ServerProcess, footfall_server

pytestmark = pytest.mark.slow

NO_TOKEN = "No API token configured for this website"
INVALID_TOKEN = "Invalid API token"
NOT_FOUND = "Website not found"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with footfall_server(tmp_path / "data") as running:
        yield running


@pytest.fixture
def cli(server: ServerProcess, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


def realtime(http: httpx.Client, site_id: str, token: str) -> httpx.Response:
    return http.get(
        "/api/v1/realtime",
        params={"websiteId": site_id},
        headers={"Authorization": f"Bearer {token}"},
    )


def pageview(http: httpx.Client, site_id: str, url: str) -> httpx.Response:
    return http.post(
        "/api/event",
        json={"websiteId": site_id, "name": "pageview", "url": url},
        headers={"User-Agent": CHROME_UA},
    )


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


def assert_count(response: httpx.Response, site_id: str, visitors: int) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["websiteId"] == site_id
    assert body["currentVisitors"] == visitors


def parse_cli_time(value: str) -> datetime:
    assert CLI_TIME_RE.match(value), value
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_site_added_while_running_accepts_events_at_once(cli: Cli, http: httpx.Client) -> None:
    site = cli.add_site("shop.example", "Shop")
    response = pageview(http, site, "https://shop.example/pricing")
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    assert "x-footfall-dropped" not in response.headers
    # A subdomain of the site's domain is the site too; another host is dropped, not counted.
    assert pageview(http, site, "https://www.shop.example/").json() == {"status": "accepted"}
    other = pageview(http, site, "https://elsewhere.example/")
    assert other.status_code == 202
    assert other.headers["x-footfall-dropped"] == "hostname_mismatch"


def test_token_lifecycle_applies_at_the_next_request(cli: Cli, http: httpx.Client) -> None:
    site = cli.add_site("shop.example", "Shop")
    assert pageview(http, site, "https://shop.example/").status_code == 202

    # No token yet: any well-formed token is refused with "no token configured", every time.
    stranger = tokens.generate_token()
    assert_error(realtime(http, site, stranger), 401, NO_TOKEN)
    assert_error(realtime(http, site, stranger), 401, NO_TOKEN)

    first = cli.create_token(site)
    # The very next request with the new token succeeds, and counts the visitor above.
    assert_count(realtime(http, site, first), site, 1)
    assert_error(realtime(http, site, stranger), 401, INVALID_TOKEN)

    second = cli.create_token(site)
    assert_count(realtime(http, site, second), site, 1)
    assert_count(realtime(http, site, first), site, 1)

    # Revoking one of two tokens: that token is now merely wrong for the site.
    cli.ok("tokens", "revoke", first[:9])
    assert_error(realtime(http, site, first), 401, INVALID_TOKEN)
    assert_count(realtime(http, site, second), site, 1)

    # Revoking the last one: the site has no token configured any more.
    cli.ok("tokens", "revoke", second)
    assert_error(realtime(http, site, second), 401, NO_TOKEN)
    assert_error(realtime(http, site, first), 401, NO_TOKEN)

    # A fresh token works at once again; the revoked ones stay revoked.
    third = cli.create_token(site)
    assert_count(realtime(http, site, third), site, 1)
    assert_error(realtime(http, site, first), 401, INVALID_TOKEN)
    assert_error(realtime(http, site, second), 401, INVALID_TOKEN)

    # Revoking by token id works the same.
    third_id = next(t["id"] for t in cli.tokens(site) if t["prefix"] == third[:9])
    cli.ok("tokens", "revoke", third_id)
    assert_error(realtime(http, site, third), 401, NO_TOKEN)


def test_token_of_one_site_is_not_valid_for_another(cli: Cli, http: httpx.Client) -> None:
    shop, blog = cli.add_site("shop.example"), cli.add_site("blog.example")
    shop_token, blog_token = cli.create_token(shop), cli.create_token(blog)
    assert_count(realtime(http, shop, shop_token), shop, 0)
    assert_error(realtime(http, shop, blog_token), 401, INVALID_TOKEN)
    assert_error(realtime(http, blog, shop_token), 401, INVALID_TOKEN)
    # Revoking the blog's token leaves the shop's alone.
    cli.ok("tokens", "revoke", blog_token)
    assert_error(realtime(http, blog, blog_token), 401, NO_TOKEN)
    assert_count(realtime(http, shop, shop_token), shop, 0)


def test_site_deleted_while_running_is_gone_at_once(cli: Cli, http: httpx.Client) -> None:
    site = cli.add_site("shop.example")
    keep = cli.add_site("keep.example")
    token, keep_token = cli.create_token(site), cli.create_token(keep)
    assert pageview(http, site, "https://shop.example/").status_code == 202
    assert_count(realtime(http, site, token), site, 1)

    cli.ok("sites", "delete", site, "--yes")
    assert_error(realtime(http, site, token), 404, NOT_FOUND)
    gone = pageview(http, site, "https://shop.example/")
    assert_error(gone, 404, NOT_FOUND)
    # The other site is untouched.
    assert_count(realtime(http, keep, keep_token), keep, 0)
    assert pageview(http, keep, "https://keep.example/").json() == {"status": "accepted"}
    assert_count(realtime(http, keep, keep_token), keep, 1)


def test_tokens_list_shows_last_use_through_the_api(cli: Cli, http: httpx.Client) -> None:
    site = cli.add_site("shop.example")
    used, unused = cli.create_token(site), cli.create_token(site)
    rows = cli.tokens(site)
    assert [r["lastUsedAt"] for r in rows] == [None, None]
    assert all("last used never" in line for line in cli.ok("tokens", "list", site).splitlines())

    before = datetime.now(UTC).replace(microsecond=0)
    assert_count(realtime(http, site, used), site, 0)
    after = datetime.now(UTC)

    rows = cli.tokens(site)
    by_prefix = {r["prefix"]: r for r in rows}
    last_used = by_prefix[used[:9]]["lastUsedAt"]
    assert last_used is not None
    assert before <= parse_cli_time(last_used) <= after
    assert by_prefix[unused[:9]]["lastUsedAt"] is None

    text = cli.ok("tokens", "list", site)
    lines = {line.split()[1].rstrip("…"): line for line in text.splitlines()}
    assert f"last used {last_used}  active" in lines[used[:9]]
    assert "last used never  active" in lines[unused[:9]]
    assert used not in text and unused not in text
