"""`footfall users …`, run as separate processes, also against a running server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import CLI_TIME_RE, Cli
from tests.serverproc import footfall_server

PASSWORD = "correct horse battery"


@pytest.fixture(params=["env", "flag"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data", mode=request.param)


def test_create_list_delete(cli: Cli) -> None:
    assert "No users yet" in cli.ok("users", "list")
    first = cli.run(
        "users", "create", "Owner@Example.org", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert first.returncode == 0, first.stderr
    # The first account is an administrator even without --admin, like the set-up page's.
    assert first.stdout.strip() == "Created user owner@example.org (administrator)."
    second = cli.run("users", "create", "bob@example.org", "--password-stdin", stdin=PASSWORD)
    assert second.stdout.strip() == "Created user bob@example.org."
    third = cli.run(
        "users", "create", "carol@example.org", "--admin", "--password-stdin", stdin=PASSWORD
    )
    assert third.stdout.strip() == "Created user carol@example.org (administrator)."

    rows = json.loads(cli.ok("users", "list", "--json"))
    assert [(r["email"], r["admin"]) for r in rows] == [
        ("owner@example.org", True),
        ("bob@example.org", False),
        ("carol@example.org", True),
    ]
    assert all(CLI_TIME_RE.match(r["createdAt"]) and len(r["id"]) == 32 for r in rows)
    assert re.search(r"^bob@example.org\s+user\s+\d{4}-", cli.ok("users", "list"), re.M)

    assert (
        cli.ok("users", "delete", "BOB@example.org", "--yes").strip()
        == "Deleted user bob@example.org."
    )
    assert [r["email"] for r in json.loads(cli.ok("users", "list", "--json"))] == [
        "owner@example.org",
        "carol@example.org",
    ]
    # Administrators go while another one is left; the last one stays.
    cli.ok("users", "delete", "carol@example.org", "--yes")
    last = cli.fails("users", "delete", "owner@example.org", "--yes")
    assert "the last administrator of the installation cannot be deleted" in last.stderr
    assert "footfall users create EMAIL --admin" in last.stderr
    assert [r["email"] for r in json.loads(cli.ok("users", "list", "--json"))] == [
        "owner@example.org"
    ]


def test_errors_name_the_problem(cli: Cli) -> None:
    created = cli.run("users", "create", "a@example.org", "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0
    cases = [
        (
            ("users", "create", "a@example.org", "--password-stdin"),
            PASSWORD,
            "already has an account",
        ),
        (("users", "create", "nope", "--password-stdin"), PASSWORD, "is not an email address"),
        (
            ("users", "create", "b@example.org", "--password-stdin"),
            "short",
            "at least 10 characters",
        ),
        (
            ("users", "set-password", "x@example.org", "--password-stdin"),
            PASSWORD,
            "no user with email",
        ),
    ]
    for args, stdin, message in cases:
        result = cli.run(*args, stdin=stdin)
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    missing = cli.fails("users", "delete", "x@example.org", "--yes")
    assert "no user with email x@example.org" in missing.stderr


def test_password_prompt_asks_twice(cli: Cli) -> None:
    typed = cli.run("users", "create", "a@example.org", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert typed.returncode == 0, typed.stderr
    assert "Created user a@example.org" in typed.stdout


def _sign_in(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10.0)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert token, page.text[:500]
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, response.text[:500]
    return client


def test_set_password_signs_the_user_out_of_a_running_server(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    cli.run("users", "create", "a@example.org", "--password-stdin", stdin=PASSWORD)
    with footfall_server(cli.data_dir) as server:
        browser = _sign_in(server.url, "a@example.org", PASSWORD)
        try:
            assert browser.get("/sites").status_code == 200
            changed = cli.run(
                "users",
                "set-password",
                "a@example.org",
                "--password-stdin",
                stdin="a new password\n",
            )
            assert changed.returncode == 0, changed.stderr
            assert changed.stdout.strip() == (
                "Password of a@example.org changed; 1 session(s) signed out."
            )
            assert browser.get("/sites").headers["location"] == "/login?next=/sites"
        finally:
            browser.close()
        _sign_in(server.url, "a@example.org", "a new password").close()


def test_serve_demo_prints_the_dashboard_address(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    with footfall_server(cli.data_dir, args=("--demo",)) as server:
        base = f"http://localhost:{server.port}"
        assert f"  Dashboard:   {base}/setup   <- create the owner account" in server.log()
        assert httpx.get(f"{server.url}/setup", timeout=10.0).status_code == 200
    cli.run("users", "create", "a@example.org", "--password-stdin", stdin=PASSWORD)
    with footfall_server(cli.data_dir, args=("--demo",)) as server:
        assert f"  Dashboard:   http://localhost:{server.port}/login   <- sign in" in server.log()
