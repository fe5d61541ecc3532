"""`footfall sites …`, `footfall tokens …` and `footfall migrate`, run as separate processes.

Most tests pass the data folder through `FOOTFALL_DATA_DIR`; the lifecycle test and a few
others also run with an explicit `--data-dir` (and the environment variable pointing at a
decoy folder), so both ways are proven.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from footfall.auth import tokens
from tests.cli.helpers import CLI_TIME_RE, TOKEN_RE, Cli
from tests.serverproc import footfall_cli


def assert_uuid4(value: str) -> None:
    parsed = uuid.UUID(value)
    assert str(parsed) == value  # canonical lowercase 8-4-4-4-12 form
    assert parsed.version == 4  # 122 random bits
    assert parsed.variant == uuid.RFC_4122


def db_bytes(data_dir: Path) -> bytes:
    """Every byte of the metadata database: the main file and, if present, its WAL."""
    main = data_dir / "meta.sqlite3"
    assert main.is_file()
    parts = [main.read_bytes()]
    for suffix in ("-wal", "-journal"):
        extra = data_dir / f"meta.sqlite3{suffix}"
        if extra.exists():
            parts.append(extra.read_bytes())
    return b"".join(parts)


# -- sites add --------------------------------------------------------------------------------


def test_sites_add_json_prints_id_domain_and_name(any_cli: Cli) -> None:
    added = any_cli.json("sites", "add", "example.com", "--name", "Shop")
    assert set(added) == {"websiteId", "domain", "name"}
    assert added["domain"] == "example.com"
    assert added["name"] == "Shop"
    assert_uuid4(added["websiteId"])
    assert any_cli.site_ids() == [added["websiteId"]]
    if any_cli.mode == "flag":
        # The explicit folder was used, not the one in FOOTFALL_DATA_DIR.
        assert not any_cli.decoy_dir.exists()


def test_two_adds_give_different_uuid4_ids(cli: Cli) -> None:
    first = cli.add_site("example.com")
    second = cli.add_site("example.com")
    assert_uuid4(first)
    assert_uuid4(second)
    assert first != second
    assert cli.site_ids() == [first, second]


def test_sites_add_text_prints_the_id_on_its_last_line(cli: Cli) -> None:
    lines = cli.ok("sites", "add", "example.org").splitlines()
    assert lines == ["Added example.org (example.org). Website id:", lines[-1]]
    assert_uuid4(lines[-1])
    # Without --name the display name is the domain.
    [row] = cli.json("sites", "list")
    assert row["websiteId"] == lines[-1]
    assert (row["domain"], row["name"]) == ("example.org", "example.org")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://WWW.Example.com/path", "www.example.com"),
        ("http://Shop.Example.org:8080/a/b?c=d", "shop.example.org"),
        ("  EXAMPLE.NET  ", "example.net"),
    ],
)
def test_sites_add_normalises_the_domain(cli: Cli, given: str, stored: str) -> None:
    added = cli.json("sites", "add", given)
    assert added["domain"] == stored
    assert added["name"] == stored
    assert [row["domain"] for row in cli.json("sites", "list")] == [stored]


@pytest.mark.parametrize("bad", ["   ", "https://", "exa mple.com"])
def test_sites_add_refuses_a_bad_domain(cli: Cli, bad: str) -> None:
    result = cli.run("sites", "add", bad)
    assert result.returncode != 0
    assert result.stderr.strip() == f"Error: not a domain: {bad!r}"
    assert result.stdout == ""
    assert cli.site_ids() == []


def test_data_dir_option_beats_the_environment(tmp_path: Path) -> None:
    env_dir, flag_dir = tmp_path / "env-data", tmp_path / "flag-data"
    in_env = Cli(env_dir).add_site("env.example")
    in_flag = Cli(flag_dir, mode="flag").add_site("flag.example")
    # FOOTFALL_DATA_DIR names one folder, --data-dir another: the option wins.
    result = footfall_cli("sites", "list", "--json", "--data-dir", str(flag_dir), data_dir=env_dir)
    assert [row["websiteId"] for row in json.loads(result.stdout)] == [in_flag]
    result = footfall_cli("sites", "list", "--json", data_dir=env_dir)
    assert [row["websiteId"] for row in json.loads(result.stdout)] == [in_env]


# -- sites list / delete ----------------------------------------------------------------------


def test_sites_list_text_and_json(cli: Cli) -> None:
    assert cli.ok("sites", "list") == "No sites yet. Add one: footfall sites add example.com\n"
    assert cli.json("sites", "list") == []
    before = datetime.now(UTC).replace(microsecond=0)
    shop = cli.add_site("example.com", "Shop")
    blog = cli.add_site("blog.example.org", "My blog")
    after = datetime.now(UTC)

    rows = cli.json("sites", "list")
    assert [(r["websiteId"], r["domain"], r["name"]) for r in rows] == [
        (shop, "example.com", "Shop"),
        (blog, "blog.example.org", "My blog"),
    ]
    for row in rows:
        assert set(row) == {"websiteId", "domain", "name", "createdAt"}
        assert CLI_TIME_RE.match(row["createdAt"]), row
        created = datetime.strptime(row["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert before <= created <= after

    lines = cli.ok("sites", "list").splitlines()
    assert len(lines) == 2
    assert lines[0].split() == [shop, "example.com", "Shop"]
    assert lines[1].split() == [blog, "blog.example.org", "My", "blog"]


def test_sites_delete_yes_removes_only_that_site(any_cli: Cli) -> None:
    keep = any_cli.add_site("keep.example")
    gone = any_cli.add_site("gone.example")
    token = any_cli.create_token(gone)
    assert any_cli.ok("sites", "delete", gone, "--yes") == f"Deleted site {gone}.\n"
    assert any_cli.site_ids() == [keep]
    assert gone not in any_cli.ok("sites", "list")
    # A deleted site has no tokens to list or create, and its token is no longer active.
    any_cli.fails("tokens", "list", gone)
    any_cli.fails("tokens", "create", gone)
    any_cli.fails("tokens", "revoke", token)


def test_sites_delete_unknown_id_fails(cli: Cli) -> None:
    site = cli.add_site()
    unknown = str(uuid.uuid4())
    result = cli.fails("sites", "delete", unknown, "--yes")
    assert result.stderr == f"Error: no site with id {unknown}\n"
    assert "Deleted" not in result.stdout
    assert cli.site_ids() == [site]
    # Deleting twice: the second time the site is unknown.
    cli.ok("sites", "delete", site, "-y")
    assert cli.fails("sites", "delete", site, "--yes").stderr == f"Error: no site with id {site}\n"


@pytest.mark.parametrize("answer", ["n\n", "\n"])
def test_sites_delete_declined_does_nothing(cli: Cli, answer: str) -> None:
    site = cli.add_site()
    token = cli.create_token(site)
    result = cli.run("sites", "delete", site, stdin=answer)
    assert f"Delete site {site} and all its data?" in result.stdout
    assert "Deleted" not in result.stdout
    assert result.returncode != 0
    assert cli.site_ids() == [site]
    assert [t["revokedAt"] for t in cli.tokens(site)] == [None]
    assert tokens.display_prefix(token) == cli.tokens(site)[0]["prefix"]


def test_sites_delete_confirmed_on_stdin(cli: Cli) -> None:
    site = cli.add_site()
    result = cli.run("sites", "delete", site, stdin="y\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith(f"Deleted site {site}.")
    assert cli.site_ids() == []


# -- tokens create ----------------------------------------------------------------------------


def test_tokens_create_prints_the_token_alone_on_the_last_line(any_cli: Cli) -> None:
    site = any_cli.add_site()
    lines = any_cli.ok("tokens", "create", site).splitlines()
    token = lines[-1]
    assert TOKEN_RE.match(token), token
    assert tokens.is_well_formed(token)
    assert len(lines) == 2
    assert site in lines[0] and "not shown again" in lines[0]
    assert token not in lines[0]
    # The header names the token id, which `tokens list` shows.
    [listed] = any_cli.tokens(site)
    assert lines[0].startswith(f"Token {listed['id']} for {site}.")
    assert listed["prefix"] == token[:9]


def test_tokens_create_json(cli: Cli) -> None:
    site = cli.add_site()
    created = cli.json("tokens", "create", site, "--name", "ci")
    assert set(created) == {"id", "websiteId", "prefix", "token"}
    assert created["websiteId"] == site
    assert TOKEN_RE.match(created["token"])
    assert tokens.is_well_formed(created["token"])
    assert created["prefix"] == created["token"][:9]
    [listed] = cli.tokens(site)
    assert listed["id"] == created["id"]
    assert listed["name"] == "ci"


def test_tokens_are_random_and_distinct(cli: Cli) -> None:
    site = cli.add_site()
    first, second = cli.create_token(site), cli.create_token(site)
    assert first != second
    assert first[:9] != second[:9]  # 6 random base62 characters: a clash is ~1 in 57 billion
    assert len({t["id"] for t in cli.tokens(site)}) == 2


def test_token_is_stored_only_as_its_sha256(cli: Cli) -> None:
    site = cli.add_site()
    token = cli.create_token(site)
    stored = db_bytes(cli.data_dir)
    assert token.encode() not in stored
    assert token[3:].encode() not in stored  # not even the part after "vt_"
    assert token[9:].encode() not in stored  # nor the secret part after the display prefix
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    # And the database agrees: one row, holding the digest and the display prefix.
    with sqlite3.connect(cli.data_dir / "meta.sqlite3") as conn:
        rows = conn.execute("SELECT token_hash, prefix FROM api_tokens").fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(), token[:9])]


def test_tokens_create_for_unknown_site_fails(cli: Cli) -> None:
    unknown = str(uuid.uuid4())
    result = cli.fails("tokens", "create", unknown)
    assert result.stderr == f"Error: no site with id {unknown}\n"
    assert "vt_" not in result.stdout


# -- tokens list ------------------------------------------------------------------------------


def test_tokens_list_text_and_json(any_cli: Cli) -> None:
    site = any_cli.add_site()
    other = any_cli.add_site("other.example")
    assert any_cli.ok("tokens", "list", site) == (
        f"No tokens. Create one: footfall tokens create {site}\n"
    )
    assert any_cli.tokens(site) == []

    before = datetime.now(UTC).replace(microsecond=0)
    first = any_cli.create_token(site, "--name", "dashboard")
    second = any_cli.create_token(site)
    other_token = any_cli.create_token(other)
    after = datetime.now(UTC)

    rows = any_cli.tokens(site)
    assert [r["prefix"] for r in rows] == [first[:9], second[:9]]
    assert [r["name"] for r in rows] == ["dashboard", ""]
    for row in rows:
        assert set(row) == {"id", "prefix", "name", "createdAt", "lastUsedAt", "revokedAt"}
        assert row["lastUsedAt"] is None
        assert row["revokedAt"] is None
        created = datetime.strptime(row["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert before <= created <= after

    text = any_cli.ok("tokens", "list", site)
    lines = text.splitlines()
    assert len(lines) == 2
    for line, row in zip(lines, rows, strict=True):
        assert line.startswith(f"{row['id']}  {row['prefix']}…  created {row['createdAt']}  ")
        assert "last used never  active" in line
    assert lines[0].endswith("dashboard")

    # Never the full token, and nothing of another site's tokens.
    json_text = any_cli.ok("tokens", "list", site, "--json")
    for output in (text, json_text):
        assert first not in output and second not in output
        assert first[9:] not in output and second[9:] not in output
        assert other_token[:9] not in output


def test_tokens_list_unknown_site_fails(cli: Cli) -> None:
    unknown = str(uuid.uuid4())
    assert cli.fails("tokens", "list", unknown).stderr == f"Error: no site with id {unknown}\n"


# -- tokens revoke ----------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "prefix", "token"])
def test_tokens_revoke(cli: Cli, by: str) -> None:
    site = cli.add_site()
    revoked, kept = cli.create_token(site), cli.create_token(site)
    [row, kept_row] = cli.tokens(site)
    ref = {"id": row["id"], "prefix": revoked[:9], "token": revoked}[by]

    before = datetime.now(UTC).replace(microsecond=0)
    out = cli.ok("tokens", "revoke", ref)
    assert out == f"Revoked token {row['id']} ({revoked[:9]}…) of {site}.\n"
    assert revoked not in out

    rows = cli.tokens(site)
    assert [r["id"] for r in rows] == [row["id"], kept_row["id"]]
    assert rows[0]["revokedAt"] is not None
    revoked_at = datetime.strptime(rows[0]["revokedAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert revoked_at.replace(tzinfo=UTC) >= before
    assert rows[1]["revokedAt"] is None
    lines = cli.ok("tokens", "list", site).splitlines()
    assert f"revoked {rows[0]['revokedAt']}" in lines[0]
    assert "last used never  active" in lines[1]

    # Revoking it again finds no active token; the other token is untouched and revocable.
    again = cli.fails("tokens", "revoke", ref)
    assert again.stderr.startswith("Error: no active token matches ")
    assert revoked not in again.stderr
    cli.ok("tokens", "revoke", kept)
    assert all(r["revokedAt"] is not None for r in cli.tokens(site))


def test_tokens_revoke_unknown_fails_without_echoing_a_secret(cli: Cli) -> None:
    site = cli.add_site()
    real = cli.create_token(site)
    stranger = tokens.generate_token()  # well formed, never issued
    broken = real[:-1] + ("A" if real[-1] != "A" else "B")  # checksum no longer matches
    for ref in ("0123456789abcdef", "vt_zzzzzz", stranger, broken):
        result = cli.fails("tokens", "revoke", ref)
        assert result.stderr.startswith("Error: no active token matches ")
        # A full token given by mistake is never echoed back, only its display prefix.
        assert stranger not in result.stderr and broken not in result.stderr
    # Nothing was revoked on the way.
    assert [t["revokedAt"] for t in cli.tokens(site)] == [None]


# -- migrate ----------------------------------------------------------------------------------


def test_migrate_prints_the_revision_and_is_idempotent(any_cli: Cli) -> None:
    expected = "Metadata schema at revision 0003\n"
    assert any_cli.ok("migrate") == expected
    assert (any_cli.data_dir / "meta.sqlite3").is_file()
    site = any_cli.add_site()
    assert any_cli.ok("migrate") == expected
    assert any_cli.ok("migrate") == expected
    # Data survives, and the database records one revision.
    assert any_cli.site_ids() == [site]
    with sqlite3.connect(any_cli.data_dir / "meta.sqlite3") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sites", "api_tokens", "salts", "alembic_version"} <= tables
    if any_cli.mode == "flag":
        assert not any_cli.decoy_dir.exists()
