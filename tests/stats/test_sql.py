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


def _ctes(query_kind: Kind, params: list[tuple[str, str]], dialect: str) -> list[str]:
    query = parse_query(query_kind, "s", params, NOW)
    sql, _ = build(query, query.range, dialect)
    return re.findall(r"^(?:WITH )?(\w+) AS \(", sql, re.MULTILINE)


def test_visits_are_aggregated_only_when_needed() -> None:
    events_only = [("metrics", "visitors,pageviews,events")]
    assert _ctes(Kind.AGGREGATE, events_only, "duckdb") == ["e", "m", "ev"]
    assert _ctes(Kind.AGGREGATE, [("metrics", "visits")], "duckdb") == ["e", "v", "m", "ev", "vs"]
    # PostgreSQL: no visit windows without visits; per visit, or per event with its visit.
    query = parse_query(Kind.AGGREGATE, "s", events_only, NOW)
    assert "OVER" not in build(query, query.range, "postgres")[0]
    assert _ctes(Kind.AGGREGATE, events_only, "postgres") == ["e", "m"]
    query = parse_query(Kind.AGGREGATE, "s", [("metrics", "visits")], NOW)
    assert "OVER" not in build(query, query.range, "postgres")[0]  # a hash aggregate per visit
    by_source = [("metrics", "visits"), ("property", "visit:source")]
    assert _ctes(Kind.BREAKDOWN, by_source, "postgres") == ["e", "g"]
    query = parse_query(Kind.BREAKDOWN, "s", by_source, NOW)
    assert "visit_row = 1" in build(query, query.range, "postgres")[0]
    by_page = [("metrics", "visits"), ("property", "event:page")]
    query = parse_query(Kind.BREAKDOWN, "s", by_page, NOW)
    assert "visit_row" not in build(query, query.range, "postgres")[0]
