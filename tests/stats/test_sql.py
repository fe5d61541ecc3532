"""The generated SQL: tagged, fully parametrised, names only from the whitelist."""

from __future__ import annotations

import re

import pytest

from footfall.stats import Kind, parse_query
from footfall.stats.sql import build
from tests.stats.dataset import NOW

HOSTILE = "x'); DROP TABLE events; --"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (Kind.AGGREGATE, {}),
        (Kind.TIMESERIES, {"interval": "hour"}),
        (Kind.BREAKDOWN, {"property": f"event:props:{HOSTILE}"}),
    ],
)
def test_values_travel_as_parameters(dialect: str, kind: Kind, extra: dict[str, str]) -> None:
    filters = (
        f'[["is", "visit:source", ["{HOSTILE}"]], ["contains", "event:props:{HOSTILE}", '
        f'["{HOSTILE}"]], ["is_not", "visit:entry_page", ["/"]]]'
    )
    params = {
        "metrics": "visitors,bounce_rate",
        "filters": filters,
        "timezone": "Europe/Berlin",
        "period": "7d",
        **extra,
    }
    query = parse_query(kind, "site'--", list(params.items()), NOW)
    sql, values = build(query, query.range, dialect)
    assert sql.startswith(f"/* stats.{kind.value} */\n")
    for text in (HOSTILE, "site'--", "Europe/Berlin", "Direct / None", "(none)"):
        assert text not in sql
    assert "site'--" in values
    assert HOSTILE in values
    if kind is Kind.TIMESERIES:
        assert "Europe/Berlin" in values
    # Every parameter is used, and only parameters that exist are referenced.
    used = {int(n) for n in re.findall(r"\$(\d+)", sql)}
    assert used == set(range(1, len(values) + 1))
    # The only quoted strings are the module's constants.
    literals = set(re.findall(r"'[^']*'", sql))
    assert literals <= {
        "'pageview'",
        "''",
        "'UTC'",
        "'microsecond'",
        "'hour'",
        "'%Y-%m-%dT%H:%M:%S'",
        """'YYYY-MM-DD"T"HH24:MI:SS'""",
    }


def test_visits_are_aggregated_only_when_needed() -> None:
    query = parse_query(Kind.AGGREGATE, "s", [("metrics", "visitors,pageviews,events")], NOW)
    sql, _ = build(query, query.range, "postgres")
    ctes = re.findall(r"^(?:WITH )?(\w+) AS \(", sql, re.MULTILINE)
    assert ctes == ["e", "m", "ev"]
    query = parse_query(Kind.AGGREGATE, "s", [("metrics", "visits")], NOW)
    sql, _ = build(query, query.range, "postgres")
    ctes = re.findall(r"^(?:WITH )?(\w+) AS \(", sql, re.MULTILINE)
    assert ctes == ["e", "v", "m", "ev", "vs"]
