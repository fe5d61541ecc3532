"""`footfall goals add|list|delete`, run as separate processes (docs/cli.md)."""

from __future__ import annotations

import re

import pytest

from tests.cli.helpers import CLI_TIME_RE, Cli

GOAL_ID = re.compile(r"^[0-9a-f]{16}$")


def test_goal_lifecycle(any_cli: Cli) -> None:
    site = any_cli.add_site()
    page = any_cli.json("goals", "add", site, "--page", "/signup/**")
    event = any_cli.json("goals", "add", site, "--event", "signup", "--name", "Signed up")
    assert GOAL_ID.match(page["id"]) and GOAL_ID.match(event["id"])
    assert CLI_TIME_RE.match(page["createdAt"])
    assert page == {
        **page,
        "websiteId": site,
        "kind": "pageview",
        "match": "/signup/**",
        "name": "Visit /signup/**",
    }
    assert event == {**event, "kind": "event", "match": "signup", "name": "Signed up"}
    assert any_cli.json("goals", "list", site) == [page, event]
    text = any_cli.ok("goals", "list", site).splitlines()
    assert text == [
        f"{page['id']}  pageview  /signup/**                      Visit /signup/**",
        f"{event['id']}  event     signup                          Signed up",
    ]
    assert any_cli.ok("goals", "delete", page["id"]) == (
        f"Deleted goal {page['id']} (Visit /signup/**) of {site}.\n"
    )
    assert any_cli.json("goals", "list", site) == [event]
    if any_cli.mode == "flag":
        assert not any_cli.decoy_dir.exists()


def test_add_prints_the_goal(cli: Cli) -> None:
    site = cli.add_site()
    out = cli.ok("goals", "add", site, "--page", "/product/*/buy")
    assert re.fullmatch(
        r"Added goal [0-9a-f]{16}: Visit /product/\*/buy \(pageview /product/\*/buy\)\.\n", out
    )


def test_empty_list_says_how_to_add(cli: Cli) -> None:
    site = cli.add_site()
    assert cli.ok("goals", "list", site) == (
        f"No goals. Add one: footfall goals add {site} --page /signup\n"
    )
    assert cli.json("goals", "list", site) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Error: give either --page PATTERN or --event NAME"),
        (("--page", "/a", "--event", "b"), "Error: give either --page PATTERN or --event NAME"),
        (("--page", "pricing"), "Error: page pattern 'pricing' must start with /"),
        (
            ("--page", "/search?q=x"),
            "Error: page pattern: paths are matched without query string or fragment; "
            "remove ? and #",
        ),
        (
            ("--event", "pageview"),
            "Error: event name: pageviews are goals by page: use --page with a pattern",
        ),
    ],
)
def test_add_refuses(cli: Cli, args: tuple[str, ...], message: str) -> None:
    site = cli.add_site()
    assert cli.fails("goals", "add", site, *args).stderr == message + "\n"
    assert cli.json("goals", "list", site) == []


def test_duplicates_and_unknown_ids(cli: Cli) -> None:
    site = cli.add_site()
    goal = cli.json("goals", "add", site, "--event", "signup")
    assert cli.fails("goals", "add", site, "--event", "signup").stderr == (
        f"Error: goal {goal['id']} (signup) already counts the event 'signup'\n"
    )
    assert cli.fails("goals", "add", "nope", "--event", "signup").stderr == (
        "Error: no site with id nope\n"
    )
    assert cli.fails("goals", "list", "nope").stderr == "Error: no site with id nope\n"
    assert cli.fails("goals", "delete", "0123456789abcdef").stderr == (
        "Error: no goal with id 0123456789abcdef\n"
    )
