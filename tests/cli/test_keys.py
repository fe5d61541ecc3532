"""`footfall keys create|list|revoke`, run as separate processes (both ways of naming the data
folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.helpers import CLI_TIME_RE, Cli

KEY_RE = re.compile(r"^pk_[0-9A-Za-z]{30}$")


@pytest.fixture(params=["env", "flag"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data", mode=request.param)


def test_create_list_revoke(cli: Cli) -> None:
    site = cli.add_site()
    out = cli.ok(
        "keys", "create", site, "--origin", "https://Example.com/", "--path", "/pricing",
        "--path", "/plans/*", "--name", "pricing card",
    )  # fmt: skip
    key = out.splitlines()[-1]
    assert KEY_RE.match(key), out
    assert "origins https://example.com; paths /pricing, /plans/*" in out

    (listed,) = cli.json("keys", "list", site)
    assert listed["key"] == key
    assert listed["websiteId"] == site
    assert listed["origins"] == ["https://example.com"]
    assert listed["paths"] == ["/pricing", "/plans/*"]
    assert listed["name"] == "pricing card"
    assert CLI_TIME_RE.match(listed["createdAt"])
    assert listed["lastUsedAt"] is None and listed["revokedAt"] is None
    assert key in cli.ok("keys", "list", site)  # public: listed in full

    assert "Revoked publishable key" in cli.ok("keys", "revoke", key)
    (listed,) = cli.json("keys", "list", site)
    assert CLI_TIME_RE.match(listed["revokedAt"])
    assert "revoked" in cli.ok("keys", "list", site)
    assert "no active publishable key" in cli.fails("keys", "revoke", key).stderr

    created = cli.json("keys", "create", site, "--origin", "*")
    assert created["origins"] == ["*"] and created["paths"] == []
    assert "Revoked" in cli.ok("keys", "revoke", created["id"])  # by id


def test_mistakes_are_refused_with_a_reason(cli: Cli) -> None:
    site = cli.add_site()
    assert "at least one origin" in cli.fails("keys", "create", site).stderr
    assert "not an origin" in cli.fails("keys", "create", site, "--origin", "example.com").stderr
    refused = cli.fails("keys", "create", site, "--origin", "*", "--path", "pricing")
    assert "must start with" in refused.stderr
    assert "no site" in cli.fails("keys", "create", "nope", "--origin", "*").stderr
    assert "no site" in cli.fails("keys", "list", "nope").stderr
    assert "No publishable keys" in cli.ok("keys", "list", site)
