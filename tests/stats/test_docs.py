"""docs/api/stats.md keeps up with the code: every metric, period, interval, operator and
dimension is documented, and each endpoint (the CSV downloads too) has a curl example."""

from __future__ import annotations

from pathlib import Path

from footfall.stats.dimensions import DIMENSIONS
from footfall.stats.intervals import INTERVALS
from footfall.stats.periods import PERIODS
from footfall.stats.query import COMPARISONS, METRICS, OPERATORS, PARAMETERS

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "api" / "stats.md").read_text()


def test_every_value_is_documented() -> None:
    for metric in METRICS:
        assert f"| `{metric}` |" in TEXT, metric
    for period in PERIODS:
        assert f"`{period}`" in TEXT, period
    for name in (*INTERVALS, *OPERATORS, *COMPARISONS):
        assert f"`{name}`" in TEXT, name
    for dimension in [*DIMENSIONS, "event:props:<key>"]:
        assert f"`{dimension}`" in TEXT, dimension
    for parameters in PARAMETERS.values():
        for parameter in parameters:
            assert f"| `{parameter}` |" in TEXT, parameter


def test_every_endpoint_has_a_curl_example() -> None:
    for endpoint in ("aggregate", "timeseries", "breakdown", "breakdown.csv", "export/events"):
        assert f'curl -G "https://HOST/api/v1/stats/{endpoint}"' in TEXT
